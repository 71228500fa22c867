"""Web-app devices as services: geohash cells, subscribing, the area cell, forgetting it,
switching off, test devices, and "opened" reports."""

import base64
import json
import random
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.channels.senders import webpush
from apps.governance.models import AuditEntry
from apps.participants import devices, geohash, tasks
from apps.participants.models import Device

ROOT = Path(__file__).resolve().parents[2]


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_keys() -> tuple[str, str]:
    """A browser's subscription keys: an uncompressed P-256 point and a 16-byte secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point), b64url(random.randbytes(16))


def subscribe(endpoint="https://push.example.net/push/abc", **kwargs) -> Device:
    p256dh, auth = new_keys()
    return devices.device_subscribe(
        endpoint=endpoint,
        p256dh=kwargs.pop("p256dh", p256dh),
        auth=kwargs.pop("auth", auth),
        **kwargs,
    )


# --- geohash ------------------------------------------------------------------------------


def _reference_encode(lat: float, lon: float, precision: int) -> str:
    """A second, independent way: fixed-point integers whose bits are interleaved."""
    bits = 5 * precision
    lon_bits, lat_bits = (bits + 1) // 2, bits // 2
    x = min(int((lon + 180) / 360 * 2**lon_bits), 2**lon_bits - 1)
    y = min(int((lat + 90) / 180 * 2**lat_bits), 2**lat_bits - 1)
    value = 0
    for i in range(bits):
        number, width = (x, lon_bits) if i % 2 == 0 else (y, lat_bits)  # longitude first
        value = value << 1 | (number >> (width - 1 - i // 2)) & 1
    alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
    return "".join(alphabet[(value >> (5 * (precision - 1 - k))) & 31] for k in range(precision))


def test_it_encodes_published_geohashes():
    # Wikipedia's examples: Jutland (u4pruydqqvj) and "ezs42" near León, Spain.
    assert geohash.encode(57.64911, 10.40744, 11) == "u4pruydqqvj"
    assert geohash.encode(42.605, -5.603, 5) == "ezs42"
    lat, lon = geohash.decode("ezs42")
    assert lat == pytest.approx(42.605, abs=0.001)
    assert lon == pytest.approx(-5.603, abs=0.001)


def test_it_places_utrecht_in_its_cell():
    assert geohash.encode(52.09, 5.12, 5) == "u178k"
    south, west, north, east = geohash.bounds("u178k")
    assert south <= 52.09 <= north
    assert west <= 5.12 <= east
    # A precision-5 cell here is about 4.9 km high and 3 km wide.
    assert (north - south) * 111.2 == pytest.approx(4.9, abs=0.1)
    assert (east - west) * 111.2 * 0.615 == pytest.approx(3.0, abs=0.1)


def test_it_agrees_with_an_independent_implementation():
    rng = random.Random(20260301)
    for _ in range(2000):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        precision = rng.randint(1, 9)
        cell = geohash.encode(lat, lon, precision)
        assert cell == _reference_encode(lat, lon, precision)
        south, west, north, east = geohash.bounds(cell)
        assert south <= lat <= north and west <= lon <= east
        assert geohash.encode(*geohash.decode(cell), precision) == cell


@pytest.mark.parametrize("cell", ["", "u178a", "u178i", "u178l", "u178o", "U178K", "u1 8k", 5])
def test_it_knows_what_is_not_a_geohash(cell):
    assert not geohash.is_valid(cell)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_it_computes_the_same_cells_in_the_browser_script():
    rng = random.Random(7)
    points = [(rng.uniform(50.5, 53.7), rng.uniform(3.2, 7.3)) for _ in range(300)]
    points += [(52.09, 5.12), (-33.8688, 151.2093), (0.0, 0.0), (90, 180), (-90, -180)]
    script = (
        "const g = require(process.argv[1]);"
        "const points = JSON.parse(process.argv[2]);"
        "console.log(JSON.stringify(points.map(p => g.encode(p[0], p[1], 5))));"
    )
    out = subprocess.run(
        ["node", "-e", script, str(ROOT / "static/webapp/geohash.js"), json.dumps(points)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == [geohash.encode(lat, lon, 5) for lat, lon in points]


# --- subscribing --------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _production_endpoints(settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False


def test_it_creates_a_device_from_a_subscription(db):
    p256dh, auth = new_keys()
    device = devices.device_subscribe(
        endpoint="https://fcm.googleapis.com/fcm/send/abc:def",
        p256dh=p256dh + "=",  # padding is accepted and dropped
        auth=auth,
        language="en",
    )
    device.refresh_from_db()
    assert device.endpoint == "https://fcm.googleapis.com/fcm/send/abc:def"
    assert device.p256dh == p256dh
    assert device.auth == auth
    assert device.language == "en"
    assert device.cell == ""
    assert device.last_seen_at is not None
    assert not device.is_test_device


def test_it_updates_the_device_of_an_endpoint_it_knows(db):
    first = subscribe()
    p256dh, auth = new_keys()
    again = devices.device_subscribe(
        endpoint="https://push.example.net/push/abc", p256dh=p256dh, auth=auth
    )
    assert again.pk == first.pk and again.ref == first.ref
    assert Device.objects.count() == 1
    assert Device.objects.get().p256dh == p256dh


def test_it_moves_a_renewed_subscription_and_keeps_the_cell(db):
    device = subscribe("https://push.example.net/push/old")
    devices.device_report_cell(ref=device.ref, cell="u178k")
    renewed = subscribe("https://push.example.net/push/new", ref=device.ref)
    assert renewed.pk == device.pk
    assert Device.objects.count() == 1
    assert renewed.endpoint == "https://push.example.net/push/new"
    assert Device.objects.get().cell == "u178k"


def test_it_drops_the_old_row_when_a_renewed_endpoint_is_already_known(db):
    old = subscribe("https://push.example.net/push/old")
    known = subscribe("https://push.example.net/push/new")
    device = subscribe("https://push.example.net/push/new", ref=old.ref)
    assert device.pk == known.pk
    assert list(Device.objects.values_list("pk", flat=True)) == [known.pk]


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.net/push/abc",  # not https
        "ftp://push.example.net/push/abc",
        "push.example.net/push/abc",
        "https://",
        "https://user:secret@push.example.net/push/abc",
        "https://127.0.0.1/push/abc",  # our own network
        "https://10.1.2.3/push/abc",
        "https://[::1]/push/abc",
        "https://localhost/push/abc",
        "http://127.0.0.1:8765/push/abc",  # only in development and tests
        "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://redis/push/abc",  # an internal name
        "https://100.64.0.1/push/abc",
        "https://[::ffff:10.0.0.1]/push/abc",
        "https://push.example.net/" + "a" * 1000,
        "",
        None,
        ["https://push.example.net/push/abc"],
    ],
)
def test_it_refuses_endpoints_that_are_not_a_push_service(db, endpoint):
    p256dh, auth = new_keys()
    with pytest.raises(ValidationError) as caught:
        devices.device_subscribe(endpoint=endpoint, p256dh=p256dh, auth=auth)
    assert caught.value.code == "invalid_endpoint"
    assert not Device.objects.exists()


def test_it_accepts_only_the_push_services_allowed_when_they_are_named(db, settings):
    settings.WEBPUSH_ALLOWED_HOSTS = ["fcm.googleapis.com", "*.push.services.mozilla.com"]
    assert subscribe("https://fcm.googleapis.com/fcm/send/abc")
    assert subscribe("https://updates.push.services.mozilla.com/wpush/v2/abc")
    with pytest.raises(ValidationError) as caught:
        subscribe("https://push.example.net/push/abc")
    assert caught.value.code == "invalid_endpoint"
    assert Device.objects.count() == 2


def test_it_allows_a_local_push_service_only_when_told(db, settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    assert subscribe("http://127.0.0.1:8765/push/a1").endpoint.startswith("http://127.0.0.1")
    assert subscribe("http://localhost:8765/push/a2")
    with pytest.raises(ValidationError):
        subscribe("http://10.1.2.3/push/a3")  # loopback only
    with pytest.raises(ValidationError):
        subscribe("http://push.example.net/push/a4")


def _not_on_curve() -> str:
    point = bytearray(base64.urlsafe_b64decode(new_keys()[0] + "="))
    point[-1] ^= 1  # y no longer matches x
    return b64url(bytes(point))


def _compressed_point() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64url(
        key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    )


@pytest.mark.parametrize(
    ("p256dh", "auth"),
    [
        (lambda: "not base64!", lambda: new_keys()[1]),
        (lambda: new_keys()[0], lambda: "%%%%"),
        (lambda: new_keys()[0].replace("-", "+").replace("_", "/") + "+/", lambda: new_keys()[1]),
        (lambda: b64url(b"\x04" + bytes(63)), lambda: new_keys()[1]),  # 64 bytes
        (lambda: b64url(b"\x04" + bytes(65)), lambda: new_keys()[1]),  # 66 bytes
        (lambda: b64url(b"\x05" + bytes(64)), lambda: new_keys()[1]),  # not uncompressed
        (_compressed_point, lambda: new_keys()[1]),
        (_not_on_curve, lambda: new_keys()[1]),
        (lambda: b64url(b"\x04" + bytes(64)), lambda: new_keys()[1]),  # (0, 0)
        (lambda: new_keys()[0], lambda: b64url(bytes(15))),
        (lambda: new_keys()[0], lambda: b64url(bytes(17))),
        (lambda: "", lambda: new_keys()[1]),
        (lambda: new_keys()[0], lambda: None),
        (lambda: 12345, lambda: new_keys()[1]),
        (lambda: "A" * 5000, lambda: new_keys()[1]),
    ],
)
def test_it_refuses_keys_that_are_not_a_browsers(db, p256dh, auth):
    with pytest.raises(ValidationError) as caught:
        devices.device_subscribe(
            endpoint="https://push.example.net/push/abc", p256dh=p256dh(), auth=auth()
        )
    assert caught.value.code == "invalid_key"
    assert not Device.objects.exists()


def test_it_keeps_an_unknown_language_out(db):
    assert subscribe(language="xx").language == "nl"
    assert subscribe("https://push.example.net/push/2", language=["en"]).language == "nl"


# --- the area cell ------------------------------------------------------------------------


def test_it_stores_only_the_cell_and_its_centre(db):
    device = subscribe()
    devices.device_report_cell(ref=device.ref, cell="u178k")
    device.refresh_from_db()
    assert device.cell == "u178k"
    assert (device.cell_lat, device.cell_lon) == geohash.decode("u178k")
    assert device.cell_updated_at is not None
    assert device.last_seen_at >= device.cell_updated_at


def test_it_overwrites_the_cell_and_keeps_no_history(db):
    device = subscribe()
    devices.device_report_cell(ref=device.ref, cell="u178k")
    devices.device_report_cell(ref=device.ref, cell="u173z")  # Amsterdam
    device.refresh_from_db()
    assert device.cell == "u173z"
    assert (device.cell_lat, device.cell_lon) == geohash.decode("u173z")
    stored = json.dumps(list(Device.objects.values()), default=str)
    assert "u178k" not in stored
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("cell", ["u178kzz", "u178kz", "u178", "u178a", "U178K", "", 12345, None])
def test_it_refuses_cells_that_are_not_five_geohash_characters(db, cell):
    device = subscribe()
    devices.device_report_cell(ref=device.ref, cell="u178k")
    with pytest.raises(ValidationError) as caught:
        devices.device_report_cell(ref=device.ref, cell=cell)
    assert caught.value.code == "invalid_cell"
    device.refresh_from_db()
    assert device.cell == "u178k"


def test_it_refuses_a_cell_for_an_unknown_device(db):
    import uuid

    with pytest.raises(devices.UnknownDevice):
        devices.device_report_cell(ref=uuid.uuid4(), cell="u178k")


# --- forgetting ---------------------------------------------------------------------------


def _aged(hours: float) -> Device:
    device = subscribe(f"https://push.example.net/push/{hours}")
    devices.device_report_cell(ref=device.ref, cell="u178k")
    Device.objects.filter(pk=device.pk).update(
        cell_updated_at=timezone.now() - timedelta(hours=hours)
    )
    return device


def test_it_forgets_cells_after_24_hours_and_not_before(db):
    fresh = _aged(23.9)
    stale = _aged(24.1)
    never = subscribe("https://push.example.net/push/none")
    assert devices.cells_forget_stale() == 1
    fresh.refresh_from_db()
    stale.refresh_from_db()
    assert fresh.cell == "u178k" and fresh.cell_lat is not None
    assert stale.cell == "" and stale.cell_lat is None and stale.cell_lon is None
    assert stale.cell_updated_at is None
    assert Device.objects.filter(pk=never.pk).exists()
    assert devices.cells_forget_stale() == 0
    # The device itself stays: only where it was is forgotten.
    assert Device.objects.count() == 3


def test_it_forgets_through_the_task_and_the_command(db, capsys):
    _aged(25)
    assert tasks.forget_stale_cells() == 1
    _aged(30)
    call_command("forget_stale_cells")
    assert "1 stale cells forgotten" in capsys.readouterr().out
    assert not Device.objects.exclude(cell="").exists()


def test_it_schedules_the_forgetting_hourly_in_django_q(db):
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="participants.forget_stale_cells")
    assert schedule.schedule_type == Schedule.HOURLY
    assert schedule.repeats == -1
    assert import_string(schedule.func) is tasks.forget_stale_cells


# --- switching off, test devices, opened --------------------------------------------------


def test_it_deletes_a_device_that_switches_off(db):
    device = subscribe()
    devices.device_report_cell(ref=device.ref, cell="u178k")
    assert devices.device_unsubscribe(ref=device.ref) is True
    assert not Device.objects.exists()
    assert devices.device_unsubscribe(ref=device.ref) is False


def test_it_marks_a_test_device_with_an_audit_entry(db, manager):
    device = subscribe()
    devices.device_set_test(device=device, is_test_device=True, by=manager)
    assert Device.objects.get().is_test_device
    entry = AuditEntry.objects.get(verb="device.changed")
    assert entry.actor == manager
    assert entry.detail == {"is_test_device": True}
    devices.device_set_test(device=device, is_test_device=True, by=manager)
    assert AuditEntry.objects.filter(verb="device.changed").count() == 1


def _delivery(device: Device) -> Delivery:
    message = OutgoingMessage.objects.create(source="tests:1", title="t", body="b")
    return Delivery.objects.create(message=message, channel=Channel.WEBPUSH, device=device)


def test_it_records_an_opened_delivery_once(db):
    delivery = _delivery(subscribe())
    token = webpush.opened_token(delivery.pk)
    assert devices.delivery_mark_opened(token=token) is True
    delivery.refresh_from_db()
    first = delivery.opened_at
    assert first is not None
    assert devices.delivery_mark_opened(token=token) is False
    delivery.refresh_from_db()
    assert delivery.opened_at == first


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        signing.dumps({"d": 1}, salt="participants.manage-link"),  # another purpose
        signing.dumps({"x": 1}, salt=webpush.OPENED_SALT),
        signing.dumps({"d": 999999}, salt=webpush.OPENED_SALT),  # no such delivery
    ],
)
def test_it_refuses_forged_opened_tokens(db, token):
    delivery = _delivery(subscribe())
    with pytest.raises(devices.InvalidOpenedToken):
        devices.delivery_mark_opened(token=token)
    delivery.refresh_from_db()
    assert delivery.opened_at is None


def test_it_has_postgresql_vacuum_the_device_table_after_a_fixed_number_of_rows(
    table_options,
):
    options = table_options("participants_device")
    assert "autovacuum_vacuum_scale_factor=0" in options
    assert "autovacuum_vacuum_threshold=20000" in options
