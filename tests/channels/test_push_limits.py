"""A push within what push services show and carry: a title of at most 65 characters and a
body of at most 240 in the notification (shortened at a word, the free description first,
the call line kept), and an encrypted body within 4096 bytes, measured with the real
encryption (ours, and pywebpush's for comparison), decrypted by http_ece."""

import base64
import json
import os

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher

from apps.channels import ece
from apps.channels.models import OutgoingMessage
from apps.channels.senders import webpush

CALL = "Gezien? Bel 0800-0011 (bij spoed 112)."
# What the web app's service worker reads of a payload (templates/participants/webapp/sw.js).
SERVICE_WORKER_KEYS = {"title", "body", "url", "topic", "urgency", "timestamp", "message", "lang"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """A subscription's keys as a browser makes them."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = _b64(point)

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )


def _alert(free: str, **fields) -> OutgoingMessage:
    body = f"Vermist: man (82), grijze jas\n{free}\n{CALL}"
    start = body.index(free)
    fields.setdefault("title", "Burgernet: Vermist")
    return OutgoingMessage(
        pk=fields.pop("pk", 1),
        body=body,
        url="/actie/BN-1/",
        topic="burgernet-actie-1",
        data={
            "shorten_first": [start, start + len(free)],
            "call": CALL,
            "image": "/media/acties/BN-1/foto.jpg",
            "texts": {"en": {"title": "Burgernet: Missing", "body": "x" * 900}},
            **fields.pop("data", {}),
        },
        **fields,
    )


def test_the_body_shown_gives_way_in_its_description_and_keeps_the_call_line():
    title, body = webpush.notification_text(_alert("Loopt slecht en is in de war. " * 30))
    assert len(body) <= webpush.MAX_BODY_CHARS
    assert body.startswith("Vermist: man (82), grijze jas\nLoopt slecht")
    assert body.endswith(f"…\n{CALL}")
    assert title == "Burgernet: Vermist"


def test_a_long_title_is_shortened_at_a_word():
    long_title = "Burgernet: Vermist " + "heel lange titel " * 10
    title, _ = webpush.notification_text(_alert("Kort.", title=long_title))
    assert len(title) <= webpush.MAX_TITLE_CHARS and title.endswith("…")
    assert long_title.startswith(title[:-1]) and long_title[len(title) - 1] == " "


def test_a_short_body_is_shown_whole():
    message = _alert("Kort.")
    assert webpush.notification_text(message) == (message.title, message.body)


def test_a_1000_character_non_ascii_body_fits_in_4_kb_encrypted():
    free = "Ĳzerhandel — “zoekt” 😀 يرتدي معطفا " * 40
    message = _alert(free[:1000], data={"image": "/media/" + "é" * 900})
    assert len(message.body) >= 1000
    base = webpush.payload_base(message)
    plaintext = webpush.payload(base, 10**19)
    assert len(plaintext) <= webpush.MAX_PAYLOAD_BYTES

    browser = Browser()
    ours = ece.encrypt(plaintext, ece.Subscriber(browser.p256dh, _b64(browser.auth)))
    assert len(ours) <= webpush.MAX_BODY_BYTES - webpush.PAYLOAD_MARGIN
    assert browser.decrypt(ours) == plaintext
    theirs = WebPusher(
        {
            "endpoint": "https://push.example/x",
            "keys": {"p256dh": browser.p256dh, "auth": _b64(browser.auth)},
        }
    ).encode(plaintext, content_encoding="aes128gcm")["body"]
    assert len(theirs) <= webpush.MAX_BODY_BYTES

    shown = json.loads(plaintext)
    assert len(shown["body"]) <= webpush.MAX_BODY_CHARS and shown["body"].endswith(CALL)
    assert shown.keys() >= SERVICE_WORKER_KEYS
    assert shown["image"] == message.data["image"]


def test_the_payload_carries_nothing_only_the_senders_need():
    payload = webpush.payload_base(_alert("Kort.", data={"sms": {"nl": "sms"}}))
    assert not {"texts", "call", "shorten_first", "sms"} & payload.keys()
    assert payload["lang"] == "nl"


@pytest.mark.parametrize("size", [webpush.MAX_PAYLOAD_BYTES - 300, webpush.MAX_PAYLOAD_BYTES])
def test_extras_too_large_for_a_push_are_left_out_before_the_text(size):
    message = _alert("Kort.", data={"image": "/media/" + "x" * size})
    payload = webpush.payload(webpush.payload_base(message), 10**19)
    assert len(payload) <= webpush.MAX_PAYLOAD_BYTES
    assert json.loads(payload)["body"] == message.body
