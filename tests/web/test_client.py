"""What a request says about its client (web/client.py) and the size guard of a form with
a photo (web/photos.py)."""

import pytest
from django.test import RequestFactory

from apps.web import client, photos
from apps.web.client import client_ip, client_key


def test_a_client_without_an_address_is_counted_as_unknown(settings):
    settings.PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="")
    assert client_key(request) == "unknown"
    assert client_key(RequestFactory().get("/", REMOTE_ADDR="10.0.0.7")) == "10.0.0.7"


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


@pytest.mark.parametrize(
    ("count", "remote", "forwarded", "client"),
    [
        # Through our proxy: its hop is the client; what the client wrote before it is not.
        (1, "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        (1, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (1, "127.0.0.1", "6.6.6.6,198.51.100.7:5555", "198.51.100.7"),
        (1, "::1", "[2001:db8::7]:5555", "2001:db8::7"),
        # Two proxies: the first one's hop.
        (2, "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", "198.51.100.7"),
        # Around the proxy: a client straight from the internet names itself in vain.
        (1, "203.0.113.50", "6.6.6.6", "203.0.113.50"),
        (2, "203.0.113.50", "6.6.6.6, 10.0.0.3", "203.0.113.50"),
        # PROXY_COUNT higher than the proxies there are: the walk stops at the first hop
        # that is not one of ours, not at what the client wrote.
        (2, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (3, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        # A hop that is no address is not believed; nor is a header without hops.
        (1, "10.0.0.2", "evil", "10.0.0.2"),
        (2, "10.0.0.2", "6.6.6.6, evil, 10.0.0.3", "10.0.0.3"),
        (1, "10.0.0.2", " , ", "10.0.0.2"),
        (1, "10.0.0.2", None, "10.0.0.2"),
        # No proxies: the header is never read.
        (0, "198.51.100.7", "6.6.6.6", "198.51.100.7"),
    ],
)
def test_the_client_is_the_first_hop_our_proxies_vouch_for(
    settings, count, remote, forwarded, client
):
    settings.PROXY_COUNT = count
    assert client_ip(_request(remote, forwarded)) == client


def test_the_proxies_are_where_proxy_networks_says(settings):
    settings.PROXY_COUNT = 1
    settings.PROXY_NETWORKS = ["203.0.113.0/24"]
    assert client_ip(_request("203.0.113.50", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.7")) == "10.0.0.2"


def test_a_proxy_without_proxy_count_is_told_once(settings, caplog, monkeypatch):
    settings.PROXY_COUNT = 0
    monkeypatch.setattr(client, "_warned", False)
    for _ in range(3):
        assert client_ip(_request("127.0.0.1", "198.51.100.7")) == "127.0.0.1"
    assert [r.message for r in caplog.records if "PROXY_COUNT is 0" in r.message] != []
    assert len([r for r in caplog.records if "PROXY_COUNT is 0" in r.message]) == 1


@pytest.mark.parametrize(
    ("length", "too_large"),
    [
        ("", False),
        ("geen getal", False),
        (str(photos.MAX_PHOTO_FORM_BYTES), False),
        (str(photos.MAX_PHOTO_FORM_BYTES + 1), True),
    ],
)
def test_a_photo_form_is_refused_by_its_declared_length(length, too_large):
    request = RequestFactory().post("/", data=b"", content_type="text/plain")
    request.META["CONTENT_LENGTH"] = length
    assert photos.photo_form_too_large(request) is too_large


def test_a_photo_form_has_room_for_the_largest_photo_and_its_text():
    assert photos.MAX_PHOTO_FORM_BYTES - photos.MAX_UPLOAD_BYTES == 64 * 1024
