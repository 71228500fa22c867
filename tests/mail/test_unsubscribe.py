"""Unsubscribing from e-mail: the visible link (a page that asks to confirm) and the RFC 8058
one-click POST a mail client sends. Both block the address until it is confirmed again."""

from django.test import Client

from apps.governance.models import AuditEntry
from apps.mail import public
from apps.participants.models import Participant

from .fixtures_public import *  # noqa: F403
from .fixtures_public import one_click_path, unsubscribe_path

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def suppression(participant):
    participant.refresh_from_db()
    return participant.email_suppressed_at, participant.email_suppressed_reason


# The visible link ------------------------------------------------------------------------


def test_it_asks_to_confirm_and_get_changes_nothing(client, preventive, participant):
    response = client.get(unsubscribe_path(preventive, participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="unsubscribe-confirm"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert suppression(participant) == (None, "")
    assert not AuditEntry.objects.filter(verb="mail.unsubscribed").exists()


def test_it_unsubscribes_through_the_confirm_button(client, preventive, participant):
    path = unsubscribe_path(preventive, participant)
    response = client.post(path)
    assert response.status_code == 302
    at, reason = suppression(participant)
    assert at is not None and reason == "unsubscribed"
    assert not participant.may_receive_email
    done = client.get(response["Location"]).content.decode()
    assert "U ontvangt geen e-mail meer van Burgernet" in done


def test_the_confirm_button_needs_the_csrf_token(preventive, participant):
    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_path(preventive, participant))
    assert response.status_code == 403
    assert suppression(participant) == (None, "")


def test_it_audits_once_without_personal_data(client, preventive, participant):
    path = unsubscribe_path(preventive, participant)
    client.post(path)
    client.post(path)
    client.post(one_click_path(preventive, participant), ONE_CLICK)
    entry = AuditEntry.objects.get(verb="mail.unsubscribed")
    assert entry.detail == {"reason": "unsubscribed", "mailing": preventive.pk, "via": "link"}
    assert entry.ip is None
    assert participant.email not in str(entry.detail) + entry.target_repr
    assert participant.phone not in entry.target_repr


def test_it_says_so_when_the_address_receives_nothing_any_more(client, preventive, participant):
    path = unsubscribe_path(preventive, participant)
    Participant.objects.filter(pk=participant.pk).update(email="nieuw@example.nl")
    page = client.get(path).content.decode()
    assert 'id="unsubscribe-confirm"' not in page
    assert "U ontvangt geen e-mail meer van Burgernet" in page


def test_it_does_not_block_an_address_the_participant_changed_to(client, preventive, participant):
    path = unsubscribe_path(preventive, participant)
    Participant.objects.filter(pk=participant.pk).update(email="nieuw@example.nl")
    client.post(path)
    assert suppression(participant) == (None, "")


def test_it_keeps_an_earlier_bounce_as_the_reason(client, preventive, participant):
    from django.utils import timezone

    Participant.objects.filter(pk=participant.pk).update(
        email_suppressed_at=timezone.now(), email_suppressed_reason="bounced"
    )
    client.post(unsubscribe_path(preventive, participant))
    assert suppression(participant)[1] == "bounced"


def test_it_rejects_a_tampered_unsubscribe_link(client, preventive, participant):
    path = unsubscribe_path(preventive, participant)
    token = path.split("/")[-2]
    bad = path.replace(token, "x" + token[1:])
    assert client.get(bad).status_code == 400
    assert client.post(bad).status_code == 400
    assert suppression(participant) == (None, "")


def test_it_shows_an_expired_unsubscribe_link(client, preventive, participant, monkeypatch):
    from apps.mail import links

    path = unsubscribe_path(preventive, participant)
    monkeypatch.setattr(links, "UNSUBSCRIBE_MAX_AGE_S", -1)
    response = client.post(path)
    assert response.status_code == 410
    assert "Deze afmeldlink is verlopen" in response.content.decode()
    assert suppression(participant) == (None, "")


# RFC 8058 one-click ----------------------------------------------------------------------


def test_one_click_post_unsubscribes_at_once_without_csrf(preventive, participant):
    client = Client(enforce_csrf_checks=True)
    response = client.post(one_click_path(preventive, participant), ONE_CLICK)
    assert response.status_code == 200
    assert suppression(participant)[1] == "unsubscribed"
    entry = AuditEntry.objects.get(verb="mail.unsubscribed")
    assert entry.detail["via"] == "one_click"


def test_one_click_accepts_multipart_bodies(preventive, participant):
    # RFC 8058 allows multipart/form-data as well as urlencoded bodies.
    client = Client(enforce_csrf_checks=True)
    response = client.post(one_click_path(preventive, participant), ONE_CLICK)  # multipart
    assert response.status_code == 200
    response = client.post(
        one_click_path(preventive, participant),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert suppression(participant)[1] == "unsubscribed"


def test_one_click_is_idempotent(client, preventive, participant):
    path = one_click_path(preventive, participant)
    assert client.post(path, ONE_CLICK).status_code == 200
    first = suppression(participant)
    assert client.post(path, ONE_CLICK).status_code == 200
    assert suppression(participant) == first
    assert AuditEntry.objects.filter(verb="mail.unsubscribed").count() == 1


def test_one_click_needs_the_one_click_body(client, preventive, participant):
    path = one_click_path(preventive, participant)
    assert client.post(path, {}).status_code == 400
    assert client.post(path, {"List-Unsubscribe": "Ja"}).status_code == 400
    assert suppression(participant) == (None, "")


def test_one_click_get_changes_nothing(client, preventive, participant):
    response = client.get(one_click_path(preventive, participant))
    assert response.status_code == 405
    assert suppression(participant) == (None, "")


def test_one_click_rejects_a_tampered_token(client, preventive, participant):
    path = one_click_path(preventive, participant)
    token = path.split("/")[-3]
    last = "A" if token[-1] != "A" else "B"
    response = client.post(path.replace(token, token[:-1] + last), ONE_CLICK)
    assert response.status_code == 400
    assert suppression(participant) == (None, "")


def test_one_click_for_a_deleted_registration_answers_ok(client, preventive, participant):
    path = one_click_path(preventive, participant)
    participant.delete()
    assert client.post(path, ONE_CLICK).status_code == 200


def test_only_the_one_click_endpoint_is_csrf_exempt():
    assert getattr(public.unsubscribe_one_click, "csrf_exempt", False)
    assert not getattr(public.unsubscribe, "csrf_exempt", False)
