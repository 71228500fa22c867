"""The outbox: rows written set-based, claimed by one worker each, stopped, released, counted."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from apps.channels import gsm, outbox
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.channels.senders import sms
from apps.participants.models import Address, Device, Participant

pytestmark = pytest.mark.django_db


def _devices(n: int) -> list[Device]:
    return Device.objects.bulk_create(
        Device(endpoint=f"https://push.example/{i}", p256dh="x", auth="y") for i in range(n)
    )


# Enqueue ----------------------------------------------------------------------------------


def test_it_enqueues_in_one_statement_and_only_once(make_message, django_assert_num_queries):
    _devices(120)
    message = make_message()
    ids = Device.objects.values("id")

    with django_assert_num_queries(1):
        inserted = outbox.enqueue_from_queryset(
            message=message, channel=Channel.WEBPUSH, device_ids=ids
        )

    assert inserted == 120
    assert (
        outbox.enqueue_from_queryset(message=message, channel=Channel.WEBPUSH, device_ids=ids) == 0
    )
    rows = Delivery.objects.filter(message=message)
    assert rows.count() == 120
    assert set(rows.values_list("state", "channel", "attempts", "provider_id", "error")) == {
        ("queued", "webpush", 0, "", "")
    }
    assert not rows.filter(created_at__isnull=True).exists()


def test_it_enqueues_a_participant_with_several_addresses_once(make_message, make_participant):
    alice, bob = make_participant("+31611111111"), make_participant("+31622222222")
    for participant, count in ((alice, 3), (bob, 1)):
        for n in range(count):
            Address.objects.create(
                participant=participant,
                label=f"adres {n}",
                postcode="3441AB",
                house_number=n + 1,
                lat=52.08,
                lon=4.88,
            )
    message = make_message()

    inserted = outbox.enqueue_from_queryset(
        message=message,
        channel=Channel.SMS,
        participant_ids=Address.objects.filter(lat__gt=52).values("participant_id"),
    )

    assert inserted == 2
    assert set(Delivery.objects.values_list("participant_id", flat=True)) == {alice.pk, bob.pk}


def test_it_enqueues_the_same_recipient_again_for_another_message_or_channel(
    make_message, make_participant
):
    alice = make_participant("+31611111111")
    first, second = make_message(), make_message()
    ids = Participant.objects.values("pk")
    assert outbox.enqueue(message=first, channel=Channel.SMS, participant_ids=ids) == 1
    assert outbox.enqueue(message=first, channel=Channel.EMAIL, participant_ids=ids) == 1
    assert outbox.enqueue(message=second, channel=Channel.SMS, participant_ids=[alice.pk]) == 1


def test_it_enqueues_from_a_queryset_of_rows_too(make_message):
    _devices(3)
    message = make_message()
    devices = Device.objects.filter(endpoint__endswith="1") | Device.objects.filter(pk=0)
    assert outbox.enqueue_from_queryset(message=message, channel="webpush", device_ids=devices) == 1
    with pytest.raises(ValueError):
        outbox.enqueue_from_queryset(
            message=message, channel="webpush", device_ids=Device.objects.values("pk", "auth")
        )


def test_it_enqueues_from_a_list_and_leaves_unknown_ids_out(make_message):
    devices = _devices(3)
    message = make_message()
    ids = [d.pk for d in devices] + [999_999]
    assert outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=ids) == 3
    assert outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=ids) == 0


def test_it_refuses_to_enqueue_without_exactly_one_kind_of_recipient(make_message):
    message = make_message()
    with pytest.raises(ValueError):
        outbox.enqueue(message=message, channel=Channel.SMS)
    with pytest.raises(ValueError):
        outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[1], device_ids=[1])


# Claim ------------------------------------------------------------------------------------


def test_it_never_gives_a_row_to_two_claimers(make_message):
    _devices(50)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk"))

    first = outbox.claim_chunk(message_id=message.pk, limit=30)
    second = outbox.claim_chunk(message_id=message.pk, limit=30)
    third = outbox.claim_chunk(message_id=message.pk, limit=30)

    assert (len(first), len(second), third) == (30, 20, [])
    assert not {d.pk for d in first} & {d.pk for d in second}
    assert {d.claim_token for d in first} != {d.claim_token for d in second}
    assert all(d.state == Delivery.State.SENDING and d.lease_until for d in first + second)
    # Read back with what a sender needs, without a query per row.
    assert first[0].device.endpoint.startswith("https://push.example/")


def test_it_reads_a_chunk_back_with_each_rows_message_and_recipient(
    make_message, make_participant, django_assert_num_queries
):
    devices = _devices(4)
    first, second = make_message(title="Eerste"), make_message(title="Tweede")
    outbox.enqueue(message=first, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    people = [make_participant(f"+3161234567{i}") for i in range(3)]
    outbox.enqueue(message=second, channel=Channel.SMS, participant_ids=[p.pk for p in people])

    # The longest TTL (which messages are live); savepoint, claim, release; the rows with
    # their devices; their messages; their participants.
    with django_assert_num_queries(7):
        rows = outbox.claim_chunk(limit=10)

    with django_assert_num_queries(0):
        seen = [(d.message.title, d.device_id and d.device.endpoint, d.participant) for d in rows]
    by_pk = {d.pk: d for d in Delivery.objects.all()}
    assert len(rows) == 7
    assert [title for title, _, _ in seen] == [by_pk[d.pk].message.title for d in rows]
    assert {endpoint for _, endpoint, _ in seen if endpoint} == {d.endpoint for d in devices}
    assert {p.pk for _, _, p in seen if p} == {p.pk for p in people}
    assert len({id(d.message) for d in rows if d.message_id == first.pk}) == 1


@pytest.mark.django_db(transaction=True)
def test_it_never_gives_a_row_to_two_claimers_claiming_at_the_same_moment(make_message):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("in-memory SQLite is not shared by threads with their own connections")
    _devices(400)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk"))
    claims: list[list[int]] = []
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait()
            while chunk := outbox.claim_chunk(message_id=message.pk, limit=7):
                claims.append([d.pk for d in chunk])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = [pk for chunk in claims for pk in chunk]
    assert len(claimed) == len(set(claimed)) == 400


def test_it_skips_rows_waiting_for_their_next_attempt(make_message):
    _devices(3)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk"))
    later = timezone.now() + timedelta(minutes=5)
    waiting = Delivery.objects.order_by("pk").first()
    Delivery.objects.filter(pk=waiting.pk).update(next_attempt_at=later)

    assert waiting.pk not in {d.pk for d in outbox.claim_chunk(message_id=message.pk)}
    assert [d.pk for d in outbox.claim_chunk(now=later)] == [waiting.pk]


# Stop -------------------------------------------------------------------------------------


def test_it_stops_a_message_and_sends_nothing_more(push, make_device, make_message, send_all):
    devices = [make_device(f"d{i}")[0] for i in range(6)]
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    outbox.send_chunk(outbox.claim_chunk(message_id=message.pk, limit=2))  # 2 sent
    in_flight = outbox.claim_chunk(message_id=message.pk, limit=2)  # claimed, not yet sent

    assert outbox.stop(message) == 2

    assert message.stopped_at is not None
    outbox.send_chunk(in_flight)  # the worker carries on: its rows are not sent either
    assert send_all(message) == {}
    outbox.sweep(now=timezone.now() + timedelta(hours=1))
    assert send_all(message) == {}
    assert push.received == 2
    assert outbox.stats(message)["webpush"] == {
        "queued": 0,
        "sending": 0,
        "sent": 2,
        "failed": 0,
        "cancelled": 4,
        "opened": 0,
        "total": 6,
    }


# Release: the rows are the queue ----------------------------------------------------------


def test_it_queues_nothing_in_q2_on_release(make_message, django_capture_on_commit_callbacks):
    _devices(25)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk"))

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.release(message) == 25

    assert OrmQ.objects.count() == 0
    assert not Schedule.objects.filter(name="channels.sweep_outbox").exists()


def test_it_sends_a_released_message_when_a_worker_drains_the_outbox(
    push, make_device, make_message
):
    devices = [make_device(f"d{i}")[0] for i in range(12)]
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    outbox.release(message)

    assert outbox.drain(chunk_size=5) == {"sent": 12}

    assert push.received == 12
    assert outbox.stats(message)["webpush"]["sent"] == 12


def test_it_gives_a_worker_the_urgent_messages_first(make_message):
    _devices(4)
    newsletter = make_message(urgency="normal")
    alert = make_message(urgency="high")
    for message in (newsletter, alert):
        outbox.enqueue(
            message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk")
        )

    first = outbox.claim_next(limit=10)
    second = outbox.claim_next(limit=10)

    assert {d.message_id for d in first} == {alert.pk}
    assert {d.message_id for d in second} == {newsletter.pk}
    assert outbox.claim_next(limit=10) == []


def test_it_leaves_stopped_and_long_expired_messages_out_of_a_workers_claim(make_message):
    _devices(2)
    stopped = make_message()
    old = make_message(ttl_seconds=60)
    OutgoingMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    for message in (stopped, old):
        outbox.enqueue(
            message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk")
        )
    outbox.stop(stopped)

    assert outbox.claim_next(limit=10) == []


def test_it_gives_back_at_once_only_the_rows_of_the_worker_that_died(make_message):
    _devices(6)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=Device.objects.values("pk"))
    dead = outbox.claim_next(limit=3, worker="wdead0001-")
    alive = outbox.claim_next(limit=3, worker="walive001-")
    assert all(d.claim_token.startswith("wdead0001-") for d in dead)
    assert all(len(d.claim_token) == 32 for d in dead + alive)

    assert outbox.release_claims("wdead0001-") == 3

    states = dict(Delivery.objects.values_list("pk", "state"))
    assert {states[d.pk] for d in dead} == {"queued"}
    assert {states[d.pk] for d in alive} == {"sending"}
    with pytest.raises(ValueError):
        outbox.release_claims("")


# Counts -----------------------------------------------------------------------------------


def test_it_counts_per_channel_and_state(make_message, make_participant):
    devices = _devices(4)
    participant = make_participant("+31611111111")
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[participant.pk])
    rows = Delivery.objects.filter(channel=Channel.WEBPUSH).order_by("pk")
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(state="sent")
    Delivery.objects.filter(pk=rows[0].pk).update(opened_at=timezone.now())
    Delivery.objects.filter(pk=rows[2].pk).update(state="failed")

    counts = outbox.stats(message)

    assert counts["webpush"] == {
        "queued": 1,
        "sending": 0,
        "sent": 2,
        "failed": 1,
        "cancelled": 0,
        "opened": 1,
        "total": 4,
    }
    assert counts["sms"]["queued"] == 1
    assert outbox.stats(make_message()) == {}


# SMS through the outbox ------------------------------------------------------------------


def test_it_sends_sms_only_to_confirmed_phones(make_message, make_participant, settings, send_all):
    settings.SMS_BACKEND = "locmem"
    confirmed = make_participant("+31611111111")
    unconfirmed = make_participant("+31622222222", confirmed=False)
    message = make_message(url="/app/acties/1/")
    outbox.enqueue(
        message=message, channel=Channel.SMS, participant_ids=[confirmed.pk, unconfirmed.pk]
    )

    assert send_all(message) == {"sent": 1, "failed": 1}

    [sent] = sms.outbox
    assert sent.to == "+31611111111"
    assert message.title in sent.text
    assert f"{settings.SITE_URL}/app/acties/1/" in sent.text
    failed = Delivery.objects.get(participant=unconfirmed)
    assert failed.error == "phone not confirmed"
    assert "+316" not in failed.error
    assert Delivery.objects.get(participant=confirmed).provider_id == sent.provider_id


def test_it_keeps_a_long_sms_to_three_messages(make_message, make_participant, settings):
    settings.SMS_BACKEND = "locmem"
    participant = make_participant("+31611111111")
    message = make_message(body="x" * 2000)
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[participant.pk])
    outbox.send_chunk(outbox.claim_chunk(message_id=message.pk))
    [sent] = sms.outbox
    assert gsm.segments(sent.text).parts == 3
    assert sent.text.endswith("x...\n" + settings.SITE_URL + "/app/acties/1/")


def test_a_long_sms_with_typography_stays_gsm7_and_within_its_parts(
    make_message, make_participant, settings
):
    settings.SMS_BACKEND = "locmem"
    participant = make_participant("+31611111112")
    message = make_message(body="Lang verhaal… ‘rode’ jas – België. " * 40)
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[participant.pk])
    outbox.send_chunk(outbox.claim_chunk(message_id=message.pk))
    [sent] = sms.outbox
    counted = gsm.segments(sent.text)
    assert (counted.encoding, counted.parts) == ("gsm7", 3)
    assert "'rode' jas - Belgie." in sent.text and "…" not in sent.text


def test_it_retries_an_sms_the_gateway_could_not_take(make_message, make_participant, gateway):
    gateway.status = 503
    participant = make_participant("+31611111111")
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[participant.pk])

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"retry": 1}

    delivery = Delivery.objects.get(message=message)
    assert delivery.state == Delivery.State.QUEUED
    assert delivery.error == "SMS gateway answered HTTP 503"


def test_it_fails_a_channel_without_a_sender(make_message, make_participant, send_all, monkeypatch):
    monkeypatch.delitem(outbox.SENDERS, "voice")
    participant = make_participant("+31611111111")
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.VOICE, participant_ids=[participant.pk])
    assert send_all(message) == {"failed": 1}
    assert Delivery.objects.get(message=message).error == "no sender for voice"


def test_it_knows_when_a_message_is_no_longer_worth_delivering(make_message):
    message = OutgoingMessage.objects.get(pk=make_message(ttl_seconds=600).pk)
    assert message.expires_at == message.created_at + timedelta(minutes=10)


def test_it_writes_several_channels_from_one_selection_each_once(make_message, make_participant):
    from django.db.models import BooleanField, ExpressionWrapper, Q

    from apps.participants.models import Participant

    sms, voice, both = (make_participant(f"+3161111111{i}") for i in range(3))
    Participant.objects.filter(pk=voice.pk).update(wants_sms=False, wants_voice=True)
    Participant.objects.filter(pk=both.pk).update(wants_voice=True)
    message = make_message()
    selection = (
        Participant.objects.filter(Q(wants_sms=True) | Q(wants_voice=True))
        .annotate(
            to_sms=ExpressionWrapper(Q(wants_sms=True), output_field=BooleanField()),
            to_voice=ExpressionWrapper(Q(wants_voice=True), output_field=BooleanField()),
        )
        .values("pk", "to_sms", "to_voice")
    )
    channels = [Channel.SMS, Channel.VOICE]
    written = outbox.enqueue_by_choice(message=message, participants=selection, channels=channels)
    assert written == {Channel.SMS: 2, Channel.VOICE: 2}
    rows = set(Delivery.objects.filter(message=message).values_list("channel", "participant_id"))
    assert rows == {
        ("sms", sms.pk),
        ("sms", both.pk),
        ("voice", voice.pk),
        ("voice", both.pk),
    }
    assert set(Delivery.objects.filter(message=message).values_list("state", flat=True)) == {
        "queued"
    }
    # Again: nothing new (once per message, channel and participant).
    outbox.enqueue_by_choice(message=message, participants=selection, channels=channels)
    assert Delivery.objects.filter(message=message).count() == 4
    with pytest.raises(ValueError):
        outbox.enqueue_by_choice(
            message=message, participants=selection.values("pk"), channels=channels
        )


def test_it_has_postgresql_vacuum_the_delivery_table_after_a_fixed_number_of_rows(
    table_options,
):
    options = table_options("channels_delivery")
    assert "autovacuum_vacuum_scale_factor=0" in options
    assert "autovacuum_vacuum_threshold=50000" in options


@pytest.mark.django_db
def test_the_live_panel_counts_a_message_at_most_once_in_two_seconds(django_assert_num_queries):
    from django.core.cache import cache

    from apps.channels import outbox
    from apps.channels.models import Channel, Delivery, OutgoingMessage

    cache.clear()
    message = OutgoingMessage.objects.create(source="test:live", title="t", body="b")
    Delivery.objects.create(message=message, channel=Channel.EMAIL, state=Delivery.State.SENT)
    with django_assert_num_queries(1):
        first = outbox.live_stats(message)
    with django_assert_num_queries(0):
        assert outbox.live_stats(message) == first
    Delivery.objects.create(message=message, channel=Channel.EMAIL, state=Delivery.State.QUEUED)
    cache.delete(f"outbox.live_stats:{message.pk}")  # as if two seconds had passed
    assert outbox.live_stats(message)["email"]["total"] == 2
    assert outbox.stats(message)["email"]["total"] == 2


@pytest.mark.django_db
def test_the_counts_hold_what_the_sms_voice_and_email_services_reported_back():
    from apps.channels import outbox
    from apps.channels.models import Channel, Delivery, OutgoingMessage

    message = OutgoingMessage.objects.create(source="test:receipts", title="t", body="b")
    sent, receipt = Delivery.State.SENT, Delivery.Receipt
    for channel, got in [
        (Channel.SMS, receipt.DELIVERED),
        (Channel.SMS, receipt.BOUNCED),
        (Channel.SMS, ""),
        (Channel.VOICE, receipt.DELIVERED),
        (Channel.VOICE, receipt.UNANSWERED),
        (Channel.EMAIL, receipt.DELIVERED),
        (Channel.WEBPUSH, ""),
    ]:
        Delivery.objects.create(message=message, channel=channel, state=sent, receipt=got)

    counts = outbox.stats(message)

    assert (counts["sms"]["delivered"], counts["sms"]["bounced"], counts["sms"]["sent"]) == (
        1,
        1,
        3,
    )
    assert (counts["voice"]["delivered"], counts["voice"]["unanswered"]) == (1, 1)
    assert counts["email"]["delivered"] == 1
    assert "delivered" not in counts["webpush"]  # no service reports back
