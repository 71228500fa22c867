"""Writing a sent chunk back: every field of every row in a few statements, and only to the
rows the claim still holds."""

import sqlite3
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from apps.channels import outbox
from apps.channels.models import Channel, Delivery
from apps.participants.models import Device

pytestmark = pytest.mark.django_db

State = Delivery.State


@pytest.fixture(params=["update_from", "bulk_update"])
def write_back(request, monkeypatch):
    """write_back(token, rows): each test runs on the database's own UPDATE … FROM and on
    bulk_update, the fallback for a database without it (another vendor, SQLite < 3.33)."""

    def write(token: str, rows: list[Delivery]) -> None:
        with monkeypatch.context() as patch:
            if request.param == "bulk_update":
                patch.setattr(connection, "vendor", "another database")
            outbox._update_claimed(token, rows)

    return write


def _claimed(make_message, n: int, *, limit: int | None = None) -> list[Delivery]:
    devices = Device.objects.bulk_create(
        Device(endpoint=f"https://push.example/{i}", p256dh="x", auth="y") for i in range(n)
    )
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    rows = outbox.claim_chunk(message_id=message.pk, limit=limit or n)
    assert len(rows) == (limit or n)
    return rows


def _outcome(d: Delivery, i: int, base) -> None:
    """Give row `i` values of its own in every field written back."""
    d.state = [State.SENT, State.QUEUED, State.FAILED, State.CANCELLED, State.SENDING][i % 5]
    d.attempts = i + 1
    d.next_attempt_at = None if i % 2 else base + timedelta(seconds=i, microseconds=i)
    d.lease_until = None if i % 3 else base + timedelta(minutes=i)
    d.provider_id = f"prov-{i}" if i % 4 else ""
    d.error = f"fout ‘{i}’ — 'quote' \"dubbel\" é" if i % 2 else ""
    d.sent_at = base - timedelta(milliseconds=i, microseconds=7) if i % 5 == 0 else None


def _stored(rows: list[Delivery]) -> dict[int, tuple]:
    fields = outbox.FIELDS_WRITTEN_BACK
    return {
        row[0]: row[1:]
        for row in Delivery.objects.filter(pk__in=[d.pk for d in rows]).values_list("pk", *fields)
    }


def _expected(rows: list[Delivery]) -> dict[int, tuple]:
    return {d.pk: tuple(getattr(d, name) for name in outbox.FIELDS_WRITTEN_BACK) for d in rows}


def test_it_writes_every_field_of_every_row(make_message, write_back):
    rows = _claimed(make_message, 40)
    base = timezone.now()
    for i, d in enumerate(rows):
        _outcome(d, i, base)

    write_back(rows[0].claim_token, rows)

    assert _stored(rows) == _expected(rows)
    # What the claim set and the write-back does not touch stays.
    assert set(Delivery.objects.values_list("claim_token", flat=True)) == {rows[0].claim_token}


def test_it_writes_nulls_over_values(make_message, write_back):
    rows = _claimed(make_message, 6)
    token, earlier = rows[0].claim_token, timezone.now() - timedelta(minutes=3)
    Delivery.objects.filter(claim_token=token).update(
        next_attempt_at=earlier, sent_at=earlier, lease_until=earlier, error="oud"
    )
    for d in rows:
        d.next_attempt_at = d.sent_at = d.lease_until = None
        d.error = ""

    write_back(token, rows)

    stored = Delivery.objects.filter(claim_token=token)
    assert stored.count() == 6
    assert not stored.filter(next_attempt_at__isnull=False).exists()
    assert not stored.filter(sent_at__isnull=False).exists()
    assert not stored.filter(lease_until__isnull=False).exists()
    assert not stored.exclude(error="").exists()


def test_it_writes_nothing_to_rows_the_claim_no_longer_holds(make_message, write_back):
    rows = _claimed(make_message, 10)
    lease_over = rows[0].lease_until + timedelta(seconds=1)
    # The worker stalled: the sweep put its rows back in the queue, another worker claimed
    # four of them (another token); the other six are queued (still carrying the old token).
    assert outbox.sweep(now=lease_over)["requeued"] == 10
    taken_over = outbox.claim_chunk(message_id=rows[0].message_id, limit=4, now=lease_over)
    before = _stored(rows)
    base = timezone.now()
    for i, d in enumerate(rows):
        _outcome(d, i, base)
        d.state = State.SENT

    write_back(rows[0].claim_token, rows)

    assert _stored(rows) == before
    states = Delivery.objects.values_list("state", flat=True)
    assert sorted(states) == [State.QUEUED] * 6 + [State.SENDING] * 4
    assert {d.pk for d in taken_over} == set(
        Delivery.objects.filter(claim_token=taken_over[0].claim_token).values_list("pk", flat=True)
    )


def test_it_writes_only_the_rows_still_held_among_others(make_message, write_back):
    rows = _claimed(make_message, 12)
    token = rows[0].claim_token
    # Three were taken back and claimed again meanwhile, two cancelled by the sweep.
    Delivery.objects.filter(pk__in=[d.pk for d in rows[:3]]).update(claim_token="other")
    Delivery.objects.filter(pk__in=[d.pk for d in rows[3:5]]).update(state=State.CANCELLED)
    before = _stored(rows)
    base = timezone.now()
    for i, d in enumerate(rows):
        _outcome(d, i, base)

    write_back(token, rows)

    stored = _stored(rows)
    assert {pk: stored[pk] for pk in [d.pk for d in rows[:5]]} == {
        d.pk: before[d.pk] for d in rows[:5]
    }
    assert {d.pk: stored[d.pk] for d in rows[5:]} == _expected(rows[5:])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's limit on parameters")
def test_it_writes_more_rows_than_one_statement_may_carry(make_message, monkeypatch):
    rows = _claimed(make_message, 45)
    base = timezone.now()
    for i, d in enumerate(rows):
        _outcome(d, i, base)
    # SQLite itself refuses more than 50 parameters now: 8 per row, 2 for the claim, so
    # six rows per statement.
    monkeypatch.setattr(connection.features, "max_query_params", 50)
    sqlite = connection.connection
    old = sqlite.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 50)
    try:
        outbox._update_claimed(rows[0].claim_token, rows)
    finally:
        sqlite.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)

    assert _stored(rows) == _expected(rows)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's limit on parameters")
def test_it_writes_nothing_when_a_statement_of_the_batch_fails(make_message, monkeypatch):
    rows = _claimed(make_message, 20)
    before = _stored(rows)
    base = timezone.now()
    for i, d in enumerate(rows):
        _outcome(d, i, base)
    rows[-1].state = None  # NOT NULL: the last statement fails
    monkeypatch.setattr(connection.features, "max_query_params", 50)

    with pytest.raises(IntegrityError, match="NOT NULL"):
        outbox._update_claimed(rows[0].claim_token, rows)

    assert _stored(rows) == before
