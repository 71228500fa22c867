"""The SMS sender: its backends, and the http backend against a real local server."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.channels.senders import SENDERS, SmsError, get_sender, mask_phone, send_sms, sms


def test_it_keeps_messages_in_the_outbox_with_the_locmem_backend(settings):
    settings.SMS_BACKEND = "locmem"
    provider_id = send_sms("+31612345678", "Hallo")
    assert [(m.to, m.text, m.provider_id) for m in sms.outbox] == [
        ("+31612345678", "Hallo", provider_id)
    ]
    assert provider_id.startswith("locmem-")


def test_it_prints_to_stdout_with_the_console_backend(settings, capsys):
    settings.SMS_BACKEND = "console"
    send_sms("+31612345678", "Uw code is 123456")
    out = capsys.readouterr().out
    assert "+31612345678" in out
    assert "Uw code is 123456" in out
    assert sms.outbox == []


def test_it_refuses_an_unknown_backend(settings):
    settings.SMS_BACKEND = "pigeon"
    with pytest.raises(ImproperlyConfigured):
        send_sms("+31612345678", "Hallo")


@pytest.mark.parametrize("number", ["0612345678", "+31 6 12345678", "", "+0612345678"])
def test_it_refuses_a_number_not_in_e164(settings, number):
    settings.SMS_BACKEND = "locmem"
    with pytest.raises(ValueError):
        send_sms(number, "Hallo")
    assert sms.outbox == []


def test_sms_and_voice_check_number_text_and_backend_in_one_place(settings):
    from apps.channels.senders import http

    settings.VOICE_BACKEND = "pigeon"
    backends = {"locmem": object()}
    check = {"what": "voice", "setting": "VOICE_BACKEND", "backends": backends}
    with pytest.raises(ValueError, match="voice recipient must be an E.164 number"):
        http.phone_backend(**check, to="0612345678", text="Let op.")
    with pytest.raises(ValueError, match="voice text is empty"):
        http.phone_backend(**check, to="+31612345678", text="")
    with pytest.raises(ImproperlyConfigured, match="Unknown VOICE_BACKEND 'pigeon'"):
        http.phone_backend(**check, to="+31612345678", text="Let op.")
    settings.VOICE_BACKEND = "locmem"
    assert http.phone_backend(**check, to="+31612345678", text="Let op.") is backends["locmem"]
    settings.SMS_BACKEND = "locmem"
    with pytest.raises(ValueError, match="SMS text is empty"):
        send_sms("+31612345678", "")


def test_it_posts_json_with_a_bearer_token_to_the_gateway(gateway):
    provider_id = send_sms("+31612345678", "Uw code is 123456")
    assert provider_id == "gw-1"
    [request] = gateway.requests
    assert request["path"] == "/send"
    assert request["headers"]["Authorization"] == "Bearer test-token"
    assert request["json"] == {
        "to": "+31612345678",
        "from": "Burgernet",
        "text": "Uw code is 123456",
    }


def test_it_raises_a_transient_error_when_the_gateway_answers_500(gateway):
    gateway.status = 500
    gateway.body = {"error": "boom", "to": "+31612345678"}
    with pytest.raises(SmsError) as caught:
        send_sms("+31612345678", "Hallo")
    assert caught.value.transient is True
    assert "500" in str(caught.value)
    assert "+31612345678" not in str(caught.value)


def test_it_raises_a_permanent_error_when_the_gateway_refuses_the_message(gateway):
    gateway.status = 400
    with pytest.raises(SmsError) as caught:
        send_sms("+31612345678", "Hallo")
    assert caught.value.transient is False


def test_it_never_follows_a_redirect_of_the_gateway(gateway):
    gateway.status = 302
    gateway.location = gateway.url.replace("/send", "/elsewhere")
    with pytest.raises(SmsError) as caught:
        send_sms("+31612345678", "Hallo")
    assert caught.value.transient is False
    assert "302" in str(caught.value)
    assert [r["path"] for r in gateway.requests] == ["/send"]


def test_it_raises_a_transient_error_when_the_gateway_times_out(gateway, settings):
    settings.SMS_GATEWAY_TIMEOUT = 0.2
    gateway.delay_s = 1.0
    with pytest.raises(SmsError) as caught:
        send_sms("+31612345678", "Hallo")
    assert caught.value.transient is True
    assert "timed out" in str(caught.value)


def test_it_raises_when_the_gateway_is_unreachable(settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/send"  # discard port: nothing listens
    with pytest.raises(SmsError) as caught:
        send_sms("+31612345678", "Hallo")
    assert caught.value.transient is True


def test_it_logs_a_masked_number_only(settings, caplog):
    settings.SMS_BACKEND = "locmem"
    with caplog.at_level(logging.INFO, logger="apps.channels"):
        send_sms("+31612345678", "Uw code is 123456")
    assert caplog.records
    assert "+31612345678" not in caplog.text
    assert "123456" not in caplog.text
    assert mask_phone("+31612345678") in caplog.text


def test_it_masks_all_but_the_country_code_and_last_two_digits():
    assert mask_phone("+31612345678") == "+31*******78"


def test_it_finds_the_sms_sender_in_the_registry(settings):
    settings.SMS_BACKEND = "locmem"
    assert get_sender("sms") is SENDERS["sms"]
    get_sender("sms").send(to="+32470123456", text="Hallo")
    assert sms.outbox[0].to == "+32470123456"
