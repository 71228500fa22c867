"""The voice script, written for text-to-speech: numbers digit by digit, a licence plate
spelled, no links, the call line said again at the end in the reader's language, within
MAX_SPOKEN_CHARS; and the gateway told which voice to speak with."""

from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.channels import texts
from apps.channels.models import OutgoingMessage
from apps.channels.senders import voice

CALL = "Gezien? Bel 0800-0011 (bij spoed 112)."


@pytest.fixture(autouse=True)
def _empty_calls():
    voice.outbox.clear()
    yield
    voice.outbox.clear()


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Bel 0800-0011.", "Bel 0 8 0 0, 0 0 1 1."),
        ("Bij spoed 112.", "Bij spoed 1 1 2."),
        ("Bel 06 12345678", "Bel 0 6, 1 2 3 4 5 6 7 8"),
        ("Auto met kenteken AB-123-C.", "Auto met kenteken A B, 1 2 3, C."),
        ("Kenteken 12-ABC-3", "Kenteken 1 2, A B C, 3"),
        ("kenteken gx-12-ab", "kenteken G X, 1 2, A B"),
        ("Een auto AB123C gezien", "Een auto A B, 1 2 3, C gezien"),
        ("Kenteken 1ABC23", "Kenteken 1, A B C, 2 3"),
    ],
)
def test_it_reads_numbers_digit_by_digit_and_spells_a_plate(text, spoken):
    assert voice.for_the_ear(text) == spoken


@pytest.mark.parametrize(
    "text",
    ["Man (82), 1,80 m lang", "Om 14.30 uur", "COVID19 en MH17", "ABCDEF", "2 jaar oud"],
)
def test_it_leaves_ages_times_and_words_as_they_are(text):
    assert voice.for_the_ear(text) == text


def test_it_leaves_links_out():
    spoken = voice.for_the_ear("Zie https://burgernet.nl/actie/1 of www.burgernet.nl voor meer.")
    assert spoken == "Zie of voor meer."


def _message(body: str, *, free: str = "", **data) -> OutgoingMessage:
    span = {}
    if free:
        start = body.index(free)
        span = {"shorten_first": [start, start + len(free)]}
    return OutgoingMessage(
        title="Burgernet: Vermist", body=body, url="/actie/1/", data={"call": CALL, **span, **data}
    )


def test_it_says_the_call_line_again_at_the_end():
    script = voice.voice_script(_message(f"Man (82), grijze jas.\n{CALL}"))
    assert script.text == (
        "Burgernet: Vermist. Man (82), grijze jas. Gezien? Bel 0 8 0 0, 0 0 1 1 (bij spoed 1 1 2)."
        " Ik herhaal: Gezien? Bel 0 8 0 0, 0 0 1 1 (bij spoed 1 1 2)."
    )
    assert script.locale == "nl-NL"


@pytest.mark.parametrize(
    ("language", "repeat", "locale"),
    [
        ("en", "I repeat:", "en-GB"),
        ("de", "Ich wiederhole:", "de-DE"),
        ("fr", "Je répète :", "fr-BE"),
    ],
)
def test_it_speaks_the_readers_language(language, repeat, locale):
    call = {"en": "Seen? Call 0800-0011.", "de": "Gesehen? 0800-0011.", "fr": "Vu? 0800-0011."}
    message = _message(
        f"Man.\n{CALL}",
        texts={
            language: {
                "title": "Burgernet",
                "body": f"Man.\n{call[language]}",
                "call": call[language],
            }
        },
    )
    script = voice.voice_script(texts.localized(message, language))
    assert script.locale == locale
    assert script.text.endswith(f"{repeat} {voice.for_the_ear(call[language])}")


def test_a_long_description_gives_way_and_the_call_line_stays_twice():
    free = "Hij draagt een grijze jas en loopt met een stok, is in de war. " * 20
    script = voice.voice_script(
        _message(f"Man (82), kenteken AB-123-C.\n{free}\n{CALL}", free=free)
    )
    assert len(script.text) <= voice.MAX_SPOKEN_CHARS
    assert "A B, 1 2 3, C" in script.text  # the signalement stays
    assert script.text.count("Gezien? Bel 0 8 0 0, 0 0 1 1 (bij spoed 1 1 2).") == 2
    assert "…" in script.text


def test_a_long_text_without_a_named_description_still_keeps_the_call_line():
    body = "يرتدي معطفا رماديا 🚓 " * 40 + f"\n{CALL}"
    script = voice.voice_script(_message(body))
    assert len(script.text) <= voice.MAX_SPOKEN_CHARS
    assert script.text.endswith("Ik herhaal: Gezien? Bel 0 8 0 0, 0 0 1 1 (bij spoed 1 1 2).")
    assert script.text.count("Gezien?") == 2


def test_the_gateway_is_told_the_readers_voice(settings, voice_gateway):
    settings.VOICE_GATEWAY_RATE = 0
    message = _message(
        f"Man.\n{CALL}",
        texts={"en": {"title": "Burgernet: Missing", "body": "Man.\nSeen? Call 0800-0011."}},
    )
    message.pk = 3
    rows = [
        SimpleNamespace(
            pk=pk,
            message=message,
            notice_id=None,
            participant=SimpleNamespace(
                phone=f"+3161234567{pk}", phone_confirmed_at=timezone.now(), language=language
            ),
        )
        for pk, language in enumerate(["en", "fr"])
    ]
    outcomes = voice.VoiceSender().deliver(rows)
    assert [o.status for o in outcomes] == ["sent", "sent"]
    sent = [r["json"] for r in voice_gateway.requests]
    assert [s["language"] for s in sent] == ["en-GB", "nl-NL"]  # no French text: Dutch
    assert sent[0]["text"].startswith("Burgernet: Missing. Man. Seen? Call 0 8 0 0, 0 0 1 1.")


@pytest.fixture
def voice_gateway(settings):
    from .conftest import FakeGateway

    fake = FakeGateway()
    settings.VOICE_BACKEND = "http"
    settings.VOICE_GATEWAY_URL = fake.url
    settings.VOICE_GATEWAY_TOKEN = "voice-token"
    settings.VOICE_GATEWAY_TIMEOUT = 2.0
    yield fake
    fake.close()
