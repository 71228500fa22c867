"""The SMS sender: one function, `send_sms`, with a backend chosen by settings.SMS_BACKEND.

- "console" writes each message to stdout (development: the code shows in the terminal);
- "locmem" appends it to `outbox` (tests, like django.core.mail.outbox);
- "http" posts JSON {to, from, text} with a bearer token to SMS_GATEWAY_URL.

`SmsSender.deliver` sends the outbox's "sms" deliveries of a message to their
participant's phone, and only to a confirmed one; a notice's (a code, a link: see
models.Notice) it sends with the notice's own text to the number its domain chose.
"""

import logging
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import gsm, texts
from ..throttle import gateway_throttle
from . import http
from .base import Outcome, Reporter, SendError, mask_phone

logger = logging.getLogger(__name__)


class SmsError(SendError):
    """The SMS gateway did not accept the message."""


@dataclass(frozen=True)
class SmsMessage:
    to: str
    sender_id: str
    text: str
    provider_id: str


# Messages "sent" with the locmem backend; tests read and clear this list.
outbox: list[SmsMessage] = []


def send_sms(to: str, text: str) -> str:
    """Send `text` to the E.164 number `to`; return the provider's message id.

    Raises SmsError when the gateway refuses the message or cannot be reached.
    """
    backend = http.phone_backend(
        what="SMS", setting="SMS_BACKEND", backends=_BACKENDS, to=to, text=text
    )
    provider_id = backend(to, text, settings.SMS_SENDER_ID)
    logger.info("sms sent to %s via %s", mask_phone(to), settings.SMS_BACKEND)
    return provider_id


def _console(to: str, text: str, sender_id: str) -> str:
    provider_id = f"console-{uuid.uuid4().hex}"
    sys.stdout.write(f"--- SMS from {sender_id} to {to} ---\n{text}\n---\n")
    sys.stdout.flush()
    return provider_id


def _locmem(to: str, text: str, sender_id: str) -> str:
    provider_id = f"locmem-{uuid.uuid4().hex}"
    outbox.append(SmsMessage(to=to, sender_id=sender_id, text=text, provider_id=provider_id))
    return provider_id


def _http(to: str, text: str, sender_id: str) -> str:
    url = settings.SMS_GATEWAY_URL
    if not url:
        raise ImproperlyConfigured("SMS_GATEWAY_URL must be set for the http SMS backend.")
    timeout = float(settings.SMS_GATEWAY_TIMEOUT)
    return http.post_to_gateway(
        name="SMS gateway",
        url=url,
        token=settings.SMS_GATEWAY_TOKEN,
        payload={"to": to, "from": sender_id, "text": text},
        timeout=timeout,
        error=SmsError,
    )


_BACKENDS = {"console": _console, "locmem": _locmem, "http": _http}


def _link(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def edited_text_fits(text: str, url: str = "") -> bool:
    """Whether an SMS text an operator wrote fits SMS_MAX_PARTS parts with the message's
    link after it, as alert_text sends it (`data["sms"]`)."""
    link = _link(url)
    return bool(text.strip()) and gsm.fits(
        text + (f"\n{link}" if link else ""), settings.SMS_MAX_PARTS
    )


def alert_text(message) -> str:
    """The SMS for an outbox message (a texts.Localized one: in its reader's language; a
    raw one is Dutch): title, text and link, in GSM-7 where an equivalent exists (a
    typographic quote or an ellipsis would make the whole SMS UCS-2: less than half the
    room), shortened so the SMS fits SMS_MAX_PARTS parts as phones count them, by
    importance (texts.shorten): the free description first (`data["shorten_first"]`),
    then what stands before the call line (`data["call"]`), so the call line and the link
    stay; only if that is not enough is the text cut at its end. An SMS text the operator
    edited for this language (`data["sms"]`, checked to fit when it was written) goes as
    it is, with the link. The title is the message's own: the domain that wrote it names
    Burgernet in it, as it does for the push, the call and the e-mail subject."""
    message = texts.as_localized(message)
    url = _link(message.url)
    tail = f"\n{url}" if url else ""
    edited = message.data.get("sms")
    if isinstance(edited, str) and edited.strip():
        return edited + tail
    head = gsm.to_gsm7(f"{message.title}\n")
    limit = settings.SMS_MAX_PARTS
    body = texts.shorten(
        message.body,
        fits=lambda text: gsm.fits(head + text + tail, limit),
        span=message.data.get("shorten_first"),
        call=message.data.get("call", ""),
        ellipsis="...",
        convert=gsm.to_gsm7,
    )
    return head + body + tail if body else head.rstrip()


def deliver_notices(
    deliveries: Sequence, *, deadline: float | None = None, report=None, throttle=None
) -> list[Outcome]:
    """Send each notice's text to its participant's number, one by one, within the
    gateway's rate; each outcome also goes to `report` as it comes. The domain that
    queued the notice chose the number: a confirmation code goes to one not yet
    confirmed."""
    outcomes: list[Outcome] = []
    reporter = Reporter(report)
    gate = http.Gate(throttle, deadline)
    for delivery in deliveries:
        outcomes.append(_deliver_notice(delivery, deadline, gate))
        reporter.add(len(outcomes) - 1, outcomes[-1])
    reporter.flush()
    return outcomes


def _deliver_notice(delivery, deadline: float | None, gate) -> Outcome:
    if deadline is not None and time.monotonic() > deadline:
        return Outcome.skipped()
    participant = delivery.participant
    if participant is None or not participant.phone:
        return Outcome.permanent("no participant")
    if (held := gate.wait()) is not None:
        return held
    return http.send_outcome(
        send_sms, participant.phone, delivery.notice.text, invalid="not an E.164 number, or no text"
    )


class SmsSender:
    kind = "sms"

    def send(self, *, to: str, text: str) -> str:
        return send_sms(to, text)

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report=None
    ) -> list[Outcome]:
        throttle = gateway_throttle(self.kind)
        # The outbox claims notices apart from messages: a chunk is all one or the other.
        if deliveries and deliveries[0].notice_id is not None:
            return deliver_notices(deliveries, deadline=deadline, report=report, throttle=throttle)
        return http.deliver_to_phones(
            deliveries,
            text_for=alert_text,
            send=send_sms,
            deadline=deadline,
            report=report,
            throttle=throttle,
        )
