"""Signed tokens in the links that are sent or shown to citizens.

Each kind has its own salt, so a token made for one purpose is worthless for another, and
its own maximum age; apps/web/tokens.py reads them all. Tokens hold random handles, never
a database id or a phone number.
"""

import secrets
import uuid

from django.core import signing
from django.utils.crypto import salted_hmac

# The one reader of signed tokens; its errors are named here too (the views catch them here).
from apps.web.tokens import ExpiredToken as ExpiredToken
from apps.web.tokens import InvalidToken, load

PHONE_SALT = "participants.confirm-phone"
EMAIL_SALT = "participants.confirm-email"
MANAGE_SALT = "participants.manage-link"

PHONE_MAX_AGE_S = 24 * 3600  # the code-entry page of a registration
EMAIL_MAX_AGE_S = 3 * 24 * 3600  # the double opt-in link in the e-mail
MANAGE_MAX_AGE_S = 30 * 60  # the one-time manage link


def make_phone_token(ref: uuid.UUID) -> str:
    return signing.dumps({"r": str(ref)}, salt=PHONE_SALT)


def read_phone_token(token: str) -> uuid.UUID:
    data = load(token, salt=PHONE_SALT, max_age=PHONE_MAX_AGE_S)
    try:
        return uuid.UUID(data["r"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken from exc


EMAIL_DIGEST_SALT = "participants.email-digest"


def email_digest(email: str) -> str:
    """Names the e-mail address a link confirms (the confirmation link, a mailing's
    unsubscribe link) without putting it in the link. A signed token is readable, so the
    name is keyed (an HMAC with a key derived from SECRET_KEY): whoever holds a link cannot
    test guessed addresses against it, as they could against a plain hash."""
    normalised = email.strip().lower()
    return salted_hmac(EMAIL_DIGEST_SALT, normalised, algorithm="sha256").hexdigest()[:24]


def make_email_token(ref: uuid.UUID, email: str) -> str:
    return signing.dumps({"r": str(ref), "e": email_digest(email)}, salt=EMAIL_SALT)


def read_email_token(token: str) -> tuple[uuid.UUID, str]:
    """The participant's ref and the digest of the e-mail address the link confirms."""
    data = load(token, salt=EMAIL_SALT, max_age=EMAIL_MAX_AGE_S)
    try:
        return uuid.UUID(data["r"]), str(data["e"])
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidToken from exc


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def make_manage_token(nonce: str) -> str:
    return signing.dumps({"n": nonce}, salt=MANAGE_SALT)


def read_manage_token(token: str) -> str:
    data = load(token, salt=MANAGE_SALT, max_age=MANAGE_MAX_AGE_S)
    nonce = data.get("n")
    if not isinstance(nonce, str) or not nonce:
        raise InvalidToken
    return nonce
