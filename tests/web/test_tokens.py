"""The one reader of signed tokens (web/tokens.py), used by the registration site's links
and a mailing's links alike."""

import pytest
from django.core import signing

from apps.mail import links
from apps.participants import tokens as participant_tokens
from apps.web import tokens

SALT = "tests.web"
HOUR = 3600  # the tokens below are made when the tests are collected, maybe a minute ago


def test_it_reads_back_the_signed_object():
    token = signing.dumps({"a": 1}, salt=SALT)
    assert tokens.load(token, salt=SALT, max_age=HOUR) == {"a": 1}


def test_an_old_token_is_expired_and_so_invalid():
    token = signing.dumps({"a": 1}, salt=SALT)
    with pytest.raises(tokens.ExpiredToken) as caught:
        tokens.load(token, salt=SALT, max_age=-1)
    assert isinstance(caught.value, tokens.InvalidToken)


@pytest.mark.parametrize(
    "token",
    [
        signing.dumps({"a": 1}, salt="another purpose"),
        signing.dumps({"a": 1}, salt=SALT)[:-2],
        signing.dumps(["not", "an", "object"], salt=SALT),
        signing.dumps("text", salt=SALT),
        "",
        "geen-token",
    ],
)
def test_anything_else_is_invalid_not_expired(token):
    with pytest.raises(tokens.InvalidToken) as caught:
        tokens.load(token, salt=SALT, max_age=HOUR)
    assert not isinstance(caught.value, tokens.ExpiredToken)


def test_both_kinds_of_links_raise_its_errors():
    assert participant_tokens.InvalidToken is tokens.InvalidToken
    assert participant_tokens.ExpiredToken is tokens.ExpiredToken
    with pytest.raises(tokens.InvalidToken):
        participant_tokens.read_phone_token("geen-token")
    with pytest.raises(tokens.InvalidToken):
        links.read_unsubscribe_token("geen-token")
