"""The fault trial at a small size: real outbox workers and a q2 cluster are killed while an
alert goes out, and the push service fails for a while. Correctness only: nothing lost,
every row final, the gone devices deleted, and what it made removed (no timing asserted)."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.channels.models import Delivery, OutgoingMessage
from apps.participants.models import Device


@pytest.fixture
def shared_database(transactional_db):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the trial's processes need a database they share (PostgreSQL)")


def test_a_trial_with_kills_and_outages_loses_nothing_and_cleans_up(shared_database):
    out = StringIO()

    call_command(
        "bench_faults",
        devices=400,
        kills=4,
        outage_seconds=1,
        retry_after=1,
        gone_every=20,
        timeout=240,
        # Slow enough that the kills fall while the 400 pushes go out (2 workers x 4 in
        # flight, 50 ms each: about 160 pushes a second).
        in_flight=4,
        service_delay_ms=50,
        stdout=out,
    )

    text = out.getvalue()
    assert "lost (a reachable device that got nothing): 0" in text, text
    states = re.search(r"rows by state: (\{.*\})", text).group(1)
    assert "queued" not in states and "sending" not in states, text
    kills = int(re.search(r"kills: (\d+)", text).group(1))
    assert kills == 4, text
    deleted = re.search(r"\(([\d,]+) answered 410; ([\d,]+) devices deleted\)", text)
    assert deleted.group(1) == deleted.group(2), text
    assert not Device.objects.exists()
    assert not OutgoingMessage.objects.exists() and not Delivery.objects.exists()


def test_it_refuses_a_database_with_devices_it_did_not_make(shared_database):
    Device.objects.create(endpoint="https://push.example/real", p256dh="x", auth="y")
    with pytest.raises(CommandError, match="did not make"):
        call_command("bench_faults", devices=10, stdout=StringIO())


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"devices": 0}, "--devices must be at least 1"),
        ({"processes": 0}, "--processes must be at least 1"),
        ({"kills": -1}, "--kills must be at least 0"),
        ({"in_flight": -1}, "--in-flight must be at least 0"),
        ({"service_delay_ms": -5}, "--service-delay-ms must be at least 0"),
        ({"outage_seconds": -1}, "cannot be negative"),
        ({"timeout": 0}, "must be positive"),
    ],
)
def test_it_refuses_nonsense_options_and_makes_nothing(db, options, error):
    with pytest.raises(CommandError, match=error):
        call_command("bench_faults", stdout=StringIO(), **options)
    assert not Device.objects.exists()
