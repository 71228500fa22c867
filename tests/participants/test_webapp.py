"""The citizens' web app over HTTP: its page, manifest and service worker, the JSON
endpoints (subscribe, area, test, off, opened), their rate limits, and devices in the admin."""

import base64
import json
import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.staticfiles import finders
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.bench.pushendpoint import PushEndpoint, b64url, make_subscriber
from apps.channels import outbox
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.channels.senders import webpush
from apps.governance.models import AuditEntry
from apps.participants import devices, webapp
from apps.participants.models import Device
from tests.fakes import VAPID_PUBLIC

APP = reverse("participants:webapp")
SUBSCRIBE = reverse("participants:webapp_subscribe")
CELL = reverse("participants:webapp_cell")
TEST = reverse("participants:webapp_test")
OFF = reverse("participants:webapp_unsubscribe")
OPENED = reverse("participants:webapp_opened")
DEVICES = reverse("admin:participants_device_changelist")


def subscription(endpoint="https://push.example.net/push/abc") -> dict:
    """What PushSubscription.toJSON() gives in a browser."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(uuid.uuid4().bytes)},
    }


@pytest.fixture(autouse=True)
def _app_settings(vapid_keys, settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False


def post(client, url, data, **extra):
    body = data if isinstance(data, (str, bytes)) else json.dumps(data)
    return client.post(url, body, content_type="application/json", **extra)


@pytest.fixture
def device(client) -> Device:
    response = post(client, SUBSCRIBE, subscription())
    assert response.status_code == 200
    return Device.objects.get(ref=response.json()["device"])


# --- the page, manifest and service worker ------------------------------------------------


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.scripts: list[dict] = []
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "link":
            self.links.append(attrs)


def test_it_says_plainly_what_the_app_stores(client):
    response = client.get(APP)
    assert response.status_code == 200
    html = response.content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Wat de app over u bewaart" in text
    assert "Alleen een grof gebied van een paar kilometer." in text
    assert "Uw precieze locatie verlaat uw telefoon nooit." in text
    assert "Elke keer dat u de app opent, vervangen wij het gebied door het nieuwe." in text
    assert "er is geen geschiedenis van waar u bent geweest" in text
    assert "Na 24 uur vergeten." in text
    assert "Meldingen aanzetten" in text


def test_it_gives_the_page_its_buttons_key_and_csrf_token_without_inline_scripts(client):
    html = client.get(APP).content.decode()
    page = _Page()
    page.feed(html)
    for element_id in ("webapp-subscribe", "webapp-test", "webapp-unsubscribe", "webapp-status"):
        assert element_id in page.ids
    assert f'data-vapid-key="{VAPID_PUBLIC}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)
    assert "<script>" not in html and " on" + "click=" not in html
    manifest = [link for link in page.links if link.get("rel") == "manifest"]
    assert manifest[0]["href"] == reverse("participants:webapp_manifest")
    for script in page.scripts:
        assert finders.find(script["src"].removeprefix("/static/")), script["src"]


def test_it_serves_the_manifest(client):
    response = client.get(reverse("participants:webapp_manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Burgernet"
    assert manifest["start_url"] == "/app/"
    assert manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "nl"
    sizes = set()
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in manifest["icons"])


def test_it_serves_the_service_worker_with_its_scope(client):
    response = client.get(reverse("participants:webapp_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/app/"
    assert "no-cache" in response["Cache-Control"]
    js = response.content.decode()
    for event in ("push", "notificationclick", "pushsubscriptionchange"):
        assert f'addEventListener("{event}"' in js
    assert "requireInteraction" in js and "tag:" in js
    assert _js_string(js, "VAPID_KEY") == VAPID_PUBLIC
    assert _js_string(js, "OPENED_URL") == "/app/geopend/"
    assert _js_string(js, "SUBSCRIBE_URL") == "/app/abonnement/"


def _js_string(js: str, name: str) -> str:
    """The value of `var NAME = "…";` in a script (escapejs writes \\uXXXX escapes)."""
    return json.loads(re.search(rf'var {name} = ("[^"]*");', js).group(1))


def test_it_gives_the_app_the_key_that_signs_the_pushes_in_development(client, settings, tmp_path):
    from apps.bench.pushendpoint import vapid_claims
    from apps.channels import vapid

    settings.DEBUG = True
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""  # the development key file
    settings.VAPID_DEV_KEY_FILE = tmp_path / "vapid-dev.pem"
    key = vapid.public_key()
    assert key != VAPID_PUBLIC

    html = client.get(APP).content.decode()
    js = client.get(reverse("participants:webapp_worker")).content.decode()

    assert f'data-vapid-key="{key}"' in html
    assert _js_string(js, "VAPID_KEY") == key
    header = vapid.HeaderCache().authorization("https://push.example.net/push/abc")
    assert vapid_claims(header)[1] == key  # what push services check subscriptions against


def test_it_tells_the_page_when_push_is_not_configured(client, settings):
    settings.VAPID_PRIVATE_KEY = settings.VAPID_PUBLIC_KEY = ""  # production without keys
    html = client.get(APP).content.decode()
    assert 'data-vapid-key=""' in html
    assert 'data-text="not_configured"' in html


@pytest.mark.parametrize("url", [APP, reverse("participants:webapp_worker")])
def test_it_only_answers_get_on_the_pages(client, url):
    assert client.post(url).status_code == 405


# --- subscribing --------------------------------------------------------------------------


def test_it_subscribes_a_device(client):
    data = subscription()
    response = post(client, SUBSCRIBE, data)
    assert response.status_code == 200
    device = Device.objects.get()
    assert response.json() == {"device": str(device.ref)}
    assert device.endpoint == data["endpoint"]
    assert device.p256dh == data["keys"]["p256dh"]
    assert device.auth == data["keys"]["auth"]
    assert device.language == "nl"
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_updates_instead_of_duplicating_a_known_endpoint(client):
    first = post(client, SUBSCRIBE, subscription()).json()["device"]
    again = post(client, SUBSCRIBE, subscription()).json()["device"]
    assert first == again
    assert Device.objects.count() == 1


def test_it_needs_the_pages_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert post(client, SUBSCRIBE, subscription()).status_code == 403
    html = client.get(APP).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = post(client, SUBSCRIBE, subscription(), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert Device.objects.count() == 1


def _without(data, *path):
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    del target[last]
    return data


def _with(data, value, *path):
    *parents, last = path
    target = data
    for key in parents:
        target = target[key]
    target[last] = value
    return data


def _not_on_curve(data):
    point = bytearray(base64.urlsafe_b64decode(data["keys"]["p256dh"] + "="))
    point[40] ^= 0x10
    return _with(data, b64url(bytes(point)), "keys", "p256dh")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: _with(d, "http://push.example.net/push/abc", "endpoint"), "invalid_endpoint"),
        (lambda d: _with(d, "javascript:alert(1)", "endpoint"), "invalid_endpoint"),
        (lambda d: _with(d, "https://192.168.1.1/push", "endpoint"), "invalid_endpoint"),
        (lambda d: _with(d, "https://169.254.169.254/latest/", "endpoint"), "invalid_endpoint"),
        (lambda d: _with(d, "https://redis.internal/push", "endpoint"), "invalid_endpoint"),
        (lambda d: _with(d, "not base64!", "keys", "p256dh"), "invalid_key"),
        (lambda d: _with(d, "ÿÿÿÿ", "keys", "auth"), "invalid_key"),
        (lambda d: _with(d, b64url(b"\x04" + bytes(32)), "keys", "p256dh"), "invalid_key"),
        (lambda d: _with(d, b64url(bytes(8)), "keys", "auth"), "invalid_key"),
        (_not_on_curve, "invalid_key"),
        (lambda d: _with(d, {"x": 1}, "keys", "p256dh"), "invalid_key"),
        (lambda d: _without(d, "endpoint"), "missing_field"),
        (lambda d: _without(d, "keys"), "missing_field"),
        (lambda d: _without(d, "keys", "auth"), "missing_field"),
        (lambda d: _with(d, "", "keys", "p256dh"), "missing_field"),
        (lambda d: _with(d, "keys", "keys"), "missing_field"),
        (lambda d: _with(d, None, "endpoint"), "missing_field"),
        (lambda d: {**d, "language": ["nl"], "endpoint": 5}, "invalid_endpoint"),
        (lambda d: [d], "invalid_json"),
        (lambda d: json.dumps(d)[:-3], "invalid_json"),
        (lambda d: b"\xff\xfe" + json.dumps(d).encode(), "invalid_json"),
    ],
)
def test_it_refuses_forged_or_broken_subscriptions(client, make, code):
    response = post(client, SUBSCRIBE, make(subscription()))
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert not Device.objects.exists()


def test_it_refuses_form_data(client):
    response = client.post(SUBSCRIBE, {"endpoint": "https://push.example.net/push/abc"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


def test_it_refuses_an_oversized_body_before_reading_it(client):
    data = subscription()
    data["padding"] = "x" * webapp.MAX_BODY_BYTES
    response = post(client, SUBSCRIBE, data)
    assert response.status_code == 400
    assert response.json()["error"] == "too_large"
    assert not Device.objects.exists()


@pytest.mark.parametrize("url", [SUBSCRIBE, CELL, TEST, OFF, OPENED])
@pytest.mark.parametrize("nested", ["[" * 2000 + "]" * 2000, '{"":' * 810 + "1" + "}" * 810])
def test_it_refuses_deeply_nested_json_with_a_400(client, url, nested):
    # Under the size limit, and deep enough that Python's parser would recurse too far.
    assert len(nested) <= webapp.MAX_BODY_BYTES
    response = post(client, url, nested)
    assert response.status_code == 400
    assert response.json() == {"error": "too_deep", "message": "Het verzoek is te diep genest."}


def test_it_accepts_the_nesting_of_a_subscription(client):
    response = post(client, SUBSCRIBE, {**subscription(), "extra": {"a": [1, {"b": 2}]}})
    assert response.status_code == 200


def test_it_refuses_get_on_the_endpoints(client):
    for url in (SUBSCRIBE, CELL, TEST, OFF, OPENED):
        assert client.get(url).status_code == 405


def test_it_limits_subscriptions_per_ip(client):
    limit, _window = webapp.LIMITS["subscribe.ip"]
    for n in range(limit):
        data = subscription(f"https://push.example.net/push/{n}")
        assert post(client, SUBSCRIBE, data, REMOTE_ADDR="198.51.100.20").status_code == 200
    response = post(
        client, SUBSCRIBE, subscription("https://x.example/p"), REMOTE_ADDR="198.51.100.20"
    )
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert Device.objects.count() == limit
    other = post(
        client, SUBSCRIBE, subscription("https://x.example/p"), REMOTE_ADDR="198.51.100.21"
    )
    assert other.status_code == 200


@pytest.mark.parametrize("remote", ["203.0.113.50", "10.0.0.2"])
def test_a_spoofed_forwarded_for_does_not_escape_the_limit(client, settings, remote):
    """Straight from the internet (around the proxy) or through it: a new X-Forwarded-For
    on every request is still one client."""
    settings.PROXY_COUNT = 1
    limit, _window = webapp.LIMITS["subscribe.ip"]
    statuses = []
    for n in range(limit + 1):
        real = "" if remote != "10.0.0.2" else ", 198.51.100.30"  # what our proxy appends
        response = post(
            client,
            SUBSCRIBE,
            subscription(f"https://push.example.net/push/s{n}"),
            REMOTE_ADDR=remote,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}{real}",
        )
        statuses.append(response.status_code)
    assert statuses == [200] * limit + [429]


def test_it_allows_the_local_push_service_in_tests_when_told(client, settings):
    data = subscription("http://127.0.0.1:8765/push/t1")
    assert post(client, SUBSCRIBE, data).status_code == 400
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    assert post(client, SUBSCRIBE, data).status_code == 200


# --- the area -----------------------------------------------------------------------------


def test_it_stores_the_reported_cell_and_its_centre(client, device):
    response = post(client, CELL, {"device": str(device.ref), "cell": "u178k"})
    assert response.status_code == 200
    assert response.json() == {"cell": "u178k"}
    device.refresh_from_db()
    assert device.cell == "u178k"
    assert device.cell_lat == pytest.approx(52.0971, abs=1e-3)
    assert device.cell_lon == pytest.approx(5.1196, abs=1e-3)
    assert post(client, CELL, {"device": str(device.ref), "cell": "u173z"}).status_code == 200
    device.refresh_from_db()
    assert device.cell == "u173z"


@pytest.mark.parametrize(
    ("cell", "extra"),
    [
        ("u178kmq", {}),  # 7 characters: too precise
        ("u178", {}),
        ("u178a", {}),
        ("u178k", {"lat": 52.0907, "lon": 5.1214}),  # coordinates are never accepted
    ],
)
def test_it_refuses_cells_that_are_not_coarse_geohashes(client, device, cell, extra):
    response = post(client, CELL, {"device": str(device.ref), "cell": cell, **extra})
    if extra:
        # The cell is fine; the coordinates are ignored, and not stored anywhere.
        assert response.status_code == 200
        stored = json.dumps(list(Device.objects.values()), default=str)
        assert "52.0907" not in stored and "5.1214" not in stored
        return
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cell"
    device.refresh_from_db()
    assert device.cell == ""


def test_it_answers_404_for_an_unknown_device(client):
    response = post(client, CELL, {"device": str(uuid.uuid4()), "cell": "u178k"})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_device"
    assert post(client, CELL, {"device": "1", "cell": "u178k"}).status_code == 404
    assert post(client, CELL, {"cell": "u178k"}).status_code == 400


def test_it_limits_cell_reports_per_device(client, device):
    limit, _window = webapp.LIMITS["cell.device"]
    for _ in range(limit):
        assert post(client, CELL, {"device": str(device.ref), "cell": "u178k"}).status_code == 200
    assert post(client, CELL, {"device": str(device.ref), "cell": "u178k"}).status_code == 429


# --- switching off ------------------------------------------------------------------------


def test_it_deletes_the_device_when_switched_off(client, device):
    post(client, CELL, {"device": str(device.ref), "cell": "u178k"})
    response = post(client, OFF, {"device": str(device.ref)})
    assert response.status_code == 200
    assert response.json() == {"deleted": True}
    assert not Device.objects.exists()
    assert post(client, OFF, {"device": str(device.ref)}).json() == {"deleted": False}


# --- the test notification ----------------------------------------------------------------


@pytest.fixture
def push_service(settings):
    """The local push service, subscriptions to it allowed."""
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    with PushEndpoint() as endpoint:
        yield endpoint


def test_it_sends_a_test_notification_that_arrives_encrypted(
    client, push_service, django_capture_on_commit_callbacks
):
    phone = make_subscriber(push_service.url_for("phone-1"))
    ref = post(client, SUBSCRIBE, phone.subscription_info()).json()["device"]

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, TEST, {"device": ref})
    outbox.drain()  # what the outbox workers do

    assert response.status_code == 202
    assert response.json() == {"queued": True}
    assert push_service.wait_for(1, timeout=10)
    [push] = push_service.pushes_for("phone-1")
    assert push.headers["content-encoding"] == "aes128gcm"
    assert 0 < int(push.headers["ttl"]) <= devices.TEST_TTL_S
    assert push.headers["urgency"] == "normal"
    assert push.headers["topic"]
    assert push.headers["authorization"].startswith("vapid t=")
    assert b"Testmelding" not in push.body  # encrypted for this phone only
    payload = json.loads(phone.decrypt(push.body))
    assert payload["title"] == "Testmelding van Burgernet"
    assert payload["body"] == "Meldingen werken op dit apparaat. U hoeft niets te doen."
    assert payload["url"] == "/app/"
    assert payload["urgency"] == "normal"
    delivery = Delivery.objects.get()
    assert delivery.device.ref == uuid.UUID(ref)
    assert delivery.channel == Channel.WEBPUSH
    assert delivery.state == Delivery.State.SENT
    assert payload["delivery"] == delivery.pk

    # The citizen taps it: the service worker reports the token from the payload.
    opened = post(Client(enforce_csrf_checks=True), OPENED, {"token": payload["token"]})
    assert opened.json() == {"opened": True}
    delivery.refresh_from_db()
    assert delivery.opened_at is not None


def test_it_writes_the_test_notification_in_the_devices_language(
    client, push_service, django_capture_on_commit_callbacks
):
    phone = make_subscriber(push_service.url_for("phone-en"))
    ref = post(client, SUBSCRIBE, {**phone.subscription_info(), "language": "en"}).json()["device"]
    assert Device.objects.get(ref=ref).language == "en"
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, TEST, {"device": ref}).status_code == 202
    message = OutgoingMessage.objects.get()
    assert message.source == f"participants.device:{Device.objects.get().pk}:test"
    assert message.topic  # a repeated test replaces the one still undelivered


def test_it_limits_test_notifications_per_device(client, device):
    limit, _window = webapp.LIMITS["test.device"]
    for _ in range(limit):
        assert post(client, TEST, {"device": str(device.ref)}).status_code == 202
    response = post(client, TEST, {"device": str(device.ref)})
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert OutgoingMessage.objects.count() == limit


def test_it_limits_test_notifications_per_ip(client):
    limit, _window = webapp.LIMITS["test.ip"]
    refs = [
        post(client, SUBSCRIBE, subscription(f"https://push.example.net/{n}")).json()["device"]
        for n in range(limit + 1)
    ]
    for ref in refs[:limit]:
        assert post(client, TEST, {"device": ref}, REMOTE_ADDR="203.0.113.9").status_code == 202
    assert post(client, TEST, {"device": refs[-1]}, REMOTE_ADDR="203.0.113.9").status_code == 429


def test_it_refuses_a_test_notification_for_an_unknown_device(client):
    response = post(client, TEST, {"device": str(uuid.uuid4())})
    assert response.status_code == 404
    assert not OutgoingMessage.objects.exists()


# --- opened -------------------------------------------------------------------------------


def _delivery(device) -> Delivery:
    message = OutgoingMessage.objects.create(source="tests:1", title="t", body="b")
    return Delivery.objects.create(message=message, channel=Channel.WEBPUSH, device=device)


def test_it_records_an_opened_notification_once_without_a_csrf_token(device):
    client = Client(enforce_csrf_checks=True)
    delivery = _delivery(device)
    token = webpush.opened_token(delivery.pk)
    response = post(client, OPENED, {"token": token})
    assert response.status_code == 200
    assert response.json() == {"opened": True}
    delivery.refresh_from_db()
    opened_at = delivery.opened_at
    assert opened_at is not None
    assert post(client, OPENED, {"token": token}).json() == {"opened": False}
    delivery.refresh_from_db()
    assert delivery.opened_at == opened_at


@pytest.mark.parametrize("token", ["forged", 42, None, {"d": 1}])
def test_it_refuses_a_forged_opened_report(client, device, token):
    delivery = _delivery(device)
    response = post(client, OPENED, {"token": token})
    assert response.status_code == 400
    forged = signing.dumps({"d": delivery.pk}, salt="another-purpose")
    assert post(client, OPENED, {"token": forged}).status_code == 400
    delivery.refresh_from_db()
    assert delivery.opened_at is None


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def reported(device):
    devices.device_report_cell(ref=device.ref, cell="u178k")
    device.refresh_from_db()
    return device


def test_it_shows_managers_devices_with_cell_and_freshness_but_no_secrets(
    staff_client, manager, reported
):
    stale = Device.objects.create(
        endpoint="https://push.example.net/push/stale",
        p256dh="x",
        auth="y",
        cell="u173z",
        cell_updated_at=timezone.now() - timedelta(hours=30),
    )
    client = staff_client(manager)
    html = client.get(DEVICES).content.decode()
    assert "u178k" in html and "u173z" in html
    assert str(reported.ref)[:8] in html
    for secret in (reported.endpoint, reported.p256dh, reported.auth, stale.endpoint):
        assert secret not in html
    assert "icon-yes" in html and "icon-no" in html  # fresh and stale
    page = client.get(reverse("admin:participants_device_change", args=[reported.pk]))
    assert page.status_code == 200
    detail = page.content.decode()
    for secret in (reported.endpoint, reported.p256dh, reported.auth):
        assert secret not in detail
    assert 'name="is_test_device"' in detail
    assert 'name="cell"' not in detail  # read-only
    fresh_only = client.get(DEVICES, {"cell": "fresh"}).content.decode()
    assert "u178k" in fresh_only and "u173z" not in fresh_only


def test_it_finds_a_device_by_the_code_the_app_shows(staff_client, manager, reported):
    other = Device.objects.create(endpoint="https://push.example.net/o", p256dh="x", auth="y")
    html = staff_client(manager).get(DEVICES, {"q": str(reported.ref)[:8]}).content.decode()
    assert str(reported.ref)[:8] in html
    assert str(other.ref)[:8] not in html


def test_it_lets_a_manager_mark_a_test_device(staff_client, manager, reported):
    client = staff_client(manager)
    change = reverse("admin:participants_device_change", args=[reported.pk])
    response = client.post(change, {"is_test_device": "on"}, REMOTE_ADDR="192.0.2.5")
    assert response.status_code == 302
    reported.refresh_from_db()
    assert reported.is_test_device
    assert reported.cell == "u178k"  # nothing else changed
    entry = AuditEntry.objects.get(verb="device.changed")
    assert entry.actor == manager and entry.ip == "192.0.2.5"
    response = client.post(
        DEVICES, {"action": "unmark_test_device", "_selected_action": [reported.pk]}
    )
    assert response.status_code == 302
    reported.refresh_from_db()
    assert not reported.is_test_device


@pytest.mark.parametrize("user_fixture", ["operator_mn", "woerden_author", "national_operator"])
def test_it_hides_devices_from_staff_who_are_not_managers(
    request, staff_client, user_fixture, reported
):
    client = staff_client(request.getfixturevalue(user_fixture))
    assert client.get(DEVICES).status_code == 403
    change = reverse("admin:participants_device_change", args=[reported.pk])
    assert client.get(change).status_code == 403
    assert client.post(change, {"is_test_device": "on"}).status_code == 403
    reported.refresh_from_db()
    assert not reported.is_test_device
    assert DEVICES not in client.get(reverse("admin:index")).content.decode()


def test_it_keeps_anonymous_visitors_out_of_the_device_list(client, reported):
    response = client.get(DEVICES)
    assert response.status_code == 302
    assert "u178k" not in response.content.decode()
