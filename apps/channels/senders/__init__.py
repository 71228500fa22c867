"""The senders, one per channel kind, behind one small interface (see base.Sender).

Adding a channel adds one module here and one line to SENDERS.
"""

from .base import Outcome, Sender, SendError, TextSender, mask_phone
from .email import EmailSender
from .sms import SmsError, SmsSender, send_sms
from .voice import VoiceError, VoiceSender
from .webhook import WebhookSender
from .webpush import WebPushSender

SENDERS: dict[str, Sender] = {
    SmsSender.kind: SmsSender(),
    WebPushSender.kind: WebPushSender(),
    VoiceSender.kind: VoiceSender(),
    EmailSender.kind: EmailSender(),
    WebhookSender.kind: WebhookSender(),
}


def get_sender(kind: str) -> Sender:
    """The sender for a channel kind; KeyError for a kind without one."""
    return SENDERS[kind]


__all__ = [
    "SENDERS",
    "EmailSender",
    "Outcome",
    "SendError",
    "Sender",
    "SmsError",
    "TextSender",
    "VoiceError",
    "VoiceSender",
    "get_sender",
    "mask_phone",
    "send_sms",
]
