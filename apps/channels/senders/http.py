"""What the phone channels (SMS, voice) share: the checks before a message goes to a
gateway and the choice of its backend, a JSON POST to an HTTP gateway, and the loop that
sends a chunk of deliveries to the participants' confirmed numbers, one by one, each in
its reader's language and within the gateway's rate (throttle.py)."""

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import texts
from ..throttle import MAX_WAIT_S, Throttle
from .base import Outcome, Report, Reporter, SendError

DEFAULT_TIMEOUT_S = 10.0
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def phone_backend(*, what: str, setting: str, backends: dict, to: str, text: str):
    """The backend that sends `text` to `to`, chosen by settings.<setting> among `backends`.

    Raises ValueError when `to` is not an E.164 number or there is no text (`what`, "SMS"
    or "voice", names the channel in the error), ImproperlyConfigured for a backend name
    that is not in `backends`.
    """
    if not E164.match(to):
        raise ValueError(f"{what} recipient must be an E.164 number")
    if not text:
        raise ValueError(f"{what} text is empty")
    name = getattr(settings, setting)
    backend = backends.get(name)
    if backend is None:
        raise ImproperlyConfigured(f"Unknown {setting} {name!r}; use one of {', '.join(backends)}.")
    return backend


def post_to_gateway(
    *, name: str, url: str, token: str, payload: dict, timeout: float, error=SendError
) -> str:
    """POST `payload` as JSON with a bearer token; return the gateway's message id.

    Raises `error` (a SendError) saying whether trying again may help: timeouts, lost
    connections, 429 and 5xx are transient; other answers are not. `name` ("SMS gateway")
    goes into the error; the number and the text never do.
    """
    if not url:
        raise ImproperlyConfigured(f"{name}: no gateway URL is set.")
    try:
        response = requests.post(
            url,
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            allow_redirects=False,  # a redirect is an answer we do not expect, not a path
        )
    except requests.Timeout as exc:
        raise error(f"{name} timed out after {timeout:g}s", transient=True) from exc
    except requests.RequestException as exc:
        # The exception text may carry the URL but never the message: keep only its type.
        raise error(f"{name} unreachable ({type(exc).__name__})", transient=True) from exc
    if not 200 <= response.status_code < 300:
        # The body may echo the number or the text: leave it out of the error.
        transient = response.status_code >= 500 or response.status_code == 429
        raise error(f"{name} answered HTTP {response.status_code}", transient=transient)
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        return ""
    return str(body.get("id") or body.get("message_id") or "")


def deliver_to_phones(
    deliveries: Sequence,
    *,
    text_for: Callable[[texts.Localized], Any],
    send: Callable[[str, Any], str],
    deadline: float | None = None,
    report: Report | None = None,
    throttle: Throttle | None = None,
) -> list[Outcome]:
    """Send each delivery's message in its reader's language (`text_for(localized)`, made
    once per message and language in a chunk) with `send(number, text)` to its
    participant's confirmed phone; each outcome also goes to `report` as it comes (in
    small batches). With a `throttle`, each send waits for its place in the gateway's
    rate; rows it has no place for before the chunk's deadline go back to the queue."""
    made: dict[tuple, Any] = {}
    outcomes: list[Outcome] = []
    reporter = Reporter(report)
    gate = Gate(throttle, deadline)
    for delivery in deliveries:
        outcomes.append(_deliver_one(delivery, made, text_for, send, deadline, gate))
        reporter.add(len(outcomes) - 1, outcomes[-1])
    reporter.flush()
    return outcomes


def _deliver_one(delivery, made, text_for, send, deadline, gate) -> Outcome:
    if deadline is not None and time.monotonic() > deadline:
        return Outcome.skipped()
    participant = delivery.participant
    if participant is None or not participant.phone:
        return Outcome.permanent("no participant")
    if participant.phone_confirmed_at is None:
        return Outcome.permanent("phone not confirmed")
    message = delivery.message
    language = texts.reader_language(participant)
    key = (message.pk, language)
    if key not in made:
        made[key] = text_for(texts.localized(message, language))
    if (held := gate.wait()) is not None:
        return held
    return send_outcome(send, participant.phone, made[key], invalid="not an E.164 number")


class Gate:
    """A chunk's way through its gateway's throttle: once the throttle has no place left
    before the chunk's deadline, the rest of the chunk goes back to the queue at once
    (deferred, no attempt counted) instead of asking again for every row."""

    def __init__(self, throttle: Throttle | None, deadline: float | None):
        self.throttle, self.deadline = throttle, deadline
        self.full = False

    def wait(self) -> Outcome | None:
        """None once the row may be sent; else the outcome that gives it back."""
        if self.throttle is None:
            return None
        if not self.full:
            left = MAX_WAIT_S
            if self.deadline is not None:
                left = min(left, self.deadline - time.monotonic())
            if self.throttle.acquire(max(0.0, left)) is not None:
                return None
            self.full = True
        return Outcome.deferred(MAX_WAIT_S, error="gateway rate reached")


def send_outcome(send: Callable[[str, Any], str], number: str, text, *, invalid: str) -> Outcome:
    """Send `text` to `number` with `send` and say how it went: sent with the gateway's id,
    or failed as the SendError says (transient or not), or for good with `invalid` when
    `send` refused the number or the text (ValueError)."""
    try:
        provider_id = send(number, text)
    except SendError as exc:
        error = str(exc)[:200]
        return Outcome.transient(error) if exc.transient else Outcome.permanent(error)
    except ValueError:
        return Outcome.permanent(invalid)
    return Outcome.sent(provider_id)
