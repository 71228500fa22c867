"""Notices: one text to one participant (a confirmation code, a manage link), queued as a
Delivery of a Notice and sent by the outbox workers like any row: through the SMS gateway,
retried when it fails, never after the notice expired, its text wiped once it is done."""

import logging
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from apps.channels import outbox
from apps.channels.models import Channel, Delivery, Notice
from apps.channels.senders import sms
from apps.participants.models import Device

pytestmark = pytest.mark.django_db

State = Delivery.State
NUMBER = "+31612345678"
TEXT = "Uw Burgernet-code is 472913. De code is 15 minuten geldig."


@pytest.fixture
def queue(make_participant):
    """queue(**enqueue_notice kwargs) → the Delivery of a notice to an unconfirmed number
    (as a confirmation code goes), valid for 15 minutes unless told."""
    participant = make_participant(NUMBER, confirmed=False)

    def enqueue(**kwargs):
        kwargs.setdefault("participant_id", participant.pk)
        kwargs.setdefault("text", TEXT)
        kwargs.setdefault("source", "tests.code")
        kwargs.setdefault("expires_at", timezone.now() + timedelta(minutes=15))
        return outbox.enqueue_notice(**kwargs)

    return enqueue


def _due_now(delivery: Delivery) -> None:
    """Move the row's next try to now, as if its backoff had passed."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_it_queues_a_notice_as_one_delivery_and_sends_nothing_yet(queue, settings):
    settings.SMS_BACKEND = "locmem"
    delivery = queue()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.channel, delivery.message_id) == ("queued", "sms", None)
    assert (delivery.notice.source, delivery.notice.text) == ("tests.code", TEXT)
    assert sms.outbox == []


def test_a_worker_sends_a_notice_through_the_gateway_and_wipes_its_text(queue, gateway):
    delivery = queue()

    assert outbox.drain() == {"sent": 1}

    [request] = gateway.requests
    assert request["json"] == {"to": NUMBER, "from": "Burgernet", "text": TEXT}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.provider_id) == ("sent", 1, "gw-1")
    assert delivery.sent_at is not None
    notice = Notice.objects.get()
    assert (notice.text, notice.source) == ("", "tests.code")  # what it was, not what it said
    assert outbox.drain() == {}  # sent once


@pytest.mark.parametrize("status", [500, 429])
def test_a_notice_the_gateway_could_not_take_is_tried_again_after_the_backoff(
    queue, gateway, status
):
    gateway.status = status
    delivery = queue()

    before = timezone.now()
    assert outbox.drain() == {"retry": 1}

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("queued", 1)
    assert delivery.error == f"SMS gateway answered HTTP {status}"
    assert delivery.next_attempt_at >= before + timedelta(seconds=outbox.BACKOFF_BASE_S)
    assert Notice.objects.get().text == TEXT  # kept for the next try
    assert outbox.drain() == {}  # not due yet

    gateway.status = 200
    _due_now(delivery)
    assert outbox.drain() == {"sent": 1}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert len(gateway.requests) == 2
    assert Notice.objects.get().text == ""


def test_a_notice_the_gateway_refuses_fails_and_its_text_is_wiped(queue, gateway):
    gateway.status = 400
    delivery = queue()

    assert outbox.drain() == {"failed": 1}

    delivery.refresh_from_db()
    assert (delivery.state, delivery.error) == ("failed", "SMS gateway answered HTTP 400")
    assert Notice.objects.get().text == ""


def test_an_expired_notice_is_not_sent_late(queue, gateway):
    delivery = queue(expires_at=timezone.now() - timedelta(seconds=1))

    assert outbox.drain() == {"failed": 1}

    assert gateway.requests == []
    delivery.refresh_from_db()
    assert (delivery.state, delivery.error, delivery.attempts) == ("failed", "expired", 0)
    assert Notice.objects.get().text == ""


def test_a_notice_whose_next_try_would_come_after_it_expired_fails(queue, gateway):
    gateway.status = 503
    delivery = queue(expires_at=timezone.now() + timedelta(seconds=5))  # backoff: 15 s

    assert outbox.drain() == {"failed": 1}

    delivery.refresh_from_db()
    assert (delivery.state, delivery.error, delivery.attempts) == ("failed", "expired", 1)
    assert Notice.objects.get().text == ""


def test_the_sweep_fails_expired_notices_and_wipes_their_texts(queue):
    waiting = queue(expires_at=timezone.now() + timedelta(minutes=1))
    expired = queue()
    orphan = queue()  # its participant (and so its delivery) deleted before it was sent
    Delivery.objects.filter(pk=orphan.pk).delete()
    Notice.objects.exclude(pk=waiting.notice_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert outbox.sweep() == {"expired": 1}

    states = dict(Delivery.objects.values_list("pk", "state"))
    assert states == {waiting.pk: "queued", expired.pk: "failed"}
    texts = dict(Notice.objects.values_list("pk", "text"))
    assert texts == {waiting.notice_id: TEXT, expired.notice_id: "", orphan.notice_id: ""}


def test_a_notice_held_by_a_dead_worker_goes_back_to_the_queue_and_out_once(queue, gateway):
    delivery = queue()
    [claimed] = outbox.claim_next(worker="wdead0001-")
    assert claimed.notice.text == TEXT and claimed.message is None

    assert outbox.release_claims("wdead0001-") == 1
    assert outbox.drain() == {"sent": 1}

    assert len(gateway.requests) == 1
    delivery.refresh_from_db()
    assert delivery.state == "sent"


def test_a_worker_takes_urgent_messages_then_notices_then_the_rest(queue, make_message):
    devices = Device.objects.bulk_create(
        Device(endpoint=f"https://push.example/{i}", p256dh="x", auth="y") for i in range(2)
    )
    newsletter = make_message(urgency="normal")
    alert = make_message(urgency="high")
    for message in (newsletter, alert):
        outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    notices = [queue() for _ in range(outbox.NOTICE_CHUNK_SIZE + 1)]

    chunks = [outbox.claim_next(limit=500) for _ in range(4)]

    assert {d.message_id for d in chunks[0]} == {alert.pk}
    # Notices in small chunks, so a worker is soon free for the next alert.
    assert [len(chunks[1]), len(chunks[2])] == [outbox.NOTICE_CHUNK_SIZE, 1]
    assert {d.pk for d in chunks[1] + chunks[2]} == {d.pk for d in notices}
    assert {d.message_id for d in chunks[3]} == {newsletter.pk}


def test_a_delivery_has_a_message_or_a_notice(make_message, make_participant):
    participant = make_participant(NUMBER)
    notice = Notice.objects.create(source="tests", text="x", expires_at=timezone.now())
    with pytest.raises(IntegrityError):
        Delivery.objects.create(
            message=make_message(), notice=notice, channel="sms", participant=participant
        )


def test_a_release_writes_no_notice(make_message, make_participant):
    participant = make_participant(NUMBER)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[participant.pk])

    assert list(Delivery.objects.values_list("message_id", "notice_id")) == [(message.pk, None)]
    assert Notice.objects.count() == 0


def test_it_queues_notices_only_on_a_channel_that_sends_them(queue):
    with pytest.raises(ValueError):
        queue(channel=Channel.WEBPUSH)
    with pytest.raises(ValueError):
        queue(text="")
    assert Delivery.objects.count() == 0


def test_neither_the_number_nor_the_text_is_logged(queue, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    gateway.status = 500
    delivery = queue()
    outbox.drain()
    gateway.status = 200
    _due_now(delivery)
    outbox.drain()

    assert Delivery.objects.get().state == "sent"
    assert NUMBER not in caplog.text
    assert NUMBER[1:] not in caplog.text
    assert "472913" not in caplog.text
