"""What the phone channels (SMS, voice) share: the checks before a message goes to a
gateway and the choice of its backend, a JSON POST to an HTTP gateway, and the loop that
sends a chunk of deliveries to the participants' confirmed numbers, one by one."""

import re
import time
from collections.abc import Callable, Sequence

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

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
    text_for: Callable[[object], str],
    send: Callable[[str, str], str],
    deadline: float | None = None,
    report: Report | None = None,
) -> list[Outcome]:
    """Send each delivery's message (`text_for(message)`, made once per message) with
    `send(number, text)` to its participant's confirmed phone; each outcome also goes to
    `report` as it comes (in small batches)."""
    texts: dict[int, str] = {}
    outcomes: list[Outcome] = []
    reporter = Reporter(report)
    for delivery in deliveries:
        outcomes.append(_deliver_one(delivery, texts, text_for, send, deadline))
        reporter.add(len(outcomes) - 1, outcomes[-1])
    reporter.flush()
    return outcomes


def _deliver_one(delivery, texts: dict[int, str], text_for, send, deadline) -> Outcome:
    if deadline is not None and time.monotonic() > deadline:
        return Outcome.skipped()
    participant = delivery.participant
    if participant is None or not participant.phone:
        return Outcome.permanent("no participant")
    if participant.phone_confirmed_at is None:
        return Outcome.permanent("phone not confirmed")
    message = delivery.message
    if message.pk not in texts:
        texts[message.pk] = text_for(message)
    return send_outcome(send, participant.phone, texts[message.pk], invalid="not an E.164 number")


def send_outcome(
    send: Callable[[str, str], str], number: str, text: str, *, invalid: str
) -> Outcome:
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
