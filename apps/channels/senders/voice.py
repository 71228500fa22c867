"""The voice sender: a text-to-speech call, with a backend chosen by settings.VOICE_BACKEND.

- "console" writes each call's text to stdout (development);
- "locmem" appends it to `outbox` (tests);
- "http" posts JSON {to, text, language} with a bearer token to VOICE_GATEWAY_URL, a
  voice gateway that calls the number and reads the text out in that language (nl-NL,
  en-GB, de-DE or fr-BE: the reader's).

`VoiceSender.deliver` sends the outbox's "voice" deliveries to their participant's phone,
and only to a confirmed one, within the gateway's rate (throttle.py). What the call reads
out is a script written for the ear (`voice_script`): numbers digit by digit, a licence
plate spelled, no links (nobody can follow a link read out), the call line repeated at
the end, within a length that still gets listened to.
"""

import logging
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .. import texts
from ..throttle import gateway_throttle
from .base import Outcome, SendError, mask_phone
from .http import deliver_to_phones, phone_backend, post_to_gateway

logger = logging.getLogger(__name__)

# About half a minute of speech.
MAX_SPOKEN_CHARS = 400
# The voice the gateway speaks with, per reader language.
LOCALES = {"nl": "nl-NL", "en": "en-GB", "de": "de-DE", "fr": "fr-BE"}
LANGUAGE = LOCALES["nl"]
# What comes before the call line said again at the end of a call.
REPEAT = {"nl": "Ik herhaal:", "en": "I repeat:", "de": "Ich wiederhole:", "fr": "Je répète :"}
_URL = re.compile(r"\s*(?:https?://|www\.)\S+", re.IGNORECASE)
# What is spelled: a Dutch licence plate (three groups of letters or digits, six
# characters in all, with dashes: "AB-123-C", "12-ABC-3"; in capitals without dashes when
# letters and digits take turns in three groups: "AB123C"), and a phone number or another
# long number (three digits or more, or digit groups joined by dashes, or by spaces as in
# "0800 0011"). One pass, so a plate's digits are not read again as a number.
_GROUP = r"(?:[A-Za-z]{1,3}|\d{1,3})"
_SPELLED = re.compile(
    r"(?<![\w-])(?:"
    rf"(?P<plate>(?=[A-Za-z0-9-]{{8}}(?![\w-])){_GROUP}-{_GROUP}-{_GROUP})"
    r"|(?P<bare>(?=[A-Z0-9]{6}(?![\w-]))(?:[A-Z]{1,3}\d{1,3}[A-Z]{1,3}|\d{1,3}[A-Z]{1,3}\d{1,3}))"
    r"|(?P<number>\d+(?:[- ]\d+)*)"
    r")(?![\w-])"
)
_RUNS = re.compile(r"[A-Za-z]+|\d+")


class VoiceError(SendError):
    """The voice gateway did not accept the call."""


@dataclass(frozen=True)
class VoiceCall:
    to: str
    text: str
    provider_id: str
    language: str = LANGUAGE


@dataclass(frozen=True)
class Script:
    """What a call reads out (`text`) and in which voice (`locale`, e.g. "nl-NL")."""

    text: str
    locale: str


# Calls "made" with the locmem backend; tests read and clear this list.
outbox: list[VoiceCall] = []


def spell(groups: list[str]) -> str:
    """Groups of characters said one by one, a pause between the groups:
    ["0800", "0011"] → "0 8 0 0, 0 0 1 1"."""
    return ", ".join(" ".join(group) for group in groups if group)


def _spelled(match: re.Match) -> str:
    if match.group("number") is None:  # a plate
        return spell(_RUNS.findall(match.group(0).upper()))
    groups = re.split(r"[- ]", match.group(0))
    if len(groups) == 1 and len(groups[0]) < 3:
        return match.group(0)  # an age, a count: said as a number
    return spell(groups)


def for_the_ear(text: str) -> str:
    """`text` as text-to-speech should say it: links left out, a licence plate spelled,
    a phone number (any number of three digits or more) said digit by digit."""
    text = _URL.sub("", text)
    text = _SPELLED.sub(_spelled, text)
    return re.sub(r"\s+", " ", text).strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…:" else f"{text}."


def voice_script(message) -> Script:
    """The call for `message` (a texts.Localized one: in its reader's language; a raw one
    is Dutch): title and body for the ear, the call line (`data["call"]`) said again at
    the end, within MAX_SPOKEN_CHARS: the free description is shortened first, then what
    stands before the call line (texts.shorten), never the call line."""
    message = texts.as_localized(message)
    call = message.data.get("call", "")
    title = _sentence(for_the_ear(message.title))
    repeat = f" {REPEAT[message.language]} {for_the_ear(call)}" if call else ""

    def script(body: str) -> str:
        return f"{title} {for_the_ear(body)}".strip() + repeat

    body = texts.shorten(
        message.body,
        fits=lambda text: len(script(text)) <= MAX_SPOKEN_CHARS,
        span=message.data.get("shorten_first"),
        call=call,
    )
    text = script(body)
    if len(text) > MAX_SPOKEN_CHARS:  # a title or call line beyond all measure
        text = texts.shorten_text(text, MAX_SPOKEN_CHARS)
    return Script(text=text, locale=LOCALES[message.language])


def spoken_text(message) -> str:
    """What the call for `message` reads out (voice_script's text)."""
    return voice_script(message).text


def call(to: str, text: str, *, language: str = LANGUAGE) -> str:
    """Have the gateway call the E.164 number `to` and read `text` in `language` (a locale
    of LOCALES); return its call id."""
    backend = phone_backend(
        what="voice", setting="VOICE_BACKEND", backends=_BACKENDS, to=to, text=text
    )
    provider_id = backend(to, text, language)
    logger.info("voice call to %s via %s", mask_phone(to), settings.VOICE_BACKEND)
    return provider_id


def _console(to: str, text: str, language: str) -> str:
    sys.stdout.write(f"--- voice call to {to} ({language}) ---\n{text}\n---\n")
    sys.stdout.flush()
    return f"console-{uuid.uuid4().hex}"


def _locmem(to: str, text: str, language: str) -> str:
    provider_id = f"locmem-{uuid.uuid4().hex}"
    outbox.append(VoiceCall(to=to, text=text, provider_id=provider_id, language=language))
    return provider_id


def _http(to: str, text: str, language: str) -> str:
    if not settings.VOICE_GATEWAY_URL:
        raise ImproperlyConfigured("VOICE_GATEWAY_URL must be set for the http voice backend.")
    return post_to_gateway(
        name="voice gateway",
        url=settings.VOICE_GATEWAY_URL,
        token=settings.VOICE_GATEWAY_TOKEN,
        payload={"to": to, "text": text, "language": language},
        timeout=float(settings.VOICE_GATEWAY_TIMEOUT),
        error=VoiceError,
    )


_BACKENDS = {"console": _console, "locmem": _locmem, "http": _http}


def _send_script(to: str, script: Script) -> str:
    return call(to, script.text, language=script.locale)


class VoiceSender:
    kind = "voice"

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report=None
    ) -> list[Outcome]:
        return deliver_to_phones(
            deliveries,
            text_for=voice_script,
            send=_send_script,
            deadline=deadline,
            report=report,
            throttle=gateway_throttle(self.kind),
        )
