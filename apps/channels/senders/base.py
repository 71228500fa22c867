"""What every sender shares: the interfaces, the error, the outcome, a masked address."""

from collections.abc import Sequence
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


class Sender(Protocol):
    """One channel's way out, as the outbox uses it: deliver a chunk of deliveries.

    `deliveries` come with their message, device and participant loaded; the answer holds
    one Outcome per delivery, in the same order. Deliveries not started before `deadline`
    (time.monotonic()) are returned as skipped.
    """

    kind: str

    def deliver(
        self, deliveries: Sequence["Delivery"], *, deadline: float | None = None
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
