"""The rate per gateway (channels/throttle.py): at most `rate` sends a second across every
worker that shares the cache, spread over the second; rows without a place before the
chunk's deadline go back to the queue, none lost or sent twice."""

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.channels import outbox, throttle
from apps.channels.models import Channel, Delivery
from apps.channels.senders import sms
from apps.channels.senders.base import Outcome
from apps.channels.senders.http import deliver_to_phones


class FakeClock:
    """A clock several throttles share; sleeping moves it on."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_it_spreads_the_sends_over_the_second():
    clock = FakeClock()
    gate = throttle.Throttle(_name(), 20, clock=clock, sleep=clock.sleep)
    start = clock()
    moments = []
    for _ in range(40):
        assert gate.acquire() is not None
        moments.append(clock())
    assert clock() - start >= 1.9
    # Never more than 20 in any second, and no burst: one per 50 ms slot.
    assert all(b - a >= 0.05 - 1e-9 for a, b in zip(moments, moments[1:], strict=False))


def test_workers_sharing_the_cache_share_the_rate():
    clock = FakeClock()
    name = _name()
    workers = [throttle.Throttle(name, 20, clock=clock, sleep=lambda s: None) for _ in range(4)]
    granted = []
    # Four workers ask at the same moments; together they get one place per slot.
    for _ in range(10):
        for worker in workers:
            wait = worker.acquire()
            if wait is not None:
                granted.append(clock() + wait)
        clock.sleep(0.2)
    slots = [round(t / 0.05) for t in granted]
    assert len(slots) == len(set(slots))  # never two sends in one slot
    per_second: dict[int, int] = {}
    for moment in granted:
        per_second[int(moment)] = per_second.get(int(moment), 0) + 1
    assert max(per_second.values()) <= 20


def test_a_fast_rate_admits_several_per_slot():
    clock = FakeClock()
    gate = throttle.Throttle(_name(), 1000, clock=clock, sleep=clock.sleep)
    start = clock()
    for _ in range(2000):
        gate.acquire()
    assert 1.95 <= clock() - start <= 2.05


def test_it_gives_no_place_beyond_the_wait_it_may_afford():
    clock = FakeClock()
    name = _name()
    first = throttle.Throttle(name, 10, clock=clock, sleep=lambda s: None)
    for _ in range(5):  # the next half second taken
        assert first.acquire(max_wait=1.0) is not None
    second = throttle.Throttle(name, 10, clock=clock, sleep=lambda s: None)
    assert second.acquire(max_wait=0.3) is None
    assert second.acquire(max_wait=1.0) == pytest.approx(0.5)


def test_a_rate_of_zero_is_no_throttle(settings):
    settings.SMS_GATEWAY_RATE = 0
    settings.VOICE_GATEWAY_RATE = 5
    assert throttle.gateway_throttle("sms") is None
    assert throttle.gateway_throttle("voice").rate == 5
    assert throttle.gateway_throttle("webpush") is None


def _rows(n: int, offset: int = 0):
    message = SimpleNamespace(
        pk=1, title="Burgernet: Test", body="Tekst.", url="", data={}, created_at=None
    )
    return [
        SimpleNamespace(
            pk=offset + i,
            message=message,
            notice_id=None,
            participant=SimpleNamespace(
                phone=f"+316{offset + i:08d}", phone_confirmed_at=timezone.now(), language="nl"
            ),
        )
        for i in range(n)
    ]


def test_two_workers_at_20_a_second_take_two_seconds_for_40_sms(settings):
    """A real measurement: two threads, each with its own throttle over the shared cache."""
    settings.SMS_BACKEND = "locmem"
    name = _name()
    outcomes: list[Outcome] = []

    def worker(offset: int) -> None:
        gate = throttle.Throttle(name, 20)
        result = deliver_to_phones(
            _rows(20, offset),
            text_for=sms.alert_text,
            send=sms.send_sms,
            deadline=time.monotonic() + 30,
            throttle=gate,
        )
        outcomes.extend(result)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    assert [o.status for o in outcomes] == ["sent"] * 40
    assert elapsed >= 1.9
    assert len({m.to for m in sms.outbox}) == 40  # each once


def test_rows_without_a_place_before_the_deadline_go_back_to_the_queue(
    settings, make_message, make_participant
):
    """The gateway's rate is taken for the next second by other workers: the chunk sends
    nothing, its rows go back to the queue without an attempt counted, and are sent (once)
    when there is room again."""
    settings.SMS_BACKEND = "locmem"
    settings.SMS_GATEWAY_RATE = 5
    message = make_message()
    people = [make_participant(f"+3161111111{i}") for i in range(3)]
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[p.pk for p in people])
    others = throttle.Throttle("sms", 5, sleep=lambda s: None)
    while others.acquire(max_wait=1.0) is not None:
        pass  # other workers take every place of the next second

    claimed = outbox.claim_chunk(message_id=message.pk)
    counts = outbox.send_chunk(claimed, deadline=time.monotonic() + 0.5)

    assert counts == {"retry": 3}
    assert sms.outbox == []
    rows = Delivery.objects.filter(message=message)
    assert {(d.state, d.attempts) for d in rows} == {(Delivery.State.QUEUED, 0)}
    assert all(d.error == "gateway rate reached" for d in rows)

    Delivery.objects.update(next_attempt_at=None)  # their time has come
    time.sleep(1.1)
    claimed = outbox.claim_chunk(message_id=message.pk)
    assert outbox.send_chunk(claimed) == {"sent": 3}
    assert sorted(m.to for m in sms.outbox) == sorted(p.phone for p in people)


def test_notices_share_the_sms_gateways_rate(settings, make_participant):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_GATEWAY_RATE = 10
    participant = make_participant("+31611111111")
    for _ in range(6):
        outbox.enqueue_notice(
            participant_id=participant.pk,
            text="Uw code is 123456",
            expires_at=timezone.now() + timezone.timedelta(minutes=15),
            source="tests.code",
        )
    started = time.monotonic()
    claimed = outbox.claim_chunk(notices=True)
    assert outbox.send_chunk(claimed) == {"sent": 6}
    assert time.monotonic() - started >= 0.45  # six places, 100 ms apart
