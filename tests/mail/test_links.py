"""The signed links in a mailing: a respond link works until the mailing's deadline, an
unsubscribe link for a year; an altered token, or one made for another purpose, never."""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from apps.mail import links
from apps.participants import tokens as participant_tokens
from apps.web.tokens import ExpiredToken, InvalidToken

from .fixtures_public import *  # noqa: F403


def _tamper(token: str) -> str:
    # Change one character of the payload, keep the signature.
    head, rest = token[0], token[1:]
    return ("A" if head != "A" else "B") + rest


def test_it_reads_back_the_mailing_participant_and_deadline(inquiry, participant):
    link = links.read_respond_token(links.make_respond_token(inquiry, participant))
    assert link.mailing_id == inquiry.pk
    assert link.participant_ref == participant.ref
    expected = inquiry.sent_at + timedelta(days=inquiry.response_days)
    assert abs((link.closes_at - expected).total_seconds()) < 1


def test_it_holds_no_database_id_or_address_of_the_participant(inquiry, participant):
    token = links.make_unsubscribe_token(inquiry, participant)
    data = signing.loads(token, salt=links.UNSUBSCRIBE_SALT)
    assert participant.email not in str(data)
    assert data == {"m": inquiry.pk, "p": participant.ref.hex, "e": data["e"]}
    assert data["e"] == participant_tokens.email_digest(participant.email)


def test_it_closes_the_respond_link_after_the_response_days(inquiry, participant):
    inquiry.sent_at = timezone.now() - timedelta(days=15)
    token = links.make_respond_token(inquiry, participant)
    with pytest.raises(ExpiredToken):
        links.read_respond_token(token)


def test_it_keeps_the_respond_link_open_until_the_deadline(inquiry, participant):
    inquiry.sent_at = timezone.now() - timedelta(days=13, hours=23)
    token = links.make_respond_token(inquiry, participant)
    assert links.read_respond_token(token).mailing_id == inquiry.pk
    later = timezone.now() + timedelta(hours=2)
    with pytest.raises(ExpiredToken):
        links.read_respond_token(token, now=later)


@pytest.mark.parametrize("kind", ["respond", "unsubscribe"])
def test_it_rejects_a_tampered_token(inquiry, participant, kind):
    make = getattr(links, f"make_{kind}_token")
    read = getattr(links, f"read_{kind}_token")
    token = make(inquiry, participant)
    for bad in (_tamper(token), token[:-2], token + "x", "", "niet-een-token"):
        with pytest.raises(InvalidToken) as caught:
            read(bad)
        assert not isinstance(caught.value, ExpiredToken)


def test_it_rejects_a_token_made_for_another_purpose(inquiry, participant):
    with pytest.raises(InvalidToken):
        links.read_respond_token(links.make_unsubscribe_token(inquiry, participant))
    with pytest.raises(InvalidToken):
        links.read_unsubscribe_token(links.make_respond_token(inquiry, participant))
    with pytest.raises(InvalidToken):
        links.read_unsubscribe_token(participant_tokens.make_phone_token(participant.ref))


def test_it_rejects_a_signed_payload_of_the_wrong_shape(inquiry, participant):
    token = signing.dumps({"m": inquiry.pk, "p": "geen-uuid", "x": 1}, salt=links.RESPOND_SALT)
    with pytest.raises(InvalidToken):
        links.read_respond_token(token)
    token = signing.dumps(["lijst"], salt=links.UNSUBSCRIBE_SALT)
    with pytest.raises(InvalidToken):
        links.read_unsubscribe_token(token)


def test_it_expires_an_unsubscribe_token_after_a_year(inquiry, participant, monkeypatch):
    token = links.make_unsubscribe_token(inquiry, participant)
    monkeypatch.setattr(links, "UNSUBSCRIBE_MAX_AGE_S", -1)
    with pytest.raises(ExpiredToken):
        links.read_unsubscribe_token(token)


def test_it_makes_absolute_urls_on_site_url(inquiry, participant):
    token = links.make_respond_token(inquiry, participant)
    assert links.respond_url(token) == f"{SITE}/burgernetmail/reageren/{token}/"  # noqa: F405
    token = links.make_unsubscribe_token(inquiry, participant)
    assert links.unsubscribe_url(token) == f"{SITE}/burgernetmail/afmelden/{token}/"  # noqa: F405
    assert links.one_click_unsubscribe_url(token).endswith(f"/afmelden/{token}/een-klik/")
