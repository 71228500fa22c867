"""The SMS and voice gateways' signed delivery reports: a report signed with the secret
and a fresh timestamp updates the delivery's receipt; a tampered, unsigned, replayed or
malformed one changes nothing."""

import json
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from apps.channels import outbox, webhooks
from apps.channels.models import Channel, Delivery

SMS_SECRET = "sms-report-secret"
VOICE_SECRET = "voice-report-secret"
Receipt = Delivery.Receipt


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.SMS_GATEWAY_WEBHOOK_SECRET = SMS_SECRET
    settings.VOICE_GATEWAY_WEBHOOK_SECRET = VOICE_SECRET
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sent(make_message, make_participant):
    """An SMS and a voice call, sent, with the gateways' ids."""
    participant = make_participant("+31611111111")
    message = make_message()
    for channel in (Channel.SMS, Channel.VOICE):
        outbox.enqueue(message=message, channel=channel, participant_ids=[participant.pk])
    now = timezone.now()
    Delivery.objects.filter(channel=Channel.SMS).update(
        state=Delivery.State.SENT, provider_id="sms-1", sent_at=now
    )
    Delivery.objects.filter(channel=Channel.VOICE).update(
        state=Delivery.State.SENT, provider_id="call-1", sent_at=now
    )
    return {d.channel: d for d in Delivery.objects.all()}


def post(client, channel, payload, *, secret=None, timestamp=None, body=None, signature=None):
    secret = secret or (SMS_SECRET if channel == "sms" else VOICE_SECRET)
    body = body if body is not None else json.dumps(payload).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = webhooks.report_signature(secret, timestamp, body)
    return client.post(
        reverse(f"channels:{channel}_report"),
        data=body,
        content_type="application/json",
        HTTP_X_BURGERNET_TIMESTAMP=timestamp,
        HTTP_X_BURGERNET_SIGNATURE=signature,
    )


def _receipt(delivery):
    delivery.refresh_from_db()
    return delivery.receipt, delivery.receipt_at


def test_a_signed_report_marks_the_sms_delivered(client, sent):
    at = "2026-03-01T12:00:05+01:00"
    answer = post(client, "sms", {"provider_id": "sms-1", "status": "delivered", "at": at})
    assert answer.status_code == 200
    assert answer.json() == {"updated": 1}
    receipt, when = _receipt(sent["sms"])
    assert receipt == Receipt.DELIVERED
    assert when.isoformat() == "2026-03-01T11:00:05+00:00"
    assert _receipt(sent["voice"]) == ("", None)


@pytest.mark.parametrize(
    ("status", "receipt"),
    [
        ("answered", Receipt.DELIVERED),
        ("no_answer", Receipt.UNANSWERED),
        ("busy", Receipt.UNANSWERED),
        ("failed", Receipt.BOUNCED),
        ("rejected", Receipt.REJECTED),
    ],
)
def test_a_voice_report_says_what_became_of_the_call(client, sent, status, receipt):
    answer = post(client, "voice", {"provider_id": "call-1", "status": status})
    assert answer.status_code == 200
    assert _receipt(sent["voice"])[0] == receipt


def test_it_takes_a_list_of_reports(client, sent):
    reports = [
        {"provider_id": "sms-1", "status": "expired", "at": 1_772_000_000},
        {"provider_id": "unknown", "status": "delivered"},
    ]
    answer = post(client, "sms", reports)
    assert answer.json() == {"updated": 1, "unknown": 1}
    assert _receipt(sent["sms"])[0] == Receipt.BOUNCED


def test_a_weaker_report_does_not_replace_a_stronger_one(client, sent):
    post(client, "voice", {"provider_id": "call-1", "status": "answered"})
    answer = post(client, "voice", {"provider_id": "call-1", "status": "no_answer"})
    assert answer.json() == {"kept": 1}
    assert _receipt(sent["voice"])[0] == Receipt.DELIVERED


def test_a_report_names_a_delivery_of_its_own_channel_only(client, sent):
    answer = post(client, "sms", {"provider_id": "call-1", "status": "delivered"})
    assert answer.json() == {"unknown": 1}
    assert _receipt(sent["voice"]) == ("", None)


def test_a_tampered_body_is_refused(client, sent):
    body = json.dumps({"provider_id": "sms-1", "status": "delivered"}).encode()
    timestamp = str(int(time.time()))
    signature = webhooks.report_signature(SMS_SECRET, timestamp, body)
    tampered = body.replace(b"delivered", b"rejected!")[:-1] + b"}"
    answer = post(client, "sms", None, body=tampered, timestamp=timestamp, signature=signature)
    assert answer.status_code == 401
    assert _receipt(sent["sms"]) == ("", None)


@pytest.mark.parametrize(
    "signature",
    ["", "0" * 64, "sha256=" + "a" * 64, "not hex at all ✓"],
)
def test_a_missing_or_wrong_signature_is_refused(client, sent, signature):
    answer = post(
        client, "sms", {"provider_id": "sms-1", "status": "delivered"}, signature=signature
    )
    assert answer.status_code == 401
    assert _receipt(sent["sms"]) == ("", None)


def test_a_report_signed_with_the_other_gateways_secret_is_refused(client, sent):
    payload = {"provider_id": "sms-1", "status": "delivered"}
    assert post(client, "sms", payload, secret=VOICE_SECRET).status_code == 401
    assert _receipt(sent["sms"]) == ("", None)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_a_replayed_report_with_an_old_timestamp_is_refused(client, sent, age):
    """Signed correctly, but long ago (or ahead of time): a replay."""
    payload = {"provider_id": "sms-1", "status": "delivered"}
    answer = post(client, "sms", payload, timestamp=int(time.time()) - age)
    assert answer.status_code == 401
    assert _receipt(sent["sms"]) == ("", None)


def test_a_timestamp_that_is_no_number_is_refused(client, sent):
    payload = {"provider_id": "sms-1", "status": "delivered"}
    assert post(client, "sms", payload, timestamp="yesterday").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'"delivered"',
        json.dumps({"provider_id": "sms-1", "status": "read"}).encode(),
        json.dumps({"provider_id": "", "status": "delivered"}).encode(),
        json.dumps({"provider_id": "sms-1", "status": "delivered", "at": "gisteren"}).encode(),
        json.dumps([{"provider_id": "sms-1", "status": "delivered"}, {"status": "x"}]).encode(),
        b"[" * 50 + b"]" * 50,
    ],
)
def test_a_signed_body_that_is_no_report_changes_nothing(client, sent, body):
    answer = post(client, "sms", None, body=body)
    assert answer.status_code == 400
    assert _receipt(sent["sms"]) == ("", None)


def test_a_body_too_large_is_refused_before_it_is_read(client, sent):
    body = json.dumps([{"provider_id": "sms-1", "status": "delivered"}] * 10_000).encode()
    assert len(body) > webhooks.MAX_REPORT_BYTES
    assert post(client, "sms", None, body=body).status_code == 413
    assert _receipt(sent["sms"]) == ("", None)


def test_a_client_refused_too_often_is_refused_without_a_look(client, sent):
    payload = {"provider_id": "sms-1", "status": "delivered"}
    for _ in range(webhooks.MAX_REFUSED_PER_MINUTE):
        assert post(client, "sms", payload, signature="0" * 64).status_code == 401
    assert post(client, "sms", payload).status_code == 429
    assert _receipt(sent["sms"]) == ("", None)


def test_without_a_secret_there_is_no_report_url(client, sent, settings):
    settings.SMS_GATEWAY_WEBHOOK_SECRET = ""
    answer = post(client, "sms", {"provider_id": "sms-1", "status": "delivered"}, secret="x")
    assert answer.status_code == 404
    assert _receipt(sent["sms"]) == ("", None)
    # The voice gateway's, with its secret set, still answers.
    assert post(client, "voice", {"provider_id": "call-1", "status": "busy"}).status_code == 200


def test_it_answers_only_a_post(client, sent):
    assert client.get(reverse("channels:sms_report")).status_code == 405


def test_the_urls_are_where_the_gateways_are_told_to_post():
    assert reverse("channels:sms_report") == "/kanalen/rapport/sms/"
    assert reverse("channels:voice_report") == "/kanalen/rapport/voice/"
