"""The outbox workers under faults: answers written back during a chunk, a claim kept alive
while it sends, Retry-After honoured, a push service that fails slowed down for, and real
worker processes killed while they wait for work."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from apps.channels import outbox
from apps.channels.models import Channel, Delivery
from apps.channels.senders import Outcome
from apps.channels.senders.webpush import OriginGate

from .conftest import worker_env

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def _message_to(make_message, make_device, n: int, prefix: str = "d"):
    devices = [make_device(f"{prefix}{i}")[0] for i in range(n)]
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    return message


# Written back as the answers come -----------------------------------------------------------


def test_it_writes_answers_back_in_small_batches_during_a_chunk(
    push, make_device, make_message, monkeypatch
):
    message = _message_to(make_message, make_device, 120)
    chunk = outbox.claim_chunk(message_id=message.pk, limit=500)
    written = []
    write_back = outbox._write_back

    def spy(deliveries, outcomes, *, now):
        sent_so_far = Delivery.objects.filter(message=message, state="sent").count()
        written.append((len(deliveries), sent_so_far))
        return write_back(deliveries, outcomes, now=now)

    monkeypatch.setattr(outbox, "_write_back", spy)

    assert outbox.send_chunk(chunk) == {"sent": 120}

    assert len(written) >= 3
    assert max(size for size, _ in written) <= 50
    # Before the last batch, the earlier ones were already in the database as sent.
    assert written[-1][1] == 120 - written[-1][0]


def test_a_slow_chunk_keeps_its_claim_and_gives_back_what_it_did_not_start(
    push, make_device, make_message, settings, monkeypatch
):
    settings.OUTBOX_LEASE_SECONDS = 3
    settings.OUTBOX_CHUNK_SECONDS = 2.5
    settings.WEBPUSH_CONCURRENCY = 1
    push.answer(None, 201, delay=0.6)
    message = _message_to(make_message, make_device, 10)
    chunk = outbox.claim_chunk(message_id=message.pk, limit=10)
    sweeps = []
    write_back = outbox._write_back

    def another_worker_sweeps(deliveries, outcomes, *, now):
        sweeps.append(outbox.sweep())
        return write_back(deliveries, outcomes, now=now)

    monkeypatch.setattr(outbox, "_write_back", another_worker_sweeps)
    started = time.monotonic()

    counts = outbox.send_chunk(chunk)

    assert time.monotonic() - started > settings.OUTBOX_LEASE_SECONDS  # outlived one lease
    assert not any("requeued" in swept for swept in sweeps)  # but nobody took its rows
    assert 3 <= counts["sent"] <= 6
    assert counts["sent"] + counts["retry"] == 10
    rows = Delivery.objects.filter(message=message)
    assert not rows.filter(state="sending").exists()
    # What it did not start is due again at once, and was not an attempt.
    assert set(rows.filter(state="queued").values_list("attempts", "next_attempt_at")) == {
        (0, None)
    }
    assert max(Counter(p.push_id for p in push.pushes).values()) == 1


# Retry-After and the slow-down per push service ---------------------------------------------


def test_it_retries_when_retry_after_says_not_after_the_backoff(push, make_device, make_message):
    message = _message_to(make_message, make_device, 1, prefix="busy")
    push.answer("busy0", 429, headers={"Retry-After": "3"}, times=1)
    before = timezone.now()

    outbox.drain(message_id=message.pk)

    row = Delivery.objects.get(message=message)
    assert (row.state, row.attempts) == ("queued", 1)
    wait = (row.next_attempt_at - before).total_seconds()
    assert 3 <= wait <= 3 * 1.1 + 1  # what was asked, not the 15 s backoff


def test_it_pauses_a_push_service_that_fails_and_defers_the_rest_without_an_attempt(
    push, make_device, make_message, settings
):
    settings.WEBPUSH_CONCURRENCY = 5
    push.answer(None, 500, delay=0.05)
    message = _message_to(make_message, make_device, 60)

    counts = outbox.send_chunk(outbox.claim_chunk(message_id=message.pk, limit=60))

    assert counts == {"retry": 60}
    # Only the first round met the outage; the rest were not fired at it.
    assert push.received <= 10
    rows = Delivery.objects.filter(message=message)
    deferred = rows.filter(attempts=0)
    assert deferred.count() >= 50
    assert set(deferred.values_list("error", flat=True)) == {"push service paused"}
    now = timezone.now()
    for row in deferred:
        assert now < row.next_attempt_at <= now + timedelta(seconds=3)


def test_a_push_service_gate_halves_pauses_and_recovers():
    gate = OriginGate(ceiling=40)
    failed = Outcome.transient("push service answered 500")

    gate.record(failed, started=0.0, now=10.0)
    assert (gate.limit, gate.paused_until) == (20, 11.0)
    # Another request of the same round meets the same outage: counted once.
    gate.record(failed, started=9.9, now=10.1)
    assert (gate.limit, gate.paused_until) == (20, 11.0)
    # The next round fails too: half again, a longer pause.
    gate.record(failed, started=11.0, now=11.2)
    assert (gate.limit, gate.paused_until) == (10, 13.2)
    # Retry-After names the pause.
    gate.record(Outcome.transient("push service answered 429", retry_after=7), started=14, now=14)
    assert (gate.limit, gate.paused_until) == (5, 21.0)
    # Successes add one per run as long as the limit, up to the ceiling.
    for _ in range(5):
        gate.record(Outcome.sent(), started=22, now=22)
    assert gate.limit == 6 and gate.strikes == 0
    for _ in range(1000):
        gate.record(Outcome.sent(), started=23, now=23)
    assert gate.limit == 40


# Real worker processes ------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in text.split()}


def _wait(condition, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_sending_goes_on_when_workers_are_killed_idle_or_with_their_supervisor(
    push, make_device, make_message
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the worker processes need a database they can share (PostgreSQL)")
    env = worker_env(OUTBOX_POLL_SECONDS="0.1")
    with tempfile.TemporaryFile() as log:
        supervisor = subprocess.Popen(
            [sys.executable, "manage.py", "outbox_worker", "--processes", "2"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            workers = _wait(
                lambda: len(_children(supervisor.pid)) == 2 and _children(supervisor.pid),
                30,
                "two workers",
            )
            time.sleep(0.5)  # both idle, waiting for work
            killed = sorted(workers)[0]
            os.kill(killed, signal.SIGKILL)

            first = _message_to(make_message, make_device, 20, prefix="a")
            assert push.wait_for(20, timeout=20), "nothing was sent after a worker was killed"
            replaced = _wait(
                lambda: killed not in (now := _children(supervisor.pid)) and len(now) == 2 and now,
                10,
                "a new worker in place of the killed one",
            )

            # The supervisor killed: its workers notice and stop by themselves.
            supervisor.send_signal(signal.SIGKILL)
            supervisor.wait(timeout=10)
            _wait(
                lambda: not any(Path(f"/proc/{pid}").exists() for pid in replaced),
                10,
                "the orphaned workers to stop",
            )
        finally:
            if supervisor.poll() is None:
                supervisor.send_signal(signal.SIGTERM)
                supervisor.wait(timeout=30)
            log.seek(0)
            output = log.read().decode(errors="replace")
    states = Counter(Delivery.objects.filter(message=first).values_list("state", flat=True))
    assert states == {"sent": 20}, output
    assert Counter(p.push_id for p in push.pushes) == {f"a{i}": 1 for i in range(20)}
    assert "ended: signal 9" in output


@pytest.mark.django_db(transaction=True)
def test_a_stopped_supervisor_lets_its_workers_finish_their_chunk_and_holds_nothing(
    push, make_device, make_message
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the worker processes need a database they can share (PostgreSQL)")
    message = _message_to(make_message, make_device, 150, prefix="s")
    push.answer(None, 201, delay=0.05)
    env = worker_env(WEBPUSH_CONCURRENCY="2")
    with tempfile.TemporaryFile() as log:
        supervisor = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "outbox_worker",
                "--processes",
                "2",
                "--chunk-size",
                "20",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            assert push.wait_for(30, timeout=30), "nothing was sent"
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(timeout=60) == 0
        finally:
            if supervisor.poll() is None:
                supervisor.kill()
                supervisor.wait()
            log.seek(0)
            output = log.read().decode(errors="replace")

    states = Counter(Delivery.objects.filter(message=message).values_list("state", flat=True))
    assert "sending" not in states, (states, output)  # every chunk finished and written
    assert states["sent"] == push.received < 150, states  # it stopped before the end
    outbox.drain(message_id=message.pk)  # another worker, later, sends the rest
    assert Counter(p.push_id for p in push.pushes) == {f"s{i}": 1 for i in range(150)}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"processes": 0}, "--processes must be at least 1"),
        ({"chunk_size": 0}, "--chunk-size must be at least 1"),
    ],
)
def test_the_worker_command_refuses_nonsense_and_starts_nothing(options, error):
    from io import StringIO

    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match=error):
        call_command("outbox_worker", stdout=StringIO(), **options)


def test_the_worker_command_drains_what_is_due_in_one_process(push, make_device, make_message):
    from io import StringIO

    from django.core.management import call_command

    message = _message_to(make_message, make_device, 3)
    out = StringIO()

    call_command("outbox_worker", drain=True, stdout=out)

    assert "'sent': 3" in out.getvalue()
    assert outbox.stats(message)["webpush"]["sent"] == 3
