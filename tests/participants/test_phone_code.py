"""The SMS code: confirming the number, five wrong tries, expiry, a new code."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.governance.models import AuditEntry
from apps.participants.models import Participant, PhoneCode

from .conftest import sent_code, sms_sent


@pytest.fixture
def pending(register):
    """A fresh registration: (code page URL, the code sent)."""
    response = register(email="iemand@example.org", email_postcode="3441 AB", wants_email="on")
    assert response.status_code == 302
    sms_sent()  # the outbox workers send it
    return response.url, sent_code("+31612345678")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def resend_url(code_url: str) -> str:
    return reverse("participants:resend_code", args=[code_url.rstrip("/").split("/")[-1]])


def test_it_confirms_the_number_with_the_right_code(client, pending):
    url, code = pending
    response = client.post(url, {"code": f" {code[:3]} {code[3:]} "})
    assert response.status_code == 302
    assert response.url == reverse("participants:registered")
    participant = Participant.objects.get()
    assert participant.phone_confirmed_at is not None
    assert PhoneCode.objects.count() == 0
    entry = AuditEntry.objects.get(verb="participant.confirmed")
    assert (entry.target_type, entry.target_id) == ("participants.participant", str(participant.pk))
    # Only now is the e-mail address written to: a confirmation link, nothing else.
    [message] = mail.outbox
    assert message.to == ["iemand@example.org"]
    assert "/e-mail/bevestigen/" in message.body
    assert len(sms_sent()) == 1
    # The page now says it is done.
    assert "U bent aangemeld" in client.get(url).content.decode()


def test_it_tells_how_many_tries_are_left_after_a_wrong_code(client, pending):
    url, code = pending
    response = client.post(url, {"code": wrong(code)})
    assert response.status_code == 400
    html = response.content.decode()
    assert "De code is onjuist. U kunt het nog 4 keer proberen." in html
    assert 'href="#id_code"' in html
    assert Participant.objects.get().phone_confirmed_at is None


def test_it_locks_the_code_after_five_wrong_tries(client, pending):
    url, code = pending
    for _ in range(5):
        response = client.post(url, {"code": wrong(code)})
    assert "geblokkeerd na vijf onjuiste pogingen" in response.content.decode()
    assert PhoneCode.objects.get().failed_attempts == 5
    # Even the right code does not work any more.
    response = client.post(url, {"code": code})
    assert response.status_code == 400
    assert "geblokkeerd" in response.content.decode()
    assert Participant.objects.get().phone_confirmed_at is None


def test_it_refuses_an_expired_code(client, pending):
    url, code = pending
    PhoneCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(url, {"code": code})
    assert response.status_code == 400
    assert "Deze code is niet meer geldig" in response.content.decode()
    assert Participant.objects.get().phone_confirmed_at is None


def test_it_refuses_a_code_that_is_not_six_digits(client, pending):
    url, _code = pending
    response = client.post(url, {"code": "12ab"})
    assert response.status_code == 400
    assert "Vul de zes cijfers van de code in" in response.content.decode()
    assert PhoneCode.objects.get().failed_attempts == 0


def test_it_sends_a_new_code_that_replaces_the_old_one(client, pending):
    url, old = pending
    for _ in range(5):
        client.post(url, {"code": wrong(old)})
    response = client.post(resend_url(url), follow=True)
    assert "Wij hebben een nieuwe code gestuurd" in response.content.decode()
    assert len(sms_sent()) == 2
    new = sent_code("+31612345678")
    assert PhoneCode.objects.count() == 1
    if new != old:
        assert client.post(url, {"code": old}).status_code == 400
    assert client.post(url, {"code": new}).status_code == 302
    assert Participant.objects.get().is_confirmed


def test_it_limits_new_codes_per_number(client, pending):
    url, _code = pending
    for n in range(3):
        response = client.post(resend_url(url), REMOTE_ADDR=f"10.0.0.{n}")
        assert response.status_code == 302
    response = client.post(resend_url(url), REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429
    assert "U heeft dit te vaak geprobeerd" in response.content.decode()
    assert len(sms_sent()) == 4  # the first code and three new ones


def test_it_sends_no_new_code_to_a_confirmed_number(client, pending):
    url, code = pending
    client.post(url, {"code": code})
    client.post(resend_url(url))
    assert len(sms_sent()) == 1


def test_it_accepts_a_new_code_request_only_by_post(client, pending):
    url, _code = pending
    assert client.get(resend_url(url)).status_code == 405
    assert len(sms_sent()) == 1


@pytest.mark.parametrize("token", ["nonsense", "eyJyIjoiMSJ9:1rAbCd:forged"])
def test_it_refuses_a_tampered_code_page_link(client, token):
    response = client.get(reverse("participants:confirm_phone", args=[token]))
    assert response.status_code == 400
    assert "Deze link werkt niet" in response.content.decode()


def test_it_limits_code_tries_per_number_across_addresses(client, pending):
    url, code = pending
    # Each new code allows five tries; the number allows ten an hour, from any address.
    for n in range(10):
        if n == 5:
            client.post(resend_url(url))
            sms_sent()
        response = client.post(url, {"code": wrong(sent_code())}, REMOTE_ADDR=f"10.0.1.{n}")
        assert response.status_code == 400
    response = client.post(url, {"code": sent_code()}, REMOTE_ADDR="10.0.1.200")
    assert response.status_code == 429
    assert not Participant.objects.get().is_confirmed


def test_it_limits_code_tries_per_ip(client, register):
    urls = []
    for n in range(4):
        urls.append(register(phone=f"06 1234567{n}", remote_addr=f"10.0.2.{n}").url)
    tries = 0
    for url in urls:
        for _ in range(8):
            response = client.post(url, {"code": "000000"}, REMOTE_ADDR="10.9.9.9")
            tries += 1
            if response.status_code == 429:
                break
        if response.status_code == 429:
            break
    assert response.status_code == 429
    assert tries == 31
