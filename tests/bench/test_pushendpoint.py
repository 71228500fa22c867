"""The local push service and the browser's side: what tests and the benchmark stand on."""

import base64
import time

import requests
from py_vapid import Vapid02
from pywebpush import WebPusher

from apps.bench.pushendpoint import PushEndpoint, b64url_decode, make_subscriber, vapid_claims


def _vapid_header(aud: str, *, exp: int | None = None) -> str:
    key = Vapid02()
    key.generate_keys()
    claims = {"aud": aud, "exp": exp or int(time.time()) + 3600, "sub": "mailto:a@b.test"}
    return key.sign(claims)["Authorization"]


def test_it_makes_a_subscription_like_a_browser():
    subscriber = make_subscriber("http://127.0.0.1:1/push/x")
    assert len(b64url_decode(subscriber.p256dh)) == 65
    assert b64url_decode(subscriber.p256dh)[0] == 4  # uncompressed point
    assert len(b64url_decode(subscriber.auth)) == 16
    assert "=" not in subscriber.p256dh + subscriber.auth


def test_it_decrypts_what_pywebpush_encrypts_for_the_subscriber():
    subscriber = make_subscriber("http://127.0.0.1:1/push/x")
    body = WebPusher(subscriber.subscription_info()).encode(b'{"title": "Hallo"}')["body"]
    assert subscriber.decrypt(body) == b'{"title": "Hallo"}'


def test_it_records_a_push_and_answers_201_with_a_location():
    with PushEndpoint() as push:
        response = requests.post(
            push.url_for("a1"),
            data=b"encrypted",
            headers={"TTL": "60", "Authorization": _vapid_header(push.base_url)},
            timeout=5,
        )
        assert response.status_code == 201
        assert response.headers["Location"].startswith(push.base_url + "/message/")
        [record] = push.pushes_for("a1")
        assert record.body == b"encrypted"
        assert record.headers["ttl"] == "60"


def test_it_answers_as_told_for_an_id_and_then_as_usual():
    with PushEndpoint(check_vapid=False) as push:
        push.answer("a1", 429, headers={"Retry-After": "30"}, times=1)
        push.answer("gone", 410)
        first = requests.post(push.url_for("a1"), data=b"x", timeout=5)
        second = requests.post(push.url_for("a1"), data=b"x", timeout=5)
        assert (first.status_code, first.headers["Retry-After"]) == (429, "30")
        assert second.status_code == 201
        assert requests.post(push.url_for("gone"), data=b"x", timeout=5).status_code == 410
        assert requests.post(push.url_for("other"), data=b"x", timeout=5).status_code == 201


def test_it_refuses_a_missing_or_foreign_vapid_header():
    with PushEndpoint() as push:
        assert requests.post(push.url_for("a1"), data=b"x", timeout=5).status_code == 403
        foreign = _vapid_header("https://fcm.googleapis.com")
        response = requests.post(
            push.url_for("a1"), data=b"x", headers={"Authorization": foreign}, timeout=5
        )
        assert response.status_code == 403
        too_long = _vapid_header(push.base_url, exp=int(time.time()) + 25 * 3600)
        response = requests.post(
            push.url_for("a1"), data=b"x", headers={"Authorization": too_long}, timeout=5
        )
        assert response.status_code == 403
        assert push.refused_vapid == 3


def test_it_verifies_the_signature_of_a_vapid_header():
    header = _vapid_header("http://127.0.0.1:1")
    claims, key = vapid_claims(header)
    assert claims["aud"] == "http://127.0.0.1:1"
    token = header.split("t=", 1)[1].split(",", 1)[0]
    head, body, signature = token.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"aud":"http://evil.test","exp":1}').rstrip(b"=")
    forged = f"vapid t={head}.{forged_body.decode()}.{signature},k={key}"
    try:
        vapid_claims(forged)
    except ValueError:
        pass
    else:
        raise AssertionError("a forged token verified")


def test_it_counts_requests_for_a_benchmark_without_keeping_them():
    with PushEndpoint(record=False, check_vapid=False) as push:
        for _ in range(3):
            requests.post(push.url_for("a1"), data=b"x", timeout=5)
        assert push.received == 3
        assert push.pushes == []
        assert requests.get(push.base_url + "/_stats", timeout=5).json() == {"received": 3}
