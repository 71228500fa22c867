"""What a request says about its client (web/client.py) and the size guard of a form with
a photo (web/photos.py)."""

import pytest
from django.test import RequestFactory

from apps.web import photos
from apps.web.client import client_key


def test_a_client_without_an_address_is_counted_as_unknown(settings):
    settings.PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="")
    assert client_key(request) == "unknown"
    assert client_key(RequestFactory().get("/", REMOTE_ADDR="10.0.0.7")) == "10.0.0.7"


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
