"""Signed, per-recipient links in a mailing: the respond link and the unsubscribe link.

Each purpose has its own salt, so a token made for one is worthless for the other (and for
the registration site's links). Tokens hold the participant's random `ref`, never its
database id or an address (the unsubscribe link names the address it was sent to by a keyed
digest, participants.tokens.email_digest); the mailing's id is no personal data.

- The respond link works until the mailing's respond deadline: `response_days` after it was
  sent. The deadline is written into the token, so every link of a mailing closes at the
  same moment, whenever its chunk went out.
- The unsubscribe link works for a year: mail clients offer the RFC 8058 one-click
  unsubscribe long after the mail arrived.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from apps.participants.tokens import email_digest
from apps.web.tokens import ExpiredToken, InvalidToken, load

RESPOND_SALT = "mail.respond"
UNSUBSCRIBE_SALT = "mail.unsubscribe"

# A respond token is never older than the longest response period (the model allows 90 days)
# plus the time a mailing may take to go out; the deadline inside it decides before that.
RESPOND_MAX_AGE_S = 92 * 24 * 3600
UNSUBSCRIBE_MAX_AGE_S = 365 * 24 * 3600


@dataclass(frozen=True)
class RespondLink:
    mailing_id: int
    participant_ref: uuid.UUID
    closes_at: datetime


@dataclass(frozen=True)
class UnsubscribeLink:
    mailing_id: int
    participant_ref: uuid.UUID
    email_digest: str


def respond_closes_at(mailing) -> datetime:
    """The moment the respond links of a mailing stop working."""
    sent_at = mailing.sent_at or timezone.now()
    return sent_at + timedelta(days=mailing.response_days)


def make_respond_token(mailing, participant, *, closes_at: datetime | None = None) -> str:
    return LinkMaker(mailing, closes_at=closes_at).respond_token(participant)


def read_respond_token(token: str, *, now: datetime | None = None) -> RespondLink:
    """The link's mailing, participant and deadline; ExpiredToken after the deadline,
    InvalidToken for anything not made by make_respond_token."""
    data = load(token, salt=RESPOND_SALT, max_age=RESPOND_MAX_AGE_S)
    try:
        link = RespondLink(
            mailing_id=int(data["m"]),
            participant_ref=uuid.UUID(hex=data["p"]),
            closes_at=datetime.fromtimestamp(int(data["x"]), tz=UTC),
        )
    except (KeyError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken from exc
    if (now or timezone.now()) >= link.closes_at:
        raise ExpiredToken
    return link


def make_unsubscribe_token(mailing, participant) -> str:
    return LinkMaker(mailing).unsubscribe_token(participant)


def read_unsubscribe_token(token: str) -> UnsubscribeLink:
    data = load(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE_S)
    try:
        return UnsubscribeLink(
            mailing_id=int(data["m"]),
            participant_ref=uuid.UUID(hex=data["p"]),
            email_digest=str(data["e"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken from exc


class LinkMaker:
    """Signs the links of one mailing for many recipients: the signers and the address
    prefixes are made once (a mailing's e-mail sender signs thousands per chunk)."""

    _PLACEHOLDER = "TOKEN"

    def __init__(self, mailing, *, closes_at: datetime | None = None):
        self.mailing_id = mailing.pk
        self.closes_at = int((closes_at or respond_closes_at(mailing)).timestamp())
        self.respond_signer = signing.TimestampSigner(salt=RESPOND_SALT)
        self.unsubscribe_signer = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT)
        self.respond_url = _url_maker("mail_public:respond")
        self.unsubscribe_url = _url_maker("mail_public:unsubscribe")
        self.one_click_url = _url_maker("mail_public:unsubscribe_one_click")

    def respond_token(self, participant) -> str:
        payload = {"m": self.mailing_id, "p": participant.ref.hex, "x": self.closes_at}
        return self.respond_signer.sign_object(payload)

    def unsubscribe_token(self, participant) -> str:
        payload = {
            "m": self.mailing_id,
            "p": participant.ref.hex,
            "e": email_digest(participant.email),
        }
        return self.unsubscribe_signer.sign_object(payload)


def _url_maker(name: str):
    """A function token → the absolute address of view `name` with that token."""
    head, tail = reverse(name, kwargs={"token": LinkMaker._PLACEHOLDER}).split(
        LinkMaker._PLACEHOLDER
    )
    prefix = settings.SITE_URL + head
    return lambda token: prefix + token + tail


def respond_url(token: str) -> str:
    return _url_maker("mail_public:respond")(token)


def unsubscribe_url(token: str) -> str:
    """The page behind the visible link: it asks to confirm (GET changes nothing)."""
    return _url_maker("mail_public:unsubscribe")(token)


def one_click_unsubscribe_url(token: str) -> str:
    """The List-Unsubscribe address: mail clients POST `List-Unsubscribe=One-Click` to it."""
    return _url_maker("mail_public:unsubscribe_one_click")(token)
