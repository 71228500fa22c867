"""What every sender shares: the interface, the error, and a masked form of an address."""

from typing import Protocol


class SendError(Exception):
    """A message could not be handed to the provider.

    `transient` says whether trying again later may succeed (a timeout, a 5xx) or not
    (a refused number, bad credentials); the delivery outbox retries only transient errors.
    """

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


class Sender(Protocol):
    """One channel's way out: hand one text to one recipient, return the provider's id."""

    kind: str

    def send(self, *, to: str, text: str) -> str: ...


def mask_phone(number: str) -> str:
    """A phone number fit for logs: country code and the last two digits only."""
    if len(number) <= 6:
        return "*" * len(number)
    head = 3 if number.startswith("+") else 0
    return number[:head] + "*" * (len(number) - head - 2) + number[-2:]
