"""Each channel's text of a message exactly as it would be sent, for the operator to see
before release: made by the senders' own functions (one source of truth), from a message
that need not be saved (nothing is read from or written to the database)."""

from django.conf import settings

from . import gsm, texts
from .models import Channel
from .senders import email as email_sender
from .senders import sms, voice, webpush

ENCODINGS = {"gsm7": "GSM-7", "ucs2": "UCS-2"}
# A delivery id as large as one gets: the push payload's size is its size at the most.
_PREVIEW_DELIVERY = 10**19


def channel_texts(message, language: str = texts.DEFAULT_LANGUAGE) -> list[dict]:
    """Per channel (web push, SMS, voice, e-mail) what a reader of `language` would get of
    `message` (an OutgoingMessage, saved or not): `channel` and its label, and

    - webpush: `title`, `body` and `payload_bytes` (the JSON before encryption);
    - sms: `text`, `parts`, `encoding` ("GSM-7" or "UCS-2"), `units` and `max_parts`;
    - voice: `script` and `locale` (the voice it is spoken in);
    - email: `subject` and `body` (the plain text).

    Each also has `language`, the language the text is in (Dutch where the message was
    not written in `language`)."""
    localized = texts.localized(message, language)
    base = webpush.payload_base(localized)
    push = webpush.payload(base, _PREVIEW_DELIVERY)
    sms_text = sms.alert_text(localized)
    counted = gsm.segments(sms_text)
    script = voice.voice_script(localized)
    content, _ = email_sender.compose(localized)
    common = {"language": localized.language}
    return [
        {
            "channel": Channel.WEBPUSH.value,
            "label": str(Channel.WEBPUSH.label),
            "title": base["title"],
            "body": base["body"],
            "payload_bytes": len(push),
            **common,
        },
        {
            "channel": Channel.SMS.value,
            "label": str(Channel.SMS.label),
            "text": sms_text,
            "parts": counted.parts,
            "encoding": ENCODINGS[counted.encoding],
            "units": counted.units,
            "max_parts": settings.SMS_MAX_PARTS,
            **common,
        },
        {
            "channel": Channel.VOICE.value,
            "label": str(Channel.VOICE.label),
            "script": script.text,
            "locale": script.locale,
            **common,
        },
        {
            "channel": Channel.EMAIL.value,
            "label": str(Channel.EMAIL.label),
            "subject": content.subject,
            "body": content.text,
            **common,
        },
    ]
