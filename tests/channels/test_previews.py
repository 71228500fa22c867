"""Each channel's text before release (channels/previews.py): what the senders would send,
made by their own functions, from an unsaved message, without the database."""

import json

import pytest

from apps.channels import gsm, previews, texts
from apps.channels.models import OutgoingMessage
from apps.channels.senders import sms, voice, webpush
from apps.channels.senders.email import compose

CALL = "Gezien? Bel 0800-0011 (bij spoed 112)."


def _unsaved(free: str = "Loopt slecht.", **data) -> OutgoingMessage:
    body = f"Vermist: man (82), kenteken AB-123-C\n{free}\n{CALL}"
    start = body.index(free)
    return OutgoingMessage(
        source="actions.action:1:release",
        title="Burgernet: Vermiste persoon",
        body=body,
        url="/actie/BN-1/",
        topic="burgernet-actie-1",
        data={"shorten_first": [start, start + len(free)], "call": CALL, **data},
    )


def _by_channel(message, language="nl") -> dict:
    return {text["channel"]: text for text in previews.channel_texts(message, language)}


def test_it_previews_every_channel_of_an_unsaved_message_without_the_database():
    # No db fixture: pytest-django makes any query here an error.
    message = _unsaved()
    shown = _by_channel(message)
    assert list(shown) == ["webpush", "sms", "voice", "email"]
    assert message.pk is None


def test_each_preview_is_what_the_sender_sends(settings):
    message = _unsaved("Loopt slecht en is in de war. " * 30)
    shown = _by_channel(message)
    read = texts.localized(message, "nl")

    assert shown["sms"]["text"] == sms.alert_text(read)
    assert shown["sms"]["max_parts"] == settings.SMS_MAX_PARTS
    counted = gsm.segments(shown["sms"]["text"])
    assert (shown["sms"]["parts"], shown["sms"]["encoding"]) == (counted.parts, "GSM-7")
    assert shown["sms"]["parts"] <= settings.SMS_MAX_PARTS
    assert f"{CALL}\n" in shown["sms"]["text"]

    title, body = webpush.notification_text(read)
    assert (shown["webpush"]["title"], shown["webpush"]["body"]) == (title, body)
    assert shown["webpush"]["payload_bytes"] <= webpush.MAX_PAYLOAD_BYTES
    assert shown["webpush"]["body"].endswith(CALL)

    assert shown["voice"]["script"] == voice.voice_script(read).text
    assert shown["voice"]["locale"] == "nl-NL"
    assert "A B, 1 2 3, C" in shown["voice"]["script"]

    content, _ = compose(read)
    assert (shown["email"]["subject"], shown["email"]["body"]) == (content.subject, content.text)
    assert CALL in shown["email"]["body"]


def test_the_push_payload_size_is_the_size_sent():
    message = _unsaved()
    base = webpush.payload_base(message)
    shown = _by_channel(message)["webpush"]
    sent = webpush.payload(base, 123)
    assert shown["payload_bytes"] >= len(sent)  # counted with the largest delivery id
    assert shown["payload_bytes"] - len(sent) < 60
    assert json.loads(sent)["body"] == shown["body"]


def test_a_text_with_a_character_outside_gsm7_is_shown_as_ucs2():
    shown = _by_channel(_unsaved("يرتدي معطفا رماديا"))["sms"]
    assert shown["encoding"] == "UCS-2"
    assert shown["parts"] == gsm.segments(shown["text"]).parts


def test_typography_does_not_make_the_sms_ucs2():
    shown = _by_channel(_unsaved("Hij zegt “thuis” te zoeken… – echt."))["sms"]
    assert shown["encoding"] == "GSM-7"


def test_the_operators_sms_is_shown_as_it_will_go(settings):
    edited = "Vermist: man (82). Bel 0800-0011"
    shown = _by_channel(_unsaved(sms={"nl": edited}))["sms"]
    assert shown["text"] == f"{edited}\n{settings.SITE_URL}/actie/BN-1/"


def test_edited_text_fits_counts_the_link_too(settings):
    settings.SMS_MAX_PARTS = 1
    assert sms.edited_text_fits("Bel 0800-0011", "/actie/BN-1/")
    assert not sms.edited_text_fits("x" * 150, "/actie/BN-1/")
    assert not sms.edited_text_fits("   ", "")


@pytest.mark.parametrize(("language", "expected"), [("en", "en"), ("de", "nl")])
def test_it_previews_a_readers_language_and_says_which_it_is(language, expected):
    message = _unsaved(
        texts={"en": {"title": "Burgernet: Missing person", "body": "Missing.\nSeen? Call 112."}}
    )
    shown = previews.channel_texts(message, language)
    assert {text["language"] for text in shown} == {expected}
    email = shown[-1]
    if expected == "en":
        assert email["subject"] == "Burgernet: Missing person"
        assert shown[2]["locale"] == "en-GB"
    else:
        assert email["subject"] == message.title
