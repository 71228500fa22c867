"""A web-app device's fixed places (vaste plekken): chosen by postcode, point or cell and
stored only as the coarse cell, at most three, removed by the user or with the device;
the endpoints, their refusals (nothing changes) and their limits."""

import json
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.governance.models import PostcodeArea
from apps.participants import devices, geohash, webapp
from apps.participants.models import MAX_PLACES_PER_DEVICE, Device, DevicePlace
from tests.participants.test_webapp import subscription

APP = reverse("participants:webapp")
SUBSCRIBE = reverse("participants:webapp_subscribe")
OFF = reverse("participants:webapp_unsubscribe")
PLACES = reverse("participants:webapp_places")
ADD = reverse("participants:webapp_place_add")
REMOVE = reverse("participants:webapp_place_remove")

UTRECHT = (52.0907, 5.1214)
AMSTERDAM = (52.3731, 4.8926)
ROTTERDAM = (51.9225, 4.4792)
GRONINGEN = (53.2194, 6.5665)


@pytest.fixture(autouse=True)
def _app_settings(vapid_keys, settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


@pytest.fixture
def device(client) -> Device:
    response = post(client, SUBSCRIBE, subscription())
    return Device.objects.get(ref=response.json()["device"])


@pytest.fixture
def other_device(client) -> Device:
    response = post(client, SUBSCRIBE, subscription("https://push.example.net/push/other"))
    return Device.objects.get(ref=response.json()["device"])


def cell_of(point) -> str:
    return geohash.encode(*point, devices.CELL_PRECISION)


def stored() -> str:
    """Everything stored about places, as text."""
    return json.dumps(list(DevicePlace.objects.values()), default=str)


# --- the service --------------------------------------------------------------------------


def test_it_stores_a_postcode_as_the_cell_of_its_areas_centre_and_not_the_postcode(device):
    area = PostcodeArea.objects.get(pc4="3441")
    place = devices.device_place_add(ref=device.ref, postcode=" 3441ab ", label="Thuis")
    assert place.cell == geohash.encode(area.lat, area.lon, 5)
    assert (place.cell_lat, place.cell_lon) == geohash.decode(place.cell)
    assert place.label == "Thuis"
    text = stored()
    assert "3441" not in text and str(area.lat) not in text and str(area.lon) not in text


def test_it_stores_a_point_as_its_cell_only(device):
    place = devices.device_place_add(ref=device.ref, lat=UTRECHT[0], lon=UTRECHT[1])
    assert place.cell == cell_of(UTRECHT) == "u178k"
    assert "52.0907" not in stored() and "5.1214" not in stored()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"postcode": "344"}, "invalid_postcode"),
        ({"postcode": "0441 AB"}, "invalid_postcode"),
        ({"postcode": "3441 A1"}, "invalid_postcode"),
        ({"postcode": 3441}, "invalid_postcode"),
        ({"postcode": "1000"}, "unknown_postcode"),
        ({"lat": 48.85, "lon": 2.35}, "outside_area"),  # Paris
        ({"lat": "x", "lon": 5.1}, "invalid_point"),
        ({"lat": float("nan"), "lon": 5.1}, "invalid_point"),
        ({"lat": 52.1}, "invalid_point"),
        ({"lat": True, "lon": 5.1}, "invalid_point"),
        ({"cell": "u178kmq"}, "invalid_cell"),  # finer than the live cell
        ({"cell": "u09tv"}, "outside_area"),  # Paris
        ({}, "invalid_place"),
        ({"postcode": "3441", "cell": "u178k"}, "invalid_place"),
        ({"cell": "u178k", "label": "x" * 31}, "invalid_label"),
        ({"cell": "u178k", "label": 12}, "invalid_label"),
    ],
)
def test_it_refuses_what_is_not_a_place_and_stores_nothing(device, kwargs, code):
    with pytest.raises(ValidationError) as refused:
        devices.device_place_add(ref=device.ref, **kwargs)
    assert refused.value.code == code
    assert not DevicePlace.objects.exists()


def test_it_keeps_at_most_three_places_per_device(device, other_device):
    for point in (UTRECHT, AMSTERDAM, ROTTERDAM):
        devices.device_place_add(ref=device.ref, lat=point[0], lon=point[1])
    with pytest.raises(ValidationError) as refused:
        devices.device_place_add(ref=device.ref, lat=GRONINGEN[0], lon=GRONINGEN[1])
    assert refused.value.code == "too_many_places"
    assert "3 vaste plekken" in refused.value.messages[0]
    assert device.places.count() == MAX_PLACES_PER_DEVICE == 3
    # Another device has room of its own.
    devices.device_place_add(ref=other_device.ref, lat=GRONINGEN[0], lon=GRONINGEN[1])


def test_it_refuses_a_second_place_in_the_same_cell(device):
    devices.device_place_add(ref=device.ref, cell="u178k")
    with pytest.raises(ValidationError) as refused:
        devices.device_place_add(ref=device.ref, lat=UTRECHT[0], lon=UTRECHT[1])
    assert refused.value.code == "duplicate_place"
    assert device.places.count() == 1


def test_it_removes_a_place_and_only_that_devices(device, other_device):
    devices.device_place_add(ref=device.ref, cell="u178k")
    devices.device_place_add(ref=other_device.ref, cell="u178k")
    devices.device_place_remove(ref=device.ref, cell="u178k")
    assert not device.places.exists()
    assert other_device.places.count() == 1
    with pytest.raises(devices.UnknownPlace):
        devices.device_place_remove(ref=device.ref, cell="u178k")


def test_it_refuses_places_for_an_unknown_device(db):
    with pytest.raises(devices.UnknownDevice):
        devices.device_place_add(ref=uuid.uuid4(), cell="u178k")
    with pytest.raises(devices.UnknownDevice):
        devices.device_places(ref=uuid.uuid4())
    assert not DevicePlace.objects.exists()


def test_it_deletes_the_places_with_the_device(client, device):
    devices.device_place_add(ref=device.ref, cell="u178k")
    devices.device_unsubscribe(ref=device.ref)
    assert not DevicePlace.objects.exists()


def test_it_deletes_the_places_when_the_push_service_says_the_subscription_is_gone(device):
    from apps.channels import outbox

    devices.device_place_add(ref=device.ref, cell="u178k")
    outbox._forget_devices([(device.pk, device.endpoint)])
    assert not Device.objects.exists() and not DevicePlace.objects.exists()


def test_a_place_does_not_go_stale_with_the_live_cell(device):
    devices.device_place_add(ref=device.ref, cell="u178k")
    Device.objects.filter(pk=device.pk).update(
        cell="u173z", cell_lat=52.0, cell_lon=5.0, cell_updated_at="2020-01-01T00:00:00Z"
    )
    assert devices.cells_forget_stale() == 1
    assert [p.cell for p in devices.device_places(ref=device.ref)] == ["u178k"]


# --- the endpoints ------------------------------------------------------------------------


def test_it_adds_lists_and_removes_places_over_http(client, device):
    ref = str(device.ref)
    assert post(client, PLACES, {"device": ref}).json() == {"places": [], "max": 3}
    response = post(client, ADD, {"device": ref, "postcode": "3441 AB", "label": "Werk"})
    assert response.status_code == 201
    cell = DevicePlace.objects.get().cell
    assert response.json() == {"places": [{"cell": cell, "label": "Werk"}], "max": 3}
    response = post(client, ADD, {"device": ref, "cell": "u178k"})
    assert response.status_code == 201
    assert [p["cell"] for p in response.json()["places"]] == [cell, "u178k"]
    response = post(client, ADD, {"device": ref, "lat": AMSTERDAM[0], "lon": AMSTERDAM[1]})
    assert response.status_code == 201
    listed = post(client, PLACES, {"device": ref}).json()["places"]
    assert [p["cell"] for p in listed] == [cell, "u178k", cell_of(AMSTERDAM)]
    response = post(client, REMOVE, {"device": ref, "cell": "u178k"})
    assert response.status_code == 200
    assert [p["cell"] for p in response.json()["places"]] == [cell, cell_of(AMSTERDAM)]


def test_it_refuses_a_fourth_place_over_http_with_a_clear_message(client, device):
    ref = str(device.ref)
    for point in (UTRECHT, AMSTERDAM, ROTTERDAM):
        assert post(client, ADD, {"device": ref, "cell": cell_of(point)}).status_code == 201
    response = post(client, ADD, {"device": ref, "cell": cell_of(GRONINGEN)})
    assert response.status_code == 400
    assert response.json() == {
        "error": "too_many_places",
        "message": "U heeft al 3 vaste plekken. Verwijder eerst een plek als u een andere "
        "wilt kiezen.",
    }
    assert device.places.count() == 3


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"postcode": "12"}, "invalid_postcode"),
        ({"postcode": "1000 AA"}, "unknown_postcode"),
        ({"lat": 40.0, "lon": -3.7}, "outside_area"),
        ({"lat": "52,1", "lon": "5,1"}, "invalid_point"),
        ({"cell": "u178"}, "invalid_cell"),
        ({}, "invalid_place"),
    ],
)
def test_it_answers_bad_places_with_a_400_in_dutch_and_changes_nothing(client, device, body, code):
    response = post(client, ADD, {"device": str(device.ref), **body})
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert not DevicePlace.objects.exists()


def test_another_devices_ref_cannot_see_or_touch_your_places(client, device, other_device):
    devices.device_place_add(ref=device.ref, cell="u178k", label="Thuis")
    theirs = str(other_device.ref)
    assert post(client, PLACES, {"device": theirs}).json()["places"] == []
    response = post(client, REMOVE, {"device": theirs, "cell": "u178k"})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_place"
    assert device.places.count() == 1
    for url, body in ((PLACES, {}), (ADD, {"cell": "u173z"}), (REMOVE, {"cell": "u178k"})):
        response = post(client, url, {"device": str(uuid.uuid4()), **body})
        assert response.status_code == 404
        assert response.json()["error"] == "unknown_device"
        assert post(client, url, {"device": "not-a-ref", **body}).status_code == 404
        assert post(client, url, body).status_code == 400  # no device at all
    assert device.places.count() == 1
    assert not other_device.places.exists()


def test_switching_off_deletes_the_places(client, device):
    post(client, ADD, {"device": str(device.ref), "cell": "u178k"})
    assert post(client, OFF, {"device": str(device.ref)}).json() == {"deleted": True}
    assert not DevicePlace.objects.exists()


def test_the_place_endpoints_need_the_pages_csrf_token(device):
    client = Client(enforce_csrf_checks=True)
    body = {"device": str(device.ref), "cell": "u178k"}
    assert post(client, ADD, body).status_code == 403
    assert post(client, PLACES, body).status_code == 403
    html = client.get(APP).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        ADD, json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_the_place_endpoints_answer_only_post(client, device):
    for url in (PLACES, ADD, REMOVE):
        assert client.get(url, {"device": str(device.ref)}).status_code == 405


def test_it_limits_adding_and_removing_places_per_device(client, device):
    limit, _window = webapp.LIMITS["place.device"]
    ref = str(device.ref)
    for n in range(limit):
        body = {"device": ref, "cell": "u178k"}
        response = post(client, ADD if n % 2 == 0 else REMOVE, body)
        assert response.status_code in (200, 201)
    response = post(client, ADD, {"device": ref, "cell": "u173z"})
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert [p.cell for p in device.places.all()] in ([], ["u178k"])
    assert not device.places.filter(cell="u173z").exists()


def test_it_limits_reading_the_places_per_device(client, device):
    limit, _window = webapp.LIMITS["places.device"]
    for _ in range(limit):
        assert post(client, PLACES, {"device": str(device.ref)}).status_code == 200
    assert post(client, PLACES, {"device": str(device.ref)}).status_code == 429


# --- the page -----------------------------------------------------------------------------


def test_the_page_offers_fixed_places_by_postcode_and_current_place(client):
    html = client.get(APP).content.decode()
    assert "Vaste plekken" in html
    assert f'data-places-url="{PLACES}"' in html
    assert f'data-place-add-url="{ADD}"' in html
    assert f'data-place-remove-url="{REMOVE}"' in html
    label = re.search(r'<label for="webapp-place-postcode">([^<]+)</label>', html)
    assert label and "Postcode" in label.group(1)
    assert 'id="webapp-place-postcode"' in html and 'autocomplete="postal-code"' in html
    assert 'id="webapp-place-here"' in html
    assert 'data-text="place_added"' in html and 'data-text="place_removed"' in html


# --- the admin ----------------------------------------------------------------------------


def test_it_shows_managers_a_devices_place_cells_but_not_their_names(staff_client, manager, device):
    devices.device_place_add(ref=device.ref, cell="u178k", label="Huis van oma Jansen")
    page = staff_client(manager).get(reverse("admin:participants_device_change", args=[device.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Vaste plekken" in html and "u178k" in html
    assert "oma Jansen" not in html
