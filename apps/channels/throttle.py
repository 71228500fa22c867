"""How fast the outbox may hand messages to a gateway: a rate per gateway (SMS_GATEWAY_RATE,
VOICE_GATEWAY_RATE messages a second), shared by every outbox worker on every host.

Time is cut into slots of 1/rate seconds (at least SLOT_MIN_S; a slot then admits more
than one). A sender takes a place in the first slot from now that still has room: one
atomic increment of that slot's count in Django's cache (Redis in production, shared by
all hosts; `web/checks.py` warns when it is not), and waits for the slot to begin. So
however many workers send, the gateway gets at most `rate` a second, spread over the
second rather than in bursts. The slots are counted on the wall clock, the one clock the
hosts share (kept by NTP); tests give a clock and a sleep of their own.

A sender that finds no room within the wait it may afford (the rest of its chunk, at most
MAX_WAIT_S) does not send: it gives the row back to the queue, due after that wait,
without counting an attempt (Outcome.deferred). Nothing is sent twice or lost: a place in a
slot is taken before the send, and the row's fate is written back as always.
"""

import math
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache as default_cache

SLOT_MIN_S = 0.01
# The furthest ahead a sender looks for room; beyond it the row goes back to the queue.
MAX_WAIT_S = 1.0
RATE_SETTINGS = {"sms": "SMS_GATEWAY_RATE", "voice": "VOICE_GATEWAY_RATE"}


class Throttle:
    """At most `rate` sends a second to gateway `name`, across every process that shares
    `cache` and a clock."""

    def __init__(
        self,
        name: str,
        rate: float,
        *,
        cache=None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            raise ValueError("a throttle needs a rate above 0")
        self.name = name
        self.rate = float(rate)
        self.slot_s = max(1.0 / self.rate, SLOT_MIN_S)
        self.per_slot = max(1, round(self.rate * self.slot_s))
        self.cache = cache or default_cache
        self.clock = clock
        self.sleep = sleep
        self._timeout = math.ceil(MAX_WAIT_S + 2 * self.slot_s) + 2

    def acquire(self, max_wait: float = MAX_WAIT_S) -> float | None:
        """Take a place in the first slot with room within `max_wait` seconds and wait for
        it to begin; the seconds waited. None, without a place or a wait, when every slot
        until then is full."""
        now = self.clock()
        first = math.floor(now / self.slot_s)
        last = math.floor((now + max(0.0, min(max_wait, MAX_WAIT_S))) / self.slot_s)
        for slot in range(first, last + 1):
            if self._take(slot):
                wait = max(0.0, slot * self.slot_s - now)
                if wait > 0:
                    self.sleep(wait)
                return wait
        return None

    def _take(self, slot: int) -> bool:
        key = f"channels:throttle:{self.name}:{slot}"
        if self.cache.add(key, 1, timeout=self._timeout):
            return True
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add and incr: a slot long past
            return False
        return count <= self.per_slot


def gateway_throttle(kind: str) -> Throttle | None:
    """The throttle of the gateway channel `kind` ("sms", "voice") as the settings say;
    None when its rate is 0 (unlimited) or the channel has no gateway rate."""
    setting = RATE_SETTINGS.get(kind)
    rate = float(getattr(settings, setting, 0) or 0) if setting else 0.0
    return Throttle(kind, rate) if rate > 0 else None
