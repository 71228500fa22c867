"""What every sender shares: the interfaces, the error, the outcome, the reporter of
results as they come, a masked address."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..models import Delivery


class SendError(Exception):
    """A message could not be handed to the provider.

    `transient` says whether trying again later may succeed (a timeout, a 5xx) or not
    (a refused number, bad credentials); the delivery outbox retries only transient errors.
    """

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery: the outbox writes it back to the row.

    `error` is short and holds no personal data (no number, no endpoint, no text).
    """

    SENT = "sent"
    TRANSIENT = "transient"  # try again later (timeout, 429, 5xx)
    PERMANENT = "permanent"  # never (refused, invalid)
    GONE = "gone"  # the address no longer exists (push 404/410): forget the device
    SKIPPED = "skipped"  # not attempted (the chunk ran out of time): back to the queue
    # Not attempted: the service asked us to hold off (Retry-After, a run of 5xx); back
    # to the queue, due after `retry_after` seconds, without counting as an attempt.
    DEFERRED = "deferred"

    status: str
    provider_id: str = ""
    error: str = ""
    retry_after: float | None = None  # seconds the provider asked us to wait

    @classmethod
    def sent(cls, provider_id: str = "") -> "Outcome":
        return cls(cls.SENT, provider_id=provider_id)

    @classmethod
    def transient(cls, error: str, *, retry_after: float | None = None) -> "Outcome":
        return cls(cls.TRANSIENT, error=error, retry_after=retry_after)

    @classmethod
    def permanent(cls, error: str) -> "Outcome":
        return cls(cls.PERMANENT, error=error)

    @classmethod
    def gone(cls, error: str = "subscription gone") -> "Outcome":
        return cls(cls.GONE, error=error)

    @classmethod
    def skipped(cls) -> "Outcome":
        return cls(cls.SKIPPED, error="not attempted")

    @classmethod
    def deferred(cls, seconds: float, error: str = "push service paused") -> "Outcome":
        return cls(cls.DEFERRED, error=error, retry_after=max(0.0, seconds))


# What a sender hands back as results come in: (position in the chunk, outcome) pairs.
# Called with an empty list now and then while nothing comes, so the caller can keep its
# claim alive (see outbox.send_chunk).
Report = Callable[[list[tuple[int, "Outcome"]]], None]

REPORT_EVERY = 50  # outcomes
REPORT_INTERVAL_S = 0.25


class Reporter:
    """Hands outcomes to `report` in small batches: every REPORT_EVERY outcomes, or when
    REPORT_INTERVAL_S has passed since the last call (`tick()` also calls it, empty).

    The outbox writes each batch back at once, so a worker killed mid-chunk repeats at most
    a batch and what is in flight, not the whole chunk.
    """

    def __init__(self, report: Report | None, *, every: int = REPORT_EVERY):
        self._report = report
        self._every = every
        self._pending: list[tuple[int, Outcome]] = []
        self._last = time.monotonic()

    def add(self, position: int, outcome: Outcome) -> None:
        if self._report is None:
            return
        self._pending.append((position, outcome))
        if len(self._pending) >= self._every:
            self.flush()
        else:
            self.tick()

    def tick(self) -> None:
        if self._report is not None and time.monotonic() - self._last >= REPORT_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if self._report is None:
            return
        batch, self._pending = self._pending, []
        self._last = time.monotonic()
        self._report(batch)


class Sender(Protocol):
    """One channel's way out, as the outbox uses it: deliver a chunk of deliveries.

    `deliveries` come with their message, device and participant loaded; the answer holds
    one Outcome per delivery, in the same order. Deliveries not started before `deadline`
    (time.monotonic()) are returned as skipped. Where `report` is given, outcomes are also
    handed to it as they come (through a Reporter), so they can be written back during the
    chunk; every outcome is still in the answer.
    """

    kind: str

    def deliver(
        self,
        deliveries: Sequence["Delivery"],
        *,
        deadline: float | None = None,
        report: Report | None = None,
    ) -> list[Outcome]: ...


class TextSender(Protocol):
    """A channel that can also send one text to one address directly (SMS codes)."""

    kind: str

    def send(self, *, to: str, text: str) -> str: ...


def mask_phone(number: str) -> str:
    """A phone number fit for logs: country code and the last two digits only."""
    if len(number) <= 6:
        return "*" * len(number)
    head = 3 if number.startswith("+") else 0
    return number[:head] + "*" * (len(number) - head - 2) + number[-2:]
