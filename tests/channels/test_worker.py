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


@pytest.fixture
def postgresql_committed(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("written back from a thread only on PostgreSQL")


def test_a_big_chunk_is_written_back_from_a_thread_of_its_own_and_in_order(
    postgresql_committed, push, make_device, make_message, monkeypatch
):
    import threading

    message = _message_to(make_message, make_device, outbox.BACKGROUND_WRITE_ROWS + 50)
    chunk = outbox.claim_chunk(message_id=message.pk, limit=1000)
    threads = set()
    write_back = outbox._write_back

    def spy(deliveries, outcomes, *, now):
        threads.add(threading.get_ident())
        return write_back(deliveries, outcomes, now=now)

    monkeypatch.setattr(outbox, "_write_back", spy)

    counts = outbox.send_chunk(chunk)

    assert counts == {"sent": len(chunk)}
    assert threads and threading.get_ident() not in threads
    assert Delivery.objects.filter(message=message, state="sent").count() == len(chunk)
    # The thread's connection is closed: nothing holds on to the database.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 0


def test_a_failed_background_write_stops_the_chunk_and_leaves_its_rows_claimed(
    postgresql_committed, push, make_device, make_message, monkeypatch
):
    from django.db import OperationalError

    from apps.channels.senders.webpush import WebPushSender

    message = _message_to(make_message, make_device, outbox.BACKGROUND_WRITE_ROWS + 100)
    chunk = outbox.claim_chunk(message_id=message.pk, limit=1000)
    calls = []

    def broken(deliveries, outcomes, *, now):
        calls.append(len(deliveries))
        raise OperationalError("the database went away")

    monkeypatch.setattr(outbox, "_write_back", broken)

    with pytest.raises(OperationalError):
        outbox.send_chunk(chunk)

    assert len(calls) == 1  # nothing written after the first failure
    assert push.received < len(chunk)  # the chunk stopped early
    # Not written: the rows stay claimed, for the supervisor or the sweep to give back.
    assert Delivery.objects.filter(message=message, state="sending").count() == len(chunk)
    # What was in flight was given up: the next chunk starts with a clean client.
    for gate in WebPushSender().client.gates.values():
        assert gate.in_flight == 0


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


def _simulate(gate: OriginGate, *, rtt: float, cpu_rate: float, seconds: float) -> float:
    """A worker that can start `cpu_rate` pushes per second, sending through `gate` to a
    service answering after `rtt`; the rate of answers it reached in the last half."""
    import heapq

    answers: list[float] = []
    in_flight: list[tuple[float, float]] = []
    step = 1 / cpu_rate
    now = 0.0
    while now < seconds:
        while in_flight and in_flight[0][0] <= now:
            done_at, started = heapq.heappop(in_flight)
            gate.in_flight -= 1
            gate.record(Outcome.sent(), started=started, now=done_at)
            answers.append(done_at)
        if gate.in_flight < gate.allowed():
            gate.in_flight += 1
            heapq.heappush(in_flight, (now + rtt, now))
            now += step
        else:
            now = in_flight[0][0]
    return sum(1 for t in answers if t >= seconds / 2) / (seconds / 2)


def test_the_in_flight_window_grows_for_a_distant_push_service_and_stays_small_nearby():
    far = OriginGate(ceiling=256)
    rate = _simulate(far, rtt=0.050, cpu_rate=3000, seconds=3)
    # 50 in flight would cap it at 1,000/s; the window lets the worker's CPU set the pace.
    assert rate > 2700 and far.window > 150

    near = OriginGate(ceiling=256)
    rate = _simulate(near, rtt=0.0005, cpu_rate=3000, seconds=3)
    assert rate > 2700 and near.window <= 24  # few in flight: few repeated after a kill


def test_a_worker_opens_its_window_to_a_slow_answering_push_service(
    push, make_device, make_message
):
    from apps.channels.senders.webpush import WINDOW_FLOOR, WebPushSender

    push.answer(None, 201, delay=0.05)
    message = _message_to(make_message, make_device, 300, prefix="far")

    counts = outbox.send_chunk(outbox.claim_chunk(message_id=message.pk, limit=300))

    assert counts == {"sent": 300}
    [gate] = WebPushSender().client.gates.values()
    assert gate.window > 2 * WINDOW_FLOOR


def test_claims_grow_to_about_a_second_of_sending_and_shrink_for_a_slow_service():
    sizer = outbox.ChunkSizer(500)
    assert sizer.size == 500
    sizer.sent(500, 0.17)  # ~3,000 rows/s
    assert 2900 <= sizer.size <= 3000
    sizer.sent(3000, 0.1)  # faster still: capped
    assert sizer.size == outbox.MAX_CHUNK_SIZE
    sizer.sent(5000, 50)  # a slow push service: back to the floor
    assert sizer.size == 500


def test_a_drain_claims_bigger_chunks_once_it_knows_its_pace(
    push, make_device, make_message, monkeypatch
):
    message = _message_to(make_message, make_device, 120, prefix="pace")
    sizes = []
    claim = outbox.claim_chunk

    def recording_claim(**kwargs):
        sizes.append(kwargs["limit"])
        return claim(**kwargs)

    monkeypatch.setattr(outbox, "claim_chunk", recording_claim)

    outbox.drain(message_id=message.pk, chunk_size=10)

    assert sizes[0] == 10 and max(sizes) > 10
    assert Delivery.objects.filter(message=message, state="sent").count() == 120


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


# The next chunk claimed while one is sent ------------------------------------------------


def test_a_worker_claims_its_next_chunk_in_the_background_while_it_sends(
    postgresql_committed, push, make_device, make_message, monkeypatch
):
    import threading

    message = _message_to(make_message, make_device, 30)
    claim_chunk = outbox.claim_chunk
    claimed_in = []

    def spy(**kwargs):
        rows = claim_chunk(**kwargs)
        claimed_in.append((threading.get_ident(), len(rows)))
        return rows

    monkeypatch.setattr(outbox, "claim_chunk", spy)

    totals = outbox.drain(message_id=message.pk, chunk_size=10)

    assert totals == {"sent": 30}
    assert push.received == 30  # each row once
    here = threading.get_ident()
    assert claimed_in[0] == (here, 10)  # the first chunk: nothing to overlap with
    assert [n for thread, n in claimed_in if thread != here][:2] == [10, 10]
    assert Delivery.objects.filter(message=message, state="sent").count() == 30


def test_a_chunk_claimed_ahead_and_taken_up_late_sends_only_the_rows_still_held(
    postgresql_committed, make_device, make_message, monkeypatch
):
    message = _message_to(make_message, make_device, 6)
    claims = outbox.ClaimAhead(
        lambda limit: outbox.claim_chunk(message_id=message.pk, limit=limit, worker="w1")
    )
    claims.ahead(6)
    claims._ahead.result()  # claimed
    rows = list(Delivery.objects.filter(message=message).order_by("pk"))
    # Meanwhile the lease ran out: the sweep gave two rows back and another worker took
    # one of them; a third row is still this claim's.
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(
        state="queued", lease_until=None
    )
    outbox.claim_chunk(message_id=message.pk, limit=1, worker="w2")
    monkeypatch.setattr(outbox, "default_lease_seconds", lambda: 0)  # taken up "late"

    taken = claims.next(6)
    claims.close()

    assert sorted(d.pk for d in taken) == [r.pk for r in rows[2:]]
    renewed = Delivery.objects.filter(pk__in=[d.pk for d in taken])
    assert all(d.lease_until is not None for d in renewed)


def test_a_chunk_claimed_ahead_and_not_taken_goes_back_to_the_queue(
    postgresql_committed, make_device, make_message
):
    message = _message_to(make_message, make_device, 5)
    claims = outbox.ClaimAhead(
        lambda limit: outbox.claim_chunk(message_id=message.pk, limit=limit, worker="w1")
    )
    claims.ahead(5)

    claims.close()  # a worker told to stop

    assert Delivery.objects.filter(message=message, state="queued").count() == 5
    assert not Delivery.objects.filter(message=message).exclude(lease_until=None).exists()
    with connection.cursor() as cursor:  # the claim thread's connection is closed
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] == 0


def test_without_postgresql_every_claim_is_made_when_asked(make_device, make_message):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite and transactions: no claim thread")
    message = _message_to(make_message, make_device, 3)
    claims = outbox.ClaimAhead(
        lambda limit: outbox.claim_chunk(message_id=message.pk, limit=limit, worker="w1")
    )
    claims.ahead(3)  # does nothing

    assert not Delivery.objects.filter(message=message, state="sending").exists()
    assert len(claims.next(3)) == 3
    claims.close()


# A supervisor killed with its workers: its successor gives their rows back at once -------


def test_a_supervisor_that_takes_the_instance_lock_gives_back_what_its_dead_predecessors_held(
    make_device, make_message, settings, tmp_path
):
    from apps.channels.worker import InstanceLock, Supervisor

    settings.OUTBOX_LOCK_DIR = str(tmp_path)
    message = _message_to(make_message, make_device, 6)
    earlier = InstanceLock().prefix + "a1b2c30001-"  # a worker of a killed supervisor
    outbox.claim_chunk(message_id=message.pk, limit=4, worker=earlier)
    outbox.claim_chunk(message_id=message.pk, limit=2, worker="wsomeone.else0001-")

    supervisor = Supervisor(processes=1)
    supervisor._take_over()
    try:
        states = Counter(
            Delivery.objects.filter(message=message).values_list("claim_token", "state")
        )
        assert sum(n for (_, state), n in states.items() if state == "queued") == 4
        # Another instance's rows (another host) are left to their own supervisor.
        assert Delivery.objects.filter(message=message, state="sending").count() == 2
        assert supervisor.prefix == InstanceLock().prefix  # its workers' names
    finally:
        supervisor.lock.release()


def test_while_an_earlier_supervisors_workers_run_their_rows_are_left_to_them(
    make_device, make_message, settings, tmp_path
):
    from apps.channels.worker import InstanceLock, Supervisor

    settings.OUTBOX_LOCK_DIR = str(tmp_path)
    held = InstanceLock()
    assert held.acquire()  # an orphaned worker of a killed supervisor, still sending
    message = _message_to(make_message, make_device, 3)
    outbox.claim_chunk(message_id=message.pk, limit=3, worker=held.prefix + "a1b2c30001-")
    try:
        supervisor = Supervisor(processes=1)
        supervisor._take_over()

        assert supervisor.lock is None
        assert Delivery.objects.filter(message=message, state="sending").count() == 3
        # Its own workers get names the next holder of the lock will not give back.
        assert not supervisor.prefix.startswith(held.prefix)
    finally:
        held.release()


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_supervisor_killed_with_its_workers_are_sent_at_once_not_after_the_lease(
    push, make_device, make_message, tmp_path
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the worker processes need a database they can share (PostgreSQL)")
    message = _message_to(make_message, make_device, 120, prefix="k")
    push.answer(None, 201, delay=0.1)
    # A lease far longer than this test may take: only the take-over can free the rows.
    env = worker_env(
        WEBPUSH_CONCURRENCY="2", OUTBOX_LEASE_SECONDS="600", OUTBOX_LOCK_DIR=str(tmp_path)
    )
    command = [sys.executable, "manage.py", "outbox_worker", "--processes", "2"]
    command += ["--chunk-size", "20"]
    with tempfile.TemporaryFile() as log:
        first = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True
        )
        second = None
        try:
            assert push.wait_for(10, timeout=30), "nothing was sent"
            os.killpg(first.pid, signal.SIGKILL)  # the supervisor and its workers
            first.wait(timeout=10)
            _wait(
                lambda: (
                    not subprocess.run(["pgrep", "-g", str(first.pid)], capture_output=True).stdout
                ),
                10,
                "the killed group to be gone",
            )
            held = Delivery.objects.filter(message=message, state="sending").count()
            assert held > 0  # the dead workers held rows under a 600 s lease
            push.answer(None, 201)  # answers at once from now on
            second = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True
            )
            _wait(
                lambda: Delivery.objects.filter(message=message, state="sent").count() == 120,
                30,
                "every row sent by the new supervisor",
            )
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=60)
            log.seek(0)
            output = log.read().decode(errors="replace")
    assert "rows of killed predecessors back in the queue" in output, output
    assert {p.push_id for p in push.pushes} == {f"k{i}" for i in range(120)}
