"""Managing a registration: the one-time link, the short session, and the changes."""

import json
import time
from datetime import time as dtime
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.participants import tokens, views
from apps.participants.models import Address, ManageLink, Participant

from .conftest import link_in, sms_sent

MANAGE = reverse("participants:manage")


def request_link(client, contact, **extra):
    return client.post(reverse("participants:manage_request"), {"contact": contact}, **extra)


# Asking for a link -----------------------------------------------------------------------


def test_it_sends_a_manage_link_by_sms_to_a_registered_number(client, make_participant):
    make_participant("+31612345678")
    response = request_link(client, "06 12 34 56 78")
    assert response.status_code == 302
    assert response.url == reverse("participants:manage_sent")
    [message] = sms_sent()
    assert message.to == "+31612345678"
    assert link_in(message.text).startswith("/beheren/link/")
    assert ManageLink.objects.count() == 1


def test_it_answers_the_same_for_an_unknown_number_and_sends_nothing(client, make_participant):
    make_participant("+31612345678")
    known = request_link(client, "06 12345678")
    unknown = request_link(client, "06 87654321")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert len(sms_sent()) == 1
    page = client.get(unknown.url).content.decode()
    assert "Als dit nummer of e-mailadres bij Burgernet is aangemeld" in page


def test_it_sends_nothing_to_a_number_that_was_never_confirmed(client, make_participant):
    make_participant("+31612345678", confirmed=False)
    assert request_link(client, "06 12345678").status_code == 302
    assert sms_sent() == []


def test_it_sends_a_manage_link_by_email_only_to_a_confirmed_address(client, make_participant):
    make_participant("+31612345678", email="iemand@example.org")
    make_participant("+31612345679", email="nog-niet@example.org")
    Participant.objects.filter(phone="+31612345679").update(email_confirmed_at=None)

    assert request_link(client, "Iemand@Example.org").status_code == 302
    assert request_link(client, "nog-niet@example.org").status_code == 302
    [message] = mail.outbox
    assert message.to == ["iemand@example.org"]
    assert link_in(message.body).startswith("/beheren/link/")
    assert sms_sent() == []


def test_it_sends_no_link_to_a_number_with_something_after_it(client, make_participant):
    make_participant("+31612345678")
    response = request_link(client, "0612345678x")
    assert response.status_code == 400
    assert "Dit is geen geldig telefoonnummer" in response.content.decode()
    assert sms_sent() == []


def test_it_says_when_the_contact_is_neither_a_mobile_nor_an_email_address(client):
    response = request_link(client, "030 123 4567")
    assert response.status_code == 400
    assert "Dit is geen mobiel nummer" in response.content.decode()
    response = request_link(client, "iemand@")
    assert "Dit is geen geldig e-mailadres" in response.content.decode()


# The link ---------------------------------------------------------------------------------


@pytest.fixture
def link(client, make_participant):
    participant = make_participant("+31612345678", email="iemand@example.org")
    request_link(client, "06 12345678")
    return participant, link_in(sms_sent()[-1].text)


def test_it_opens_a_manage_session_with_the_button_behind_the_link(client, link):
    participant, path = link
    response = client.get(path)
    assert response.status_code == 200
    assert "Open mijn gegevens" in response.content.decode()
    assert ManageLink.objects.get().used_at is None  # opening the page uses nothing

    response = client.post(path)
    assert response.status_code == 302
    assert response.url == MANAGE
    page = client.get(MANAGE).content.decode()
    assert "06 12345678" in page
    assert "iemand@example.org" in page
    assert "Adres 1" in page
    assert "maandag, dinsdag, woensdag, donderdag, vrijdag 08:00–18:00" in page


def test_it_opens_a_link_only_once(client, link):
    _participant, path = link
    assert client.post(path).status_code == 302
    client.post(reverse("participants:manage_logout"))
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert "Deze link is al gebruikt" in response.content.decode()
    assert client.get(MANAGE).url == reverse("participants:manage_request")


def test_it_refuses_a_tampered_link(client, link):
    _participant, path = link
    token = path.rstrip("/").split("/")[-1]
    payload, stamp, signature = token.split(":")
    forged = ":".join([payload, stamp, signature[::-1]])
    response = client.post(reverse("participants:manage_link", args=[forged]))
    assert response.status_code == 400
    assert "Deze link werkt niet" in response.content.decode()
    assert ManageLink.objects.get().used_at is None
    assert client.get(MANAGE).status_code == 302


def test_it_refuses_a_link_with_a_made_up_nonce(client, link):
    token = tokens.make_manage_token("made-up")  # signed, but no such link was sent
    response = client.post(reverse("participants:manage_link", args=[token]))
    assert response.status_code == 400
    assert "Deze link werkt niet" in response.content.decode()


def test_it_refuses_an_expired_link(client, make_participant):
    participant = make_participant()
    from apps.participants import services

    an_hour_ago = time.time() - 3600
    with mock.patch("django.core.signing.time.time", return_value=an_hour_ago):
        token = services._new_manage_link(participant)
    response = client.post(reverse("participants:manage_link", args=[token]))
    assert response.status_code == 400
    assert "Deze link is verlopen" in response.content.decode()
    assert ManageLink.objects.get().used_at is None
    assert client.get(MANAGE).status_code == 302


def test_it_ends_the_session_after_twenty_idle_minutes(client, link):
    _participant, path = link
    client.post(path)
    assert client.get(MANAGE).status_code == 200
    later = time.time() + views.MANAGE_SESSION_S + 1
    with mock.patch("apps.participants.views.time.time", return_value=later):
        response = client.get(MANAGE)
    assert response.status_code == 302
    assert response.url == reverse("participants:manage_request")


def test_it_sends_visitors_without_a_session_to_ask_for_a_link(client):
    for name in ("manage", "manage_preferences", "manage_email", "address_add", "delete"):
        response = client.get(reverse(f"participants:{name}"))
        assert response.status_code == 302
        assert response.url == reverse("participants:manage_request")


# Changes ----------------------------------------------------------------------------------


def audit_is_clean(participant):
    """Every audit entry about the participant names it by id only."""
    entries = AuditEntry.objects.filter(target_id=str(participant.pk))
    assert entries.exists()
    for entry in entries:
        text = json.dumps(
            [entry.target_repr, entry.detail, entry.actor_name, entry.verb, str(entry.ip)]
        )
        for personal in (participant.phone, "612345678", "3441", "3511", "example.org"):
            assert personal not in text
        assert entry.ip is None


def test_it_changes_an_address_and_its_windows(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    address = participant.addresses.get()
    url = reverse("participants:address_edit", args=[address.pk])
    page = client.get(url).content.decode()
    assert 'value="3441 AB"' in page
    assert 'id="id_address-0-window-0-days_0" checked' in page

    response = client.post(
        url,
        {
            "address-0-label": "Werk",
            "address-0-country": "NL",
            "address-0-postcode": "3511aa",
            "address-0-house_number": "7",
            "address-0-house_number_suffix": "b",
            "address-0-schedule": "chosen",
            "address-0-window-0-days": ["5", "6"],
            "address-0-window-0-start": "22:00",
            "address-0-window-0-end": "02:00",
        },
    )
    assert response.status_code == 302
    address.refresh_from_db()
    assert (address.label, address.postcode, address.house_number_display) == (
        "Werk",
        "3511 AA",
        "7B",
    )
    assert address.municipality.name == "Utrecht"
    assert [(w.days, w.start, w.end) for w in address.windows.all()] == [
        (0b1100000, dtime(22), dtime(2))
    ]
    audit_is_clean(participant)


def test_it_keeps_the_address_when_the_change_is_invalid(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    address = participant.addresses.get()
    response = client.post(
        reverse("participants:address_edit", args=[address.pk]),
        {
            "address-0-label": "Thuis",
            "address-0-country": "NL",
            "address-0-postcode": "1000 AA",
            "address-0-house_number": "1",
            "address-0-schedule": "always",
        },
    )
    assert response.status_code == 400
    assert "Deze postcode kennen wij niet" in response.content.decode()
    address.refresh_from_db()
    assert address.postcode == "3441 AB"
    assert address.windows.count() == 1


def test_it_adds_and_removes_addresses(manage_client, make_participant, nominatim):
    participant = make_participant()
    client = manage_client(participant)
    response = client.post(
        reverse("participants:address_add"),
        {
            "address-0-label": "Oma",
            "address-0-country": "DE",
            "address-0-postcode": "47533",
            "address-0-house_number": "2",
            "address-0-schedule": "always",
        },
    )
    assert response.status_code == 302
    added = participant.addresses.get(label="Oma")
    assert (added.country, added.municipality, added.always_active) == ("DE", None, True)

    response = client.post(reverse("participants:address_delete", args=[added.pk]))
    assert response.status_code == 302
    assert not Address.objects.filter(pk=added.pk).exists()
    audit_is_clean(participant)


def test_it_keeps_the_last_address(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    address = participant.addresses.get()
    response = client.post(reverse("participants:address_delete", args=[address.pk]), follow=True)
    assert "U moet minstens één adres houden" in response.content.decode()
    assert Address.objects.filter(pk=address.pk).exists()


def test_it_stops_at_five_addresses(manage_client, make_participant):
    participant = make_participant(addresses=5)
    client = manage_client(participant)
    response = client.get(reverse("participants:address_add"), follow=True)
    assert "het maximum" in response.content.decode()
    assert participant.addresses.count() == 5


def test_it_does_not_show_or_change_someone_elses_address(manage_client, make_participant):
    other = make_participant("+31612345679")
    client = manage_client(make_participant("+31612345678"))
    theirs = other.addresses.get()
    assert client.get(reverse("participants:address_edit", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("participants:address_delete", args=[theirs.pk])).status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()


def test_it_changes_the_channels_and_quiet_hours(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    response = client.post(
        reverse("participants:manage_preferences"),
        {"wants_voice": "on", "quiet_start": "22:00", "quiet_end": "07:00"},
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert (participant.wants_sms, participant.wants_voice) == (False, True)
    assert (participant.quiet_start, participant.quiet_end) == (dtime(22), dtime(7))
    assert participant.is_quiet_at(dtime(23, 30))
    assert not participant.is_quiet_at(dtime(12))

    response = client.post(reverse("participants:manage_preferences"), {"wants_email": "on"})
    assert response.status_code == 400
    assert "Vul uw e-mailadres in" in response.content.decode()
    audit_is_clean(participant)


def test_the_preferences_are_the_participants_fields_of_the_same_names(
    manage_client, make_participant
):
    from apps.participants.forms import PreferencesForm
    from apps.participants.services import Preferences

    participant = make_participant()
    Participant.objects.filter(pk=participant.pk).update(
        wants_voice=True, quiet_start=dtime(22), quiet_end=dtime(7)
    )
    participant.refresh_from_db()
    mine = Preferences.of(participant)
    assert mine == Preferences(
        wants_voice=True, quiet_start=dtime(22), quiet_end=dtime(7), language="nl"
    )
    assert PreferencesForm.initial_for(participant) == mine.as_fields()
    page = manage_client(participant).get(reverse("participants:manage_preferences"))
    assert page.context["form"].initial == mine.as_fields()


def test_it_changes_the_email_address_and_asks_to_confirm_it(manage_client, make_participant):
    participant = make_participant(email="oud@example.org")
    client = manage_client(participant)
    response = client.post(
        reverse("participants:manage_email"),
        {"email": "nieuw@example.org", "email_postcode": "3511 AA"},
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.email == "nieuw@example.org"
    assert participant.email_confirmed_at is None
    assert participant.email_municipality.name == "Utrecht"
    [message] = mail.outbox
    assert message.to == ["nieuw@example.org"]


def test_it_removes_the_email_address(manage_client, make_participant):
    participant = make_participant(email="oud@example.org")
    Participant.objects.filter(pk=participant.pk).update(wants_email=True)
    client = manage_client(participant)
    response = client.post(
        reverse("participants:manage_email"), {"email": "", "email_postcode": ""}
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert (participant.email, participant.email_postcode, participant.wants_email) == (
        "",
        "",
        False,
    )
    assert participant.email_confirmed_at is None
    assert mail.outbox == []


def test_it_logs_out_of_the_manage_session(manage_client, make_participant):
    client = manage_client(make_participant())
    assert client.post(reverse("participants:manage_logout")).status_code == 302
    assert client.get(MANAGE).status_code == 302
