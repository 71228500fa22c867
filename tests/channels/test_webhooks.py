"""anymail's tracking webhooks, through its real views with their basic-auth and signature
checks: receipts on the deliveries, and no more mail to an address that bounced or
complained."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.channels import outbox
from apps.channels.models import Channel, Delivery
from apps.governance.models import AuditEntry
from apps.participants.models import Participant

SECRET = "burgernet:webhook-secret"
MAILGUN_KEY = "mailgun-signing-key"


@pytest.fixture(autouse=True)
def _anymail(settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}


@pytest.fixture
def _mailgun(settings):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"


@pytest.fixture
def sent(db, make_message):
    """A participant with a confirmed address and an e-mail delivery sent to it."""
    now = timezone.now()
    participant = Participant.objects.create(
        phone="+31611111111",
        phone_confirmed_at=now,
        email="Lezer@Example.nl",
        email_confirmed_at=now,
    )
    message = make_message(source="tests.mailing:1")
    outbox.enqueue(message=message, channel=Channel.EMAIL, participant_ids=[participant.pk])
    Delivery.objects.update(state=Delivery.State.SENT, provider_id="pm-0001", sent_at=now)
    return Delivery.objects.select_related("participant", "message").get()


def _auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def postmark(client, payload: dict, secret: str = SECRET):
    return client.post(
        reverse("anymail:postmark_tracking_webhook"),
        data=json.dumps(payload),
        content_type="application/json",
        **_auth(secret),
    )


def _bounce(kind: str, **fields) -> dict:
    return {
        "RecordType": "Bounce",
        "Type": kind,
        "ID": 42,
        "MessageID": "pm-0001",
        "Email": "lezer@example.nl",
        "BouncedAt": "2026-03-01T10:00:00Z",
        **fields,
    }


def test_it_records_a_delivered_mail(client, sent):
    response = postmark(
        client,
        {
            "RecordType": "Delivery",
            "MessageID": "pm-0001",
            "Recipient": "lezer@example.nl",
            "DeliveredAt": "2026-03-01T10:00:00Z",
        },
    )

    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.DELIVERED
    assert sent.receipt_at.isoformat() == "2026-03-01T10:00:00+00:00"
    assert outbox.stats(sent.message)["email"]["delivered"] == 1
    assert sent.participant.email_suppressed_at is None


def test_it_stops_mail_to_an_address_after_a_hard_bounce(client, sent):
    assert postmark(client, _bounce("HardBounce")).status_code == 200

    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.BOUNCED
    participant = Participant.objects.get()
    assert participant.email_suppressed_at is not None
    assert participant.email_suppressed_reason == "bounced"
    assert not participant.may_receive_email
    entry = AuditEntry.objects.get(verb="participant.email_suppressed")
    assert entry.detail == {"reason": "bounced"}
    assert "example.nl" not in json.dumps(entry.detail) + entry.target_repr
    counts = outbox.stats(sent.message)["email"]
    assert (counts["sent"], counts["bounced"], counts["complained"]) == (1, 1, 0)


def test_it_stops_mail_to_an_address_after_a_spam_complaint(client, sent):
    payload = _bounce("SpamComplaint", RecordType="SpamComplaint")

    assert postmark(client, payload).status_code == 200

    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.COMPLAINED
    assert Participant.objects.get().email_suppressed_reason == "complained"
    assert outbox.stats(sent.message)["email"]["complained"] == 1


def test_it_keeps_sending_to_an_address_after_a_soft_bounce(client, sent):
    assert postmark(client, _bounce("SoftBounce")).status_code == 200

    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.DEFERRED
    participant = Participant.objects.get()
    assert participant.email_suppressed_at is None
    assert participant.may_receive_email


def test_it_does_not_let_a_late_delivered_report_hide_a_complaint(client, sent):
    postmark(client, _bounce("SpamComplaint", RecordType="SpamComplaint"))
    postmark(
        client,
        {"RecordType": "Delivery", "MessageID": "pm-0001", "Recipient": "lezer@example.nl"},
    )

    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.COMPLAINED


def test_it_does_not_block_an_address_the_participant_changed_since(client, sent):
    Participant.objects.update(email="nieuw@example.nl")

    postmark(client, _bounce("HardBounce"))

    assert Participant.objects.get().email_suppressed_at is None
    sent.refresh_from_db()
    assert sent.receipt == Delivery.Receipt.BOUNCED


def test_it_refuses_a_webhook_with_the_wrong_secret_and_changes_nothing(client, sent):
    response = postmark(client, _bounce("HardBounce"), secret="burgernet:guess")

    assert response.status_code == 400
    sent.refresh_from_db()
    assert sent.receipt == ""
    assert Participant.objects.get().email_suppressed_at is None


def test_it_refuses_a_webhook_without_credentials(client, sent):
    response = client.post(
        reverse("anymail:postmark_tracking_webhook"),
        data=json.dumps(_bounce("HardBounce")),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert Participant.objects.get().email_suppressed_at is None


def test_it_ignores_a_report_on_an_unknown_message(client, sent):
    assert postmark(client, _bounce("HardBounce", MessageID="other")).status_code == 200

    sent.refresh_from_db()
    assert sent.receipt == ""
    assert Participant.objects.get().email_suppressed_at is None


# Mailgun: signed webhooks, one message id (in angle brackets) for a whole batch ------------


def mailgun(client, event_data: dict, key: str = MAILGUN_KEY):
    timestamp, token = str(int(time.time())), "a" * 50
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": event_data,
    }
    return client.post(
        reverse("anymail:mailgun_tracking_webhook"),
        data=json.dumps(payload),
        content_type="application/json",
        **_auth(),
    )


def _mailgun_failed(recipient: str, severity: str) -> dict:
    return {
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "recipient": recipient,
        "timestamp": time.time(),
        "message": {"headers": {"message-id": "batch-1@mailgun.test"}},
    }


@pytest.mark.usefixtures("_mailgun")
def test_it_finds_the_recipient_of_a_batch_that_shares_one_message_id(client, sent, make_message):
    other = Participant.objects.create(
        phone="+31622222222",
        phone_confirmed_at=timezone.now(),
        email="buur@example.nl",
        email_confirmed_at=timezone.now(),
    )
    outbox.enqueue(message=sent.message, channel=Channel.EMAIL, participant_ids=[other.pk])
    Delivery.objects.update(state=Delivery.State.SENT, provider_id="<batch-1@mailgun.test>")

    assert mailgun(client, _mailgun_failed("buur@example.nl", "permanent")).status_code == 200

    other.refresh_from_db()
    assert other.email_suppressed_reason == "bounced"
    assert Delivery.objects.get(participant=other).receipt == Delivery.Receipt.BOUNCED
    assert Participant.objects.get(pk=sent.participant_id).email_suppressed_at is None
    assert Delivery.objects.get(pk=sent.pk).receipt == ""


@pytest.mark.usefixtures("_mailgun")
def test_it_keeps_sending_after_a_temporary_mailgun_failure(client, sent):
    Delivery.objects.update(provider_id="<batch-1@mailgun.test>")

    mailgun(client, _mailgun_failed("lezer@example.nl", "temporary"))

    assert Delivery.objects.get().receipt == Delivery.Receipt.DEFERRED
    assert Participant.objects.get().email_suppressed_at is None


@pytest.mark.usefixtures("_mailgun")
def test_it_refuses_a_mailgun_webhook_with_a_bad_signature(client, sent):
    Delivery.objects.update(provider_id="<batch-1@mailgun.test>")

    response = mailgun(client, _mailgun_failed("lezer@example.nl", "permanent"), key="wrong")

    assert response.status_code == 400
    assert Participant.objects.get().email_suppressed_at is None
    assert Delivery.objects.get().receipt == ""


# Only the configured service's webhook answers, and only with its secret set -------------


@pytest.mark.parametrize(
    "name",
    [
        "amazon_ses_tracking_webhook",
        "mailgun_tracking_webhook",
        "mandrill_webhook",
        "mandrill_tracking_webhook",
        "mailersend_tracking_webhook",
        "postal_tracking_webhook",
        "sparkpost_tracking_webhook",
        "unisender_go_tracking_webhook",
        "sendgrid_tracking_webhook",
    ],
)
def test_the_webhooks_of_services_not_configured_are_not_found(client, sent, name):
    response = client.post(
        reverse(f"anymail:{name}"), data="{}", content_type="application/json", **_auth()
    )

    assert response.status_code == 404
    assert Participant.objects.get().email_suppressed_at is None


def test_no_webhook_answers_while_mail_goes_through_django(client, sent, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

    assert postmark(client, _bounce("HardBounce")).status_code == 404
    assert Participant.objects.get().email_suppressed_at is None


def test_a_webhook_without_its_secret_is_refused_in_development_too(client, sent, settings):
    settings.DEBUG = True
    settings.ANYMAIL = {}
    response = client.post(
        reverse("anymail:postmark_tracking_webhook"),
        data=json.dumps(_bounce("HardBounce")),
        content_type="application/json",
    )

    assert response.status_code == 404
    sent.refresh_from_db()
    assert sent.receipt == ""
    assert Participant.objects.get().email_suppressed_at is None


def test_inbound_mail_webhooks_are_not_routed(client):
    response = client.post("/anymail/postmark/inbound/", data="{}", content_type="application/json")
    assert response.status_code == 404
