"""The voice sender: a text-to-speech call, with a backend chosen by settings.VOICE_BACKEND.

- "console" writes each call's text to stdout (development);
- "locmem" appends it to `outbox` (tests);
- "http" posts JSON {to, text, language} with a bearer token to VOICE_GATEWAY_URL, a
  voice gateway that calls the number and reads the text out.

`VoiceSender.deliver` sends the outbox's "voice" deliveries to their participant's phone,
and only to a confirmed one. The spoken text is the message's title and body, without
links (nobody can follow a link read out), cut to a length that still gets listened to.
"""

import logging
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Outcome, SendError, mask_phone
from .http import deliver_to_phones, phone_backend, post_to_gateway

logger = logging.getLogger(__name__)

# About half a minute of speech.
MAX_SPOKEN_CHARS = 400
LANGUAGE = "nl-NL"
_URL = re.compile(r"\s*(?:https?://|www\.)\S+", re.IGNORECASE)


class VoiceError(SendError):
    """The voice gateway did not accept the call."""


@dataclass(frozen=True)
class VoiceCall:
    to: str
    text: str
    provider_id: str


# Calls "made" with the locmem backend; tests read and clear this list.
outbox: list[VoiceCall] = []


def spoken_text(message) -> str:
    """What the call reads out: title and body, links left out, shortened at a word."""
    text = f"{message.title.strip()}. {message.body.strip()}"
    text = _URL.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_SPOKEN_CHARS:
        cut = text[:MAX_SPOKEN_CHARS].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:") + " …"
    return text


def call(to: str, text: str) -> str:
    """Have the gateway call the E.164 number `to` and read `text`; return its call id."""
    backend = phone_backend(
        what="voice", setting="VOICE_BACKEND", backends=_BACKENDS, to=to, text=text
    )
    provider_id = backend(to, text)
    logger.info("voice call to %s via %s", mask_phone(to), settings.VOICE_BACKEND)
    return provider_id


def _console(to: str, text: str) -> str:
    sys.stdout.write(f"--- voice call to {to} ---\n{text}\n---\n")
    sys.stdout.flush()
    return f"console-{uuid.uuid4().hex}"


def _locmem(to: str, text: str) -> str:
    provider_id = f"locmem-{uuid.uuid4().hex}"
    outbox.append(VoiceCall(to=to, text=text, provider_id=provider_id))
    return provider_id


def _http(to: str, text: str) -> str:
    if not settings.VOICE_GATEWAY_URL:
        raise ImproperlyConfigured("VOICE_GATEWAY_URL must be set for the http voice backend.")
    return post_to_gateway(
        name="voice gateway",
        url=settings.VOICE_GATEWAY_URL,
        token=settings.VOICE_GATEWAY_TOKEN,
        payload={"to": to, "text": text, "language": LANGUAGE},
        timeout=float(settings.VOICE_GATEWAY_TIMEOUT),
        error=VoiceError,
    )


_BACKENDS = {"console": _console, "locmem": _locmem, "http": _http}


class VoiceSender:
    kind = "voice"

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report=None
    ) -> list[Outcome]:
        return deliver_to_phones(
            deliveries, text_for=spoken_text, send=call, deadline=deadline, report=report
        )
