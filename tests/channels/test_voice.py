"""The voice sender: spoken text, its backends, and the http backend against a real local
server (the stand-in gateway of conftest)."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.channels import outbox
from apps.channels.models import Channel, Delivery
from apps.channels.senders import SENDERS, VoiceError, voice

from .conftest import FakeGateway


@pytest.fixture(autouse=True)
def _empty_calls():
    voice.outbox.clear()
    yield
    voice.outbox.clear()


@pytest.fixture
def voice_gateway(settings):
    fake = FakeGateway()
    settings.VOICE_BACKEND = "http"
    settings.VOICE_GATEWAY_URL = fake.url
    settings.VOICE_GATEWAY_TOKEN = "voice-token"
    settings.VOICE_GATEWAY_TIMEOUT = 2.0
    yield fake
    fake.close()


def test_it_speaks_title_and_body_without_links(make_message):
    message = make_message(
        title="Burgernet: Vermist: meisje (8)",
        body="Roze jas. Meer op https://burgernet.nl/actie/1 en www.burgernet.nl ook.",
    )
    text = voice.spoken_text(message)
    assert text == "Burgernet: Vermist: meisje (8). Roze jas. Meer op en ook."
    assert "http" not in text and "www" not in text


def test_it_keeps_the_spoken_text_short(make_message):
    text = voice.spoken_text(make_message(body="woord " * 500))
    assert len(text) <= voice.MAX_SPOKEN_CHARS
    assert text.endswith("woord…")


def test_it_calls_confirmed_numbers_through_the_outbox(
    settings, make_message, make_participant, send_all
):
    settings.VOICE_BACKEND = "locmem"
    confirmed = make_participant("+31611111111")
    unconfirmed = make_participant("+31622222222", confirmed=False)
    message = make_message()
    outbox.enqueue(
        message=message, channel=Channel.VOICE, participant_ids=[confirmed.pk, unconfirmed.pk]
    )

    assert send_all(message) == {"sent": 1, "failed": 1}

    [call] = voice.outbox
    assert call.to == "+31611111111"
    assert call.text == voice.spoken_text(message)
    sent = Delivery.objects.get(participant=confirmed)
    assert sent.provider_id == call.provider_id
    assert Delivery.objects.get(participant=unconfirmed).error == "phone not confirmed"


def test_it_posts_the_call_with_a_bearer_token_to_the_gateway(voice_gateway):
    assert voice.call("+31612345678", "Let op.") == "gw-1"
    [request] = voice_gateway.requests
    assert request["headers"]["Authorization"] == "Bearer voice-token"
    assert request["json"] == {"to": "+31612345678", "text": "Let op.", "language": "nl-NL"}
    assert voice.call("+31612345678", "Watch out.", language="en-GB") == "gw-1"
    assert voice_gateway.requests[-1]["json"]["language"] == "en-GB"


def test_it_retries_a_call_when_the_gateway_times_out(
    voice_gateway, settings, make_message, make_participant
):
    settings.VOICE_GATEWAY_TIMEOUT = 0.2
    voice_gateway.delay_s = 1.0
    participant = make_participant("+31611111111")
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.VOICE, participant_ids=[participant.pk])

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"retry": 1}
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.QUEUED
    assert delivery.error == "voice gateway timed out after 0.2s"


def test_it_fails_a_call_the_gateway_refuses(voice_gateway, make_message, make_participant):
    voice_gateway.status = 400
    voice_gateway.body = {"error": "bad number +31611111111"}
    participant = make_participant("+31611111111")
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.VOICE, participant_ids=[participant.pk])

    assert outbox.send_chunk(outbox.claim_chunk(message_id=message.pk)) == {"failed": 1}
    delivery = Delivery.objects.get()
    assert delivery.error == "voice gateway answered HTTP 400"


def test_it_raises_a_transient_error_when_the_gateway_answers_429(voice_gateway):
    voice_gateway.status = 429
    with pytest.raises(VoiceError) as caught:
        voice.call("+31612345678", "Let op.")
    assert caught.value.transient is True


def test_it_masks_the_number_in_its_log(settings, caplog):
    settings.VOICE_BACKEND = "locmem"
    with caplog.at_level(logging.INFO, logger="apps.channels.senders.voice"):
        voice.call("+31612345678", "Let op.")
    assert "+31612345678" not in caplog.text
    assert "78" in caplog.text


def test_it_refuses_an_unknown_backend_and_a_missing_gateway_url(settings):
    settings.VOICE_BACKEND = "pigeon"
    with pytest.raises(ImproperlyConfigured):
        voice.call("+31612345678", "Let op.")
    settings.VOICE_BACKEND = "http"
    settings.VOICE_GATEWAY_URL = ""
    with pytest.raises(ImproperlyConfigured):
        voice.call("+31612345678", "Let op.")


def test_it_refuses_a_number_not_in_e164(settings):
    settings.VOICE_BACKEND = "locmem"
    with pytest.raises(ValueError):
        voice.call("0612345678", "Let op.")
    assert voice.outbox == []


def test_it_is_the_sender_of_the_voice_channel():
    assert SENDERS["voice"].kind == "voice"
