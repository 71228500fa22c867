"""The reader's language on the sending side (channels/texts.py): which language a
recipient reads, the message in it (Dutch where it was not written in it), shortening by
importance, and every sender rendering each recipient's language, whatever the operator's."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from apps.channels import gsm, outbox, texts
from apps.channels.models import Channel, OutgoingMessage
from apps.channels.senders import email as email_sender
from apps.channels.senders import sms, voice, webpush
from apps.channels.senders.http import deliver_to_phones

CALL_NL = "Gezien? Bel 0800-0011 (bij spoed 112)."
CALL_EN = "Seen? Call 0800-0011 (emergency 112)."


def alert(**fields) -> OutgoingMessage:
    """An unsaved alert with a Dutch and an English text, each with its free description
    and call line named, and an operator's English SMS."""
    free_nl = "Loopt slecht en is in de war."
    free_en = "Walks with difficulty and is confused."
    body_nl = f"Vermist: man (82), grijze jas\n{free_nl}\n{CALL_NL}"
    body_en = f"Missing: man (82), grey coat\n{free_en}\n{CALL_EN}"
    start_nl, start_en = body_nl.index(free_nl), body_en.index(free_en)
    fields.setdefault("data", {})
    fields["data"] = {
        "action": "BN-1",
        "shorten_first": [start_nl, start_nl + len(free_nl)],
        "call": CALL_NL,
        "texts": {
            "en": {
                "title": "Burgernet: Missing person",
                "body": body_en,
                "shorten_first": [start_en, start_en + len(free_en)],
                "call": CALL_EN,
            }
        },
        **fields["data"],
    }
    fields.setdefault("title", "Burgernet: Vermiste persoon")
    fields.setdefault("body", body_nl)
    fields.setdefault("url", "/actie/BN-1/")
    fields.setdefault("source", "tests.channels:1:release")
    return OutgoingMessage(**fields)


# Which language a recipient reads --------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "en"), ("EN-gb", "en"), ("de", "de"), ("fr_BE", "fr"), ("es", "nl"), ("", "nl")],
)
def test_it_reads_the_recipients_language_and_defaults_to_dutch(language, expected):
    assert texts.reader_language(SimpleNamespace(language=language)) == expected


def test_a_recipient_without_a_language_reads_dutch():
    assert texts.reader_language(SimpleNamespace()) == "nl"
    assert texts.reader_language(None) == "nl"
    assert texts.reader_language(SimpleNamespace(language=None)) == "nl"


# The message in a language ------------------------------------------------------------------


def test_it_gives_the_text_written_in_the_readers_language():
    message = alert()
    english = texts.localized(message, "en")
    assert english.language == "en"
    assert english.title == "Burgernet: Missing person"
    assert english.body.endswith(CALL_EN)
    assert english.data["call"] == CALL_EN
    start, end = english.data["shorten_first"]
    assert english.body[start:end] == "Walks with difficulty and is confused."
    # The rest of the message is the message's own.
    assert english.url == message.url and english.source == message.source
    assert english.data["action"] == "BN-1"
    assert "texts" not in english.data


@pytest.mark.parametrize("language", ["de", "fr", "nl", "xx"])
def test_it_falls_back_to_dutch_where_the_message_was_not_written_in_that_language(language):
    message = alert()
    read = texts.localized(message, language)
    assert (read.language, read.title, read.body) == ("nl", message.title, message.body)
    assert read.data["call"] == CALL_NL
    assert read.data["shorten_first"] == tuple(message.data["shorten_first"])


def test_a_span_that_does_not_fit_its_text_is_ignored():
    message = alert(data={"shorten_first": [5, 100_000]})
    assert texts.localized(message, "nl").data["shorten_first"] is None


def test_a_localized_message_is_read_only():
    read = texts.localized(alert(), "en")
    with pytest.raises(AttributeError):
        read.body = "other"
    with pytest.raises(TypeError):
        read.data["call"] = "other"


def test_it_carries_the_operators_sms_for_that_language_only():
    message = alert(data={"sms": {"nl": "Vermist: man (82). Bel 0800-0011"}})
    assert texts.localized(message, "nl").data["sms"] == "Vermist: man (82). Bel 0800-0011"
    assert "sms" not in texts.localized(message, "en").data


# Shortening by importance -------------------------------------------------------------------


def test_it_shortens_the_free_description_first_at_a_word():
    body = "Kop\nEen lange vrije beschrijving van wat er gebeurde.\nBel 112."
    span = (4, body.index("\nBel"))
    short = texts.shorten(body, fits=lambda t: len(t) <= 40, span=span, call="Bel 112.")
    assert short == "Kop\nEen lange vrije…\nBel 112."


def test_it_shortens_what_stands_before_the_call_line_when_the_description_is_not_enough():
    body = "Vermist: man met een heel lange omschrijving\nvrij\nBel 112."
    span = (body.index("vrij"), body.index("vrij") + 4)
    short = texts.shorten(body, fits=lambda t: len(t) <= 30, span=span, call="Bel 112.")
    assert short.endswith("…\nBel 112.") and len(short) <= 30
    assert short.startswith("Vermist: man")


def test_without_a_call_line_it_cuts_the_end_at_a_word():
    short = texts.shorten("een twee drie vier vijf", fits=lambda t: len(t) <= 15)
    assert short == "een twee drie…"


# Every sender in the reader's language -----------------------------------------------------


def _phone_delivery(message, language, pk=1):
    participant = SimpleNamespace(
        phone=f"+3161111111{pk}", phone_confirmed_at=timezone.now(), language=language
    )
    return SimpleNamespace(pk=pk, participant=participant, message=message, notice_id=None)


def test_sms_and_voice_go_out_in_each_readers_language(settings):
    settings.SMS_BACKEND = settings.VOICE_BACKEND = "locmem"
    settings.SMS_GATEWAY_RATE = settings.VOICE_GATEWAY_RATE = 0
    voice.outbox.clear()
    message = alert()
    message.pk = 7
    rows = [_phone_delivery(message, lang, pk) for pk, lang in enumerate(["nl", "en", "de"])]

    sms.SmsSender().deliver(rows)
    voice.VoiceSender().deliver(rows)

    texts_sent = [m.text for m in sms.outbox]
    assert texts_sent[0].startswith("Burgernet: Vermiste persoon\n")
    assert texts_sent[1].startswith("Burgernet: Missing person\n")
    assert texts_sent[2] == texts_sent[0]  # no German text: Dutch
    assert [c.language for c in voice.outbox] == ["nl-NL", "en-GB", "nl-NL"]
    assert voice.outbox[1].text.endswith("I repeat: Seen? Call 0 8 0 0, 0 0 1 1 (emergency 1 1 2).")
    voice.outbox.clear()


def test_the_text_is_made_once_per_message_and_language_in_a_chunk(settings):
    settings.SMS_BACKEND = "locmem"
    settings.SMS_GATEWAY_RATE = 0
    message = alert()
    message.pk = 8
    made = []

    def text_for(read):
        made.append(read.language)
        return sms.alert_text(read)

    rows = [_phone_delivery(message, lang, pk) for pk, lang in enumerate(["nl", "en"] * 5)]
    deliver_to_phones(rows, text_for=text_for, send=sms.send_sms)
    assert sorted(made) == ["en", "nl"]
    assert len(sms.outbox) == 10


def test_the_operators_screen_language_does_not_decide_the_readers(settings):
    """An operator working in English releases: Dutch readers still get Dutch, fixed
    wording of the e-mail included."""
    settings.SMS_BACKEND = "locmem"
    settings.SMS_GATEWAY_RATE = 0
    message = alert()
    message.pk = 9
    with translation.override("en"):
        sms.SmsSender().deliver([_phone_delivery(message, "nl")])
        content, _ = email_sender.compose(texts.localized(message, "nl"))
        english, _ = email_sender.compose(texts.localized(message, "en"))
    assert sms.outbox[0].text.startswith("Burgernet: Vermiste persoon\n")
    assert "Lees verder" in content.html and content.subject == message.title
    assert "Read more" in english.html and english.subject == "Burgernet: Missing person"


def test_a_long_non_gsm_text_keeps_its_call_line_in_every_channel(settings):
    settings.SMS_MAX_PARTS = 2
    free = "يرتدي معطفا رماديا 🚓 " * 60
    body = f"Vermist: man (82)\n{free}\n{CALL_NL}"
    start = body.index(free)
    message = OutgoingMessage(
        title="Burgernet: Vermist",
        body=body,
        url="/actie/BN-1/",
        data={"shorten_first": [start, start + len(free)], "call": CALL_NL},
    )
    text = sms.alert_text(message)
    assert gsm.segments(text).encoding == "ucs2" and gsm.fits(text, 2)
    assert f"{CALL_NL}\n" in text and "Vermist: man (82)" in text
    title, push_body = webpush.notification_text(message)
    assert push_body.endswith(f"…\n{CALL_NL}") and len(push_body) <= webpush.MAX_BODY_CHARS
    script = voice.spoken_text(message)
    assert len(script) <= voice.MAX_SPOKEN_CHARS
    assert script.endswith("Ik herhaal: Gezien? Bel 0 8 0 0, 0 0 1 1 (bij spoed 1 1 2).")
    assert script.count("Gezien? Bel 0 8 0 0, 0 0 1 1") == 2


# Through the outbox ---------------------------------------------------------------------------


def test_a_push_goes_out_in_the_devices_language(push, make_device, send_all, db):
    import json

    message = alert()
    message.save()
    dutch, dutch_keys = make_device("nl-device")
    english, english_keys = make_device("en-device", language="en")
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[dutch.pk, english.pk])

    assert send_all(message) == {"sent": 2}

    [nl_push] = push.pushes_for("nl-device")
    [en_push] = push.pushes_for("en-device")
    nl_payload = json.loads(dutch_keys.decrypt(nl_push.body))
    en_payload = json.loads(english_keys.decrypt(en_push.body))
    assert (nl_payload["title"], nl_payload["lang"]) == ("Burgernet: Vermiste persoon", "nl")
    assert (en_payload["title"], en_payload["lang"]) == ("Burgernet: Missing person", "en")
    assert en_payload["body"].endswith(CALL_EN)


def test_the_devices_language_costs_no_query_per_row(db, make_message):
    from apps.participants.models import Device

    def claimed_with_queries(n: int, offset: int):
        message = make_message()
        devices = [
            Device.objects.create(
                endpoint=f"https://push.example/{offset + i}", p256dh="k", auth="a", language=lang
            )
            for i, lang in enumerate((["nl", "en", "de", "fr"] * n)[:n])
        ]
        outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
        with CaptureQueriesContext(connection) as queries:
            claimed = outbox.claim_chunk(message_id=message.pk, limit=100)
        return claimed, len(queries)

    one, queries_for_one = claimed_with_queries(1, 0)
    many, queries_for_many = claimed_with_queries(20, 100)
    assert len(many) == 20
    assert queries_for_many == queries_for_one
    assert [texts.reader_language(d.device) for d in many[:4]] == ["nl", "en", "de", "fr"]


def test_an_sms_goes_out_in_the_participants_language_through_the_outbox(
    settings, make_participant, send_all, db
):
    settings.SMS_BACKEND = "locmem"
    message = alert()
    message.save()
    dutch = make_participant("+31611111111")
    english = make_participant("+31622222222", language="en")
    outbox.enqueue(message=message, channel=Channel.SMS, participant_ids=[dutch.pk, english.pk])

    assert send_all(message) == {"sent": 2}
    sent = {m.to: m.text for m in sms.outbox}
    assert sent["+31611111111"].startswith("Burgernet: Vermiste persoon\n")
    assert sent["+31622222222"].startswith("Burgernet: Missing person\n")
