"""The web-push sender through the outbox, against the local push service on 127.0.0.1."""

import json
import os
import re
import time
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from apps.bench.pushendpoint import vapid_claims
from apps.channels import outbox, vapid
from apps.channels.models import Channel, Delivery
from apps.channels.senders.webpush import (
    MAX_BODY_BYTES,
    MAX_BODY_CHARS,
    MAX_PAYLOAD_BYTES,
    OPENED_SALT,
    OpenedTokens,
    fit,
    forget_gates,
    push_topic,
)
from apps.participants.models import Device

pytestmark = pytest.mark.django_db


def _enqueue(message, *devices):
    return outbox.enqueue(
        message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices]
    )


def test_it_delivers_an_encrypted_push_the_subscriber_can_read(
    push, make_device, make_message, send_all, vapid_keys
):
    device, subscriber = make_device("a1")
    message = make_message(urgency="high", ttl_seconds=1800, data={"image": "/media/f.jpg"})
    _enqueue(message, device)

    assert send_all(message) == {"sent": 1}

    [record] = push.pushes_for("a1")
    delivery = Delivery.objects.get(message=message)
    payload = json.loads(subscriber.decrypt(record.body))
    assert payload["title"] == "Vermist: meisje (8)"
    assert payload["body"] == "Lang blond haar, roze jas. Gezien bij het station."
    assert payload["url"] == "/app/acties/1/"
    assert payload["image"] == "/media/f.jpg"
    assert payload["message"] == message.pk
    assert payload["delivery"] == delivery.pk
    assert signing.loads(payload["token"], salt=OPENED_SALT) == {"d": delivery.pk}

    headers = record.headers
    assert headers["content-encoding"] == "aes128gcm"
    assert 1790 <= int(headers["ttl"]) <= 1800  # what is left of the message's TTL, never 0
    assert headers["urgency"] == "high"
    assert headers["topic"] == push_topic(message)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", headers["topic"])

    claims, key = vapid_claims(headers["authorization"])  # raises if the signature is bad
    assert key == vapid_keys
    assert claims["aud"] == push.base_url
    assert claims["sub"] == "mailto:beheer@burgernet.test"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600

    assert delivery.state == Delivery.State.SENT
    assert delivery.provider_id.startswith(push.base_url + "/message/")
    assert delivery.sent_at is not None
    assert delivery.attempts == 1
    assert delivery.lease_until is None


def test_it_sends_normal_urgency_and_a_topic_for_a_message_without_one(
    push, make_device, make_message, send_all
):
    device, _ = make_device("a1")
    message = make_message(topic="")
    _enqueue(message, device)
    send_all(message)
    [record] = push.pushes_for("a1")
    assert record.headers["urgency"] == "normal"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", record.headers["topic"])


def test_it_gives_a_repeated_message_the_same_topic(make_message):
    first, update = make_message(topic="actie-12"), make_message(topic="actie-12")
    assert push_topic(first) == push_topic(update)
    assert push_topic(first) != push_topic(make_message(topic="actie-13"))


def test_it_sends_many_pushes_in_one_chunk(push, make_device, make_message, send_all):
    devices = [make_device(f"d{i}")[0] for i in range(60)]
    message = make_message()
    _enqueue(message, *devices)
    assert send_all(message, chunk_size=25) == {"sent": 60}
    assert push.received == 60
    assert len({p.push_id for p in push.pushes}) == 60


@pytest.mark.parametrize("status", [404, 410])
def test_it_deletes_the_device_when_the_subscription_is_gone(
    push, make_device, make_message, send_all, status
):
    gone, _ = make_device("gone")
    kept, _ = make_device("kept")
    push.answer("gone", status)
    message = make_message()
    _enqueue(message, gone, kept)

    assert send_all(message) == {"sent": 1, "failed": 1}

    assert not Device.objects.filter(pk=gone.pk).exists()
    assert Device.objects.filter(pk=kept.pk).exists()
    failed = Delivery.objects.get(message=message, state=Delivery.State.FAILED)
    assert failed.error == "subscription gone"
    assert failed.device is None  # the row stays, so the counts stay right
    assert outbox.stats(message)["webpush"]["failed"] == 1


def test_it_keeps_a_device_that_renewed_its_subscription_meanwhile(push, make_device, make_message):
    device, _ = make_device("old")
    push.answer("old", 410)
    message = make_message()
    _enqueue(message, device)
    deliveries = outbox.claim_chunk(message_id=message.pk)
    Device.objects.filter(pk=device.pk).update(endpoint=push.url_for("renewed"))

    outbox.send_chunk(deliveries)

    assert Device.objects.filter(pk=device.pk).exists()


@pytest.mark.parametrize("http_date", [False, True])
def test_it_requeues_after_429_no_sooner_than_retry_after(
    push, make_device, make_message, send_all, http_date
):
    device, _ = make_device("busy")
    retry_after = (
        format_datetime(timezone.now() + timedelta(seconds=120), usegmt=True)
        if http_date
        else "120"
    )
    push.answer("busy", 429, headers={"Retry-After": retry_after}, times=1)
    message = make_message()
    _enqueue(message, device)
    before = timezone.now()

    assert send_all(message) == {"retry": 1}

    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.QUEUED
    assert delivery.attempts == 1
    assert delivery.error == "push service answered 429"
    assert delivery.next_attempt_at >= before + timedelta(seconds=118)
    # Not due yet; due once the wait is over, and then delivered.
    assert outbox.claim_chunk(message_id=message.pk) == []
    later = delivery.next_attempt_at + timedelta(seconds=1)
    forget_gates()  # the push service's pause is over too
    outbox.send_chunk(outbox.claim_chunk(message_id=message.pk, now=later))
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.attempts == 2
    assert len(push.pushes_for("busy")) == 2


def _age(message, delivery, seconds):
    """Move the message and the row's retry time `seconds` into the past."""
    type(message).objects.filter(pk=message.pk).update(
        created_at=message.created_at - timedelta(seconds=seconds)
    )
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    message.refresh_from_db()


def test_it_retries_a_500_with_growing_backoff_and_fails_when_the_ttl_runs_out(
    push, make_device, make_message, send_all
):
    device, _ = make_device("broken")
    push.answer("broken", 500)
    message = make_message(ttl_seconds=200)
    _enqueue(message, device)
    delivery = Delivery.objects.get(message=message)

    waits = []
    for _ in range(5):
        started = timezone.now()
        send_all(message)
        delivery.refresh_from_db()
        if delivery.state != Delivery.State.QUEUED:
            break
        waits.append((delivery.next_attempt_at - started).total_seconds())
        _age(message, delivery, waits[-1])
        forget_gates()  # the push service's own pause is over too

    assert waits[0] >= 15
    assert all(later > earlier for earlier, later in zip(waits, waits[1:], strict=False))
    assert delivery.state == Delivery.State.FAILED
    assert delivery.error == "expired"
    assert delivery.attempts == len(push.pushes_for("broken")) == len(waits) + 1


def test_it_retries_a_timeout(push, make_device, make_message, send_all, settings):
    settings.WEBPUSH_TIMEOUT = 0.3
    device, _ = make_device("slow")
    push.answer("slow", 201, delay=1.5, times=1)
    message = make_message()
    _enqueue(message, device)

    assert send_all(message) == {"retry": 1}

    delivery = Delivery.objects.get(message=message)
    assert (delivery.state, delivery.error) == (Delivery.State.QUEUED, "timeout")
    assert delivery.next_attempt_at > timezone.now()


def test_it_retries_when_the_push_service_cannot_be_reached(make_device, make_message, push):
    device, _ = make_device("x")
    Device.objects.filter(pk=device.pk).update(endpoint="http://127.0.0.1:9/push/x")
    message = make_message()
    _enqueue(message, device)
    outbox.send_chunk(outbox.claim_chunk(message_id=message.pk))
    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.QUEUED
    assert delivery.error.startswith("connection error")


@pytest.mark.parametrize("status", [400, 403, 413])
def test_it_fails_for_good_on_a_refusal(push, make_device, make_message, send_all, status):
    device, _ = make_device("no")
    push.answer("no", status)
    message = make_message()
    _enqueue(message, device)

    assert send_all(message) == {"failed": 1}

    delivery = Delivery.objects.get(message=message)
    assert str(status) in delivery.error
    assert Device.objects.filter(pk=device.pk).exists()


def test_it_fails_a_device_with_broken_keys_without_sending(
    push, make_device, make_message, send_all
):
    device, _ = make_device("bad")
    Device.objects.filter(pk=device.pk).update(p256dh="AAAA")
    message = make_message()
    _enqueue(message, device)
    assert send_all(message) == {"failed": 1}
    assert Delivery.objects.get(message=message).error == "invalid subscription keys"
    assert push.received == 0


def test_it_fails_a_device_whose_endpoint_has_no_origin(push, make_device, make_message, send_all):
    device, _ = make_device("a1")
    Device.objects.filter(pk=device.pk).update(endpoint="push:nowhere")
    message = make_message()
    _enqueue(message, device)
    assert send_all(message) == {"failed": 1}
    assert Delivery.objects.get(message=message).error == "invalid endpoint"


def test_it_does_not_send_an_expired_message(push, make_device, make_message, send_all):
    device, _ = make_device("late")
    message = make_message(ttl_seconds=60)
    type(message).objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    _enqueue(message, device)
    assert send_all(message) == {"failed": 1}
    assert Delivery.objects.get(message=message).error == "expired"
    assert push.received == 0


def test_it_never_sends_a_row_recorded_as_sent_again(push, make_device, make_message, send_all):
    device, _ = make_device("once")
    message = make_message()
    _enqueue(message, device)
    send_all(message)

    assert send_all(message) == {}
    outbox.drain(message_id=message.pk)
    outbox.drain()
    outbox.sweep(now=timezone.now() + timedelta(hours=1))
    send_all(message)

    assert len(push.pushes_for("once")) == 1
    assert Delivery.objects.get(message=message).state == Delivery.State.SENT


def test_it_keeps_the_payload_under_4_kb_with_a_long_body(
    push, make_device, make_message, send_all
):
    device, subscriber = make_device("long")
    body = "Signalement: " + "lange tekst met é en € en 🚓 " * 400
    message = make_message(body=body, data={"image": "/media/foto.jpg"})
    _enqueue(message, device)

    send_all(message)

    [record] = push.pushes_for("long")
    assert len(record.body) <= MAX_BODY_BYTES
    plaintext = subscriber.decrypt(record.body)
    assert len(plaintext) <= MAX_PAYLOAD_BYTES
    payload = json.loads(plaintext)
    assert payload["body"].endswith("…")
    assert body.startswith(payload["body"][:-1])
    assert len(payload["body"]) <= MAX_BODY_CHARS
    assert payload["title"] == message.title
    assert payload["image"] == "/media/foto.jpg"
    assert payload["delivery"] == Delivery.objects.get(message=message).pk


def test_it_drops_the_extras_before_the_title_when_even_that_is_too_long():
    data = {"title": "Titel", "body": "tekst " * 2000, "image": "/x" * 3000, "url": "/app/"}
    fitted = fit(data, 1000)
    assert len(json.dumps(fitted, ensure_ascii=False, separators=(",", ":")).encode()) <= 1000
    assert "image" not in fitted
    assert fitted["title"] == "Titel"


def test_it_signs_one_vapid_header_per_push_service_and_renews_it_in_time(vapid_keys):
    headers = vapid.HeaderCache()
    now = time.time()
    fcm = headers.authorization("https://fcm.googleapis.com/fcm/send/abc", now=now)
    assert headers.authorization("https://fcm.googleapis.com/fcm/send/def", now=now) == fcm
    mozilla = headers.authorization("https://updates.push.services.mozilla.com/wpush/v2/x")
    assert mozilla != fcm
    assert vapid_claims(mozilla)[0]["aud"] == "https://updates.push.services.mozilla.com"

    claims = vapid_claims(fcm)[0]
    assert claims["exp"] <= now + 24 * 3600
    assert headers.authorization("https://fcm.googleapis.com/x", now=now + 10 * 3600) == fcm
    renewed = headers.authorization("https://fcm.googleapis.com/x", now=now + 11.5 * 3600)
    assert renewed != fcm
    assert vapid_claims(renewed)[0]["exp"] > claims["exp"]


def test_it_refuses_to_send_without_vapid_keys_in_production(
    push, make_device, make_message, settings
):
    settings.DEBUG = False
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    device, _ = make_device("a1")
    message = make_message()
    _enqueue(message, device)

    with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY"):
        outbox.send_chunk(outbox.claim_chunk(message_id=message.pk))

    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.QUEUED  # tried again once the keys are there
    assert push.received == 0


def test_it_refuses_a_public_key_of_another_pair(settings, vapid_keys):
    settings.VAPID_PUBLIC_KEY = "BAAA" + vapid_keys[4:]
    with pytest.raises(ImproperlyConfigured, match="does not belong"):
        vapid.public_key()


def test_it_makes_and_keeps_a_development_key_with_debug_on(settings, tmp_path):
    settings.DEBUG = True
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""
    settings.VAPID_DEV_KEY_FILE = tmp_path / ".vapid-dev.pem"

    public = vapid.public_key()

    assert settings.VAPID_DEV_KEY_FILE.exists()
    assert os.stat(settings.VAPID_DEV_KEY_FILE).st_mode & 0o077 == 0
    vapid._keys.clear()  # a new process
    assert vapid.public_key() == public


def test_the_chunk_token_maker_signs_exactly_as_django_signing_does(settings, monkeypatch):
    settings.SECRET_KEY = "another-secret-for-this-test-Ω"
    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.5)
    tokens = OpenedTokens()
    for delivery_id in (1, 42, 10**12):
        token = tokens(delivery_id)
        assert token == signing.dumps({"d": delivery_id}, salt=OPENED_SALT, compress=False)
        assert signing.loads(token, salt=OPENED_SALT) == {"d": delivery_id}
    with pytest.raises(signing.BadSignature):
        signing.loads(tokens(7), salt="another.salt")


# --- where a push may go (SSRF): checked again when sending -----------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_a_failed_delivery_and_is_never_followed(
    push, make_device, make_message, send_all, status
):
    device, _ = make_device("moved")
    push.answer("moved", status, headers={"Location": push.url_for("elsewhere")})
    message = make_message()
    _enqueue(message, device)

    assert send_all(message) == {"failed": 1}

    assert push.received == 1 and push.pushes_for("elsewhere") == []
    delivery = Delivery.objects.get(message=message)
    assert delivery.error == f"push service answered {status}"
    assert Device.objects.filter(pk=device.pk).exists()


def test_it_refuses_a_name_that_now_resolves_into_our_own_network(
    push, make_device, make_message, send_all, settings, monkeypatch
):
    """The endpoint was a public name when the device subscribed; its DNS now answers a
    loopback address (as an attacker's name can): nothing is sent there, the delivery
    fails for good, and the device stays (its deletion would answer the attacker)."""
    from apps.channels.senders import http1

    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    host = "rebound.push.example.net"  # a name no other test resolves (the cache is per process)
    lookups = []
    real = http1.socket.getaddrinfo

    def resolve(name, port, *args, **kwargs):
        if name == host:
            lookups.append(name)
            return real("127.0.0.1", port, *args, **kwargs)
        return real(name, port, *args, **kwargs)

    monkeypatch.setattr(http1.socket, "getaddrinfo", resolve)
    made = [make_device(f"r{n}")[0] for n in range(3)]
    for n, device in enumerate(made):
        device.endpoint = f"https://{host}:{push.port}/push/r{n}"
        device.save(update_fields=["endpoint"])
    message = make_message()
    _enqueue(message, *made)

    assert send_all(message) == {"failed": 3}

    assert push.received == 0
    assert set(Delivery.objects.filter(message=message).values_list("error", flat=True)) == {
        "push service address not public"
    }
    assert Device.objects.filter(pk__in=[d.pk for d in made]).count() == 3
    assert lookups == [host]  # one lookup for the chunk, not one per push


def test_it_no_longer_pushes_to_the_local_service_once_insecure_endpoints_are_off(
    push, make_device, make_message, send_all, settings
):
    device, _ = make_device("a1")  # http://127.0.0.1:…, subscribed while they were allowed
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    message = make_message()
    _enqueue(message, device)

    assert send_all(message) == {"failed": 1}

    assert push.received == 0
    assert Delivery.objects.get(message=message).error == "push service refused: not https"
    assert Device.objects.filter(pk=device.pk).exists()


def test_it_pushes_only_to_the_allowed_push_services_when_they_are_named(
    push, make_device, make_message, send_all, settings
):
    device, _ = make_device("a1")
    Device.objects.filter(pk=device.pk).update(endpoint="https://push.example.net/push/a1")
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    settings.WEBPUSH_ALLOWED_HOSTS = ["fcm.googleapis.com"]
    message = make_message()
    _enqueue(message, device)

    assert send_all(message) == {"failed": 1}

    error = Delivery.objects.get(message=message).error
    assert error == "push service refused: not an allowed push service"
