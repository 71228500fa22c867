"""The address a link names (the e-mail confirmation link, a mailing's unsubscribe link) is
a keyed digest: a signed token is readable, and a plain hash of an address could be tested
against guessed addresses by whoever holds the link."""

import hashlib

from django.core import signing

from apps.mail import links
from apps.participants import tokens

EMAIL = "iemand@example.org"


def test_the_digest_is_keyed_not_a_plain_hash(settings):
    plain = hashlib.sha256(EMAIL.encode()).hexdigest()[:24]
    digest = tokens.email_digest(EMAIL)
    assert digest != plain
    assert len(digest) == 24
    settings.SECRET_KEY = "een-andere-geheime-sleutel-" + "x" * 30
    assert tokens.email_digest(EMAIL) != digest


def test_the_digest_names_the_address_however_it_is_written():
    assert tokens.email_digest("  Iemand@Example.org ") == tokens.email_digest(EMAIL)
    assert tokens.email_digest("iemand.anders@example.org") != tokens.email_digest(EMAIL)


def test_the_confirmation_token_carries_no_plain_hash_of_the_address(db):
    import uuid

    token = tokens.make_email_token(uuid.uuid4(), EMAIL)
    data = signing.loads(token, salt=tokens.EMAIL_SALT)
    assert data["e"] == tokens.email_digest(EMAIL)
    assert hashlib.sha256(EMAIL.encode()).hexdigest()[:24] not in token + str(data)


def test_the_unsubscribe_token_carries_no_plain_hash_of_the_address(db):
    import uuid
    from types import SimpleNamespace

    mailing = SimpleNamespace(pk=7, sent_at=None, response_days=14)
    participant = SimpleNamespace(ref=uuid.uuid4(), email=EMAIL)
    data = signing.loads(
        links.make_unsubscribe_token(mailing, participant), salt=links.UNSUBSCRIBE_SALT
    )
    assert data["e"] == tokens.email_digest(EMAIL)
    assert data["e"] != hashlib.sha256(EMAIL.encode()).hexdigest()[:24]
