"""The code and manage-link SMS go through the outbox: the request queues a notice and
returns; the outbox workers send it, not after the code or link expired, and wipe its
text once done. Neither the number nor the code reaches a log."""

import logging
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.channels.models import Delivery, Notice
from apps.channels.senders import sms
from apps.participants import notices
from apps.participants.models import ManageLink, Participant, PhoneCode

from .conftest import link_in, sent_code, sms_sent

NUMBER = "+31612345678"


@pytest.fixture
def no_gateway_in_the_request(monkeypatch):
    """Fails the test if an SMS leaves while the fixture is in force; stop() lifts it."""
    calls = []

    def refuse(to, text, sender_id):
        calls.append(to)
        raise AssertionError("an SMS was sent inside the request")

    monkeypatch.setitem(sms._BACKENDS, "locmem", refuse)
    yield calls
    assert calls == []


def _queued(source: str) -> Delivery:
    [delivery] = Delivery.objects.filter(state="queued")
    notice = Notice.objects.get(pk=delivery.notice_id)
    assert (delivery.channel, delivery.message_id, notice.source) == ("sms", None, source)
    return delivery


def test_the_registration_queues_the_code_and_the_outbox_sends_it(
    client, register, no_gateway_in_the_request, monkeypatch
):
    response = register()
    assert response.status_code == 302

    delivery = _queued(notices.PHONE_CODE)
    participant = Participant.objects.get()
    assert delivery.participant_id == participant.pk
    # Not sent after the code stopped working.
    assert Notice.objects.get().expires_at == PhoneCode.objects.get().expires_at

    monkeypatch.undo()  # the outbox workers' turn
    [message] = sms_sent()
    assert message.to == NUMBER
    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert Notice.objects.get().text == ""  # the code is no longer kept in clear
    assert client.post(response.url, {"code": sent_code(NUMBER)}).status_code == 302


def test_a_new_code_is_queued_too(client, register, no_gateway_in_the_request, monkeypatch):
    url = register().url
    token = url.rstrip("/").split("/")[-1]
    assert client.post(reverse("participants:resend_code", args=[token])).status_code == 302
    assert Delivery.objects.filter(state="queued").count() == 2

    monkeypatch.undo()
    assert len(sms_sent()) == 2
    assert client.post(url, {"code": sent_code(NUMBER)}).status_code == 302


def test_a_manage_link_request_queues_the_link(
    client, make_participant, no_gateway_in_the_request, monkeypatch
):
    make_participant(NUMBER)
    response = client.post(reverse("participants:manage_request"), {"contact": "0612345678"})
    assert response.status_code == 302
    assert response.url == reverse("participants:manage_sent")
    _queued(notices.MANAGE_LINK)

    monkeypatch.undo()
    [message] = sms_sent()
    assert message.to == NUMBER
    assert client.post(link_in(message.text)).status_code == 302
    assert ManageLink.objects.get().used_at is not None


def test_a_registered_number_is_queued_a_manage_link(
    register, make_participant, no_gateway_in_the_request, monkeypatch
):
    make_participant(NUMBER)
    assert register().status_code == 302
    _queued(notices.ALREADY_REGISTERED)

    monkeypatch.undo()
    [message] = sms_sent()
    assert "al aangemeld" in message.text


def test_a_code_that_could_not_be_sent_in_time_is_not_sent_late(register):
    register()
    Notice.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert sms_sent() == []
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.error) == ("failed", "expired")
    assert Notice.objects.get().text == ""


def test_the_sms_is_in_the_language_of_the_visitor(client, register):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert register().status_code == 302
    [message] = sms_sent()
    assert message.text.startswith("Your Burgernet code is ")


def test_neither_the_number_nor_the_code_is_logged(client, register, caplog):
    caplog.set_level(logging.DEBUG)
    url = register().url
    sms_sent()
    code = sent_code(NUMBER)
    client.post(url, {"code": code})

    assert Participant.objects.get().is_confirmed
    assert NUMBER not in caplog.text
    assert NUMBER[1:] not in caplog.text
    assert not re.search(rf"\b{code}\b", caplog.text)
