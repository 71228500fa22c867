"""Reading the signed tokens in the links sent or shown to citizens (the registration
site's links, a mailing's respond and unsubscribe links).

Each kind of token has its own salt, so a token made for one purpose is worthless for
another, and its own maximum age; the apps that make them say both. A token holds a small
JSON object.
"""

from django.core import signing


class InvalidToken(Exception):
    """A token that was altered, made for another purpose, or is malformed."""


class ExpiredToken(InvalidToken):
    """A genuine token past its maximum age (or past a deadline written in it)."""


def load(token: str, *, salt: str, max_age: int) -> dict:
    """The object signed into `token` with `salt`, if no older than `max_age` seconds.
    ExpiredToken when it is older, InvalidToken for anything else that is not such an
    object."""
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ExpiredToken from exc
    except signing.BadSignature as exc:
        raise InvalidToken from exc
    if not isinstance(data, dict):
        raise InvalidToken
    return data
