"""E-mail double opt-in: a signed, expiring link, confirmed by a button (POST)."""

import time
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.participants import notices, services, tokens
from apps.participants.geocoding import Location
from apps.participants.models import Participant

from .conftest import link_in


@pytest.fixture
def participant(make_participant):
    """Confirmed number, e-mail address not yet confirmed, confirmation mail sent."""
    participant = make_participant()
    Participant.objects.filter(pk=participant.pk).update(
        email="iemand@example.org", email_postcode="3441 AB"
    )
    participant.refresh_from_db()
    notices.send_email_confirmation(participant=participant)
    return participant


def test_it_mails_a_link_in_text_and_html(participant):
    [message] = mail.outbox
    assert message.subject == "Bevestig uw e-mailadres voor Burgernet"
    assert message.to == ["iemand@example.org"]
    path = link_in(message.body)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert path in html
    assert "iemand@example.org" not in path


def test_it_confirms_only_when_the_button_is_pressed(client, participant):
    path = link_in(mail.outbox[0].body)
    response = client.get(path)
    assert response.status_code == 200
    assert "Bevestig mijn e-mailadres" in response.content.decode()
    participant.refresh_from_db()
    assert participant.email_confirmed_at is None  # a link checker opening it confirms nothing

    response = client.post(path)
    assert response.status_code == 200
    assert "Uw e-mailadres is bevestigd" in response.content.decode()
    participant.refresh_from_db()
    assert participant.email_confirmed_at is not None
    entry = AuditEntry.objects.get(verb="participant.changed")
    assert entry.detail == {"part": "email_confirmed"}
    # Confirming again changes nothing and still says so.
    assert client.post(path).status_code == 200


def test_it_refuses_a_tampered_link_and_changes_nothing(client, participant):
    path = link_in(mail.outbox[0].body)
    token = path.rstrip("/").split("/")[-1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for method in (client.get, client.post):
        response = method(reverse("participants:confirm_email", args=[tampered]))
        assert response.status_code == 400
        assert "Deze link werkt niet" in response.content.decode()
    participant.refresh_from_db()
    assert participant.email_confirmed_at is None


def test_it_refuses_a_link_made_for_another_purpose(client, participant):
    token = tokens.make_phone_token(participant.ref)
    response = client.post(reverse("participants:confirm_email", args=[token]))
    assert response.status_code == 400
    participant.refresh_from_db()
    assert participant.email_confirmed_at is None


def test_it_refuses_an_expired_link_and_changes_nothing(client, participant):
    four_days_ago = time.time() - 4 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=four_days_ago):
        token = tokens.make_email_token(participant.ref, participant.email)
    response = client.post(reverse("participants:confirm_email", args=[token]))
    assert response.status_code == 400
    assert "Deze link is verlopen" in response.content.decode()
    participant.refresh_from_db()
    assert participant.email_confirmed_at is None


def test_it_refuses_a_link_to_an_address_that_was_changed_since(client, participant):
    path = link_in(mail.outbox[0].body)
    services.email_change(
        participant=participant,
        email=services.EmailInput(
            email="ander@example.org", postcode="3441 AB", location=Location(52.08, 4.88)
        ),
    )
    response = client.post(path)
    assert response.status_code == 400
    participant.refresh_from_db()
    assert participant.email == "ander@example.org"
    assert participant.email_confirmed_at is None
    assert mail.outbox[-1].to == ["ander@example.org"]


# One writer of the block on an address (issue 9) ------------------------------------------


def _confirmed_email_participant():
    from django.utils import timezone

    from apps.participants.models import Participant

    return Participant.objects.create(
        phone="+31633333333",
        phone_confirmed_at=timezone.now(),
        email="Deelnemer@Example.org",
        email_confirmed_at=timezone.now(),
        wants_email=True,
    )


def test_suppressing_blocks_the_address_once_and_keeps_the_first_reason():
    from apps.governance.models import AuditEntry
    from apps.participants.services import email_suppress

    person = _confirmed_email_participant()
    assert email_suppress(
        participant_id=person.pk, reason="bounced", address="deelnemer@example.ORG"
    )
    assert not email_suppress(participant_id=person.pk, reason="complained")
    person.refresh_from_db()
    assert (person.email_suppressed_reason, person.may_receive_email) == ("bounced", False)
    [entry] = AuditEntry.objects.filter(verb="participant.email_suppressed")
    assert entry.detail == {"reason": "bounced"} and "xample" not in entry.target_repr


def test_a_report_about_an_old_address_does_not_block_the_new_one():
    from apps.participants.services import email_suppress

    person = _confirmed_email_participant()
    assert not email_suppress(participant_id=person.pk, reason="bounced", address="oud@example.org")
    person.refresh_from_db()
    assert person.may_receive_email


def test_channels_blocks_addresses_through_the_participants_service():
    from apps.channels import webhooks
    from apps.participants.services import email_suppress

    assert webhooks._suppressor is email_suppress
