"""Verbs on web-app devices: subscribe, report the area cell, unsubscribe, forget, test,
and the fixed places (vaste plekken) a user chose.

A device is anonymous: it holds a Web Push subscription, at most the coarse area cell it
last reported, and up to three fixed places, each a coarse cell too. Nothing here keeps a
history: a new cell overwrites the old one, a stale cell is forgotten, a removed place is
deleted, and the audit trail records only what staff do (a citizen's cell in an audit
entry would be exactly the location history we promise not to keep).
"""

import base64
import binascii
import math
import re
import uuid
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from apps.channels import endpoints, outbox
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.channels.senders.webpush import OPENED_SALT
from apps.governance import audit
from apps.governance.geo import MSG_POINT_OUTSIDE, NETHERLANDS
from apps.governance.models import PostcodeArea
from apps.web.text import clean_text

from . import geohash
from .models import MAX_PLACES_PER_DEVICE, PLACE_LABEL_MAX_LENGTH, Device, DevicePlace

# Precision 5: about 4.9 km north–south and 3 km east–west in the Netherlands. Finer
# cells are refused: they would come close to a precise location.
CELL_PRECISION = 5
# A cell older than this is forgotten (and must not be used for targeting).
CELL_MAX_AGE = timedelta(hours=24)

MAX_ENDPOINT_LENGTH = Device._meta.get_field("endpoint").max_length
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")

MSG_ENDPOINT = _("Dit is geen geldig push-adres.")
MSG_KEY = _("De sleutels van het push-abonnement zijn ongeldig.")
MSG_CELL = _("Dit is geen geldig gebied.")
MSG_UNKNOWN_DEVICE = _("Dit apparaat is niet bekend. Zet de meldingen opnieuw aan.")
MSG_POSTCODE = _("Vul een geldige postcode in, zoals 3441 of 3441 AB.")
MSG_POSTCODE_UNKNOWN = _("Deze postcode kennen wij niet. Controleer de cijfers.")
MSG_POINT = _("Dit is geen geldig punt op de kaart.")
MSG_PLACE_SOURCE = _("Kies een plek met een postcode of met uw huidige plek.")
MSG_TOO_MANY_PLACES = _(
    "U heeft al %(max)s vaste plekken. Verwijder eerst een plek als u een andere wilt kiezen."
)
MSG_PLACE_TWICE = _("Deze plek ligt in hetzelfde gebied als een vaste plek die u al heeft.")
MSG_LABEL = _("Een naam voor een plek is hoogstens %(max)s tekens lang.")
MSG_UNKNOWN_PLACE = _("Deze vaste plek is niet bekend. Misschien is hij al verwijderd.")


class UnknownDevice(Exception):
    """No device has this ref (it unsubscribed, or its subscription expired)."""


class UnknownPlace(Exception):
    """This device has no place in that cell (removed already, or another device's)."""


class InvalidOpenedToken(Exception):
    """An "opened" report whose token is forged, expired, or names no push delivery."""


# --- validation ---------------------------------------------------------------------------


def validate_endpoint(endpoint) -> str:
    """A push service's https URL on a public host: the server will POST to it, so hosts
    inside our own network (and, where WEBPUSH_ALLOWED_HOSTS names the push services, any
    other) are refused; the rule is channels.endpoints', asked again when sending."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValidationError(MSG_ENDPOINT, code="invalid_endpoint")
    try:
        URLValidator(schemes=["https", "http"])(endpoint)
    except ValidationError as exc:
        raise ValidationError(MSG_ENDPOINT, code="invalid_endpoint") from exc
    if endpoints.endpoint_problem(endpoint):
        raise ValidationError(MSG_ENDPOINT, code="invalid_endpoint")
    return endpoint


def _base64url_bytes(value) -> bytes:
    if not isinstance(value, str) or len(value) > 200 or not _BASE64URL.fullmatch(value):
        raise ValidationError(MSG_KEY, code="invalid_key")
    unpadded = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(MSG_KEY, code="invalid_key") from exc


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def validate_keys(p256dh, auth) -> tuple[str, str]:
    """The subscription's keys as unpadded base64url: p256dh must be a point on P-256 (a
    forged one would make every push to this device fail), auth a 16-byte secret."""
    raw_key = _base64url_bytes(p256dh)
    raw_auth = _base64url_bytes(auth)
    if len(raw_key) != P256DH_BYTES or raw_key[0] != 0x04 or len(raw_auth) != AUTH_BYTES:
        raise ValidationError(MSG_KEY, code="invalid_key")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError as exc:  # not on the curve
        raise ValidationError(MSG_KEY, code="invalid_key") from exc
    return _base64url(raw_key), _base64url(raw_auth)


def validate_cell(cell) -> str:
    """A geohash of exactly CELL_PRECISION characters (lower case)."""
    if not isinstance(cell, str) or not geohash.is_valid(cell, precision=CELL_PRECISION):
        raise ValidationError(MSG_CELL, code="invalid_cell")
    return cell


# A Dutch postcode: its four digits, with or without the two letters (only the digits are
# used: the area of a four-digit postcode is already finer than a cell).
_POSTCODE = re.compile(r"([1-9][0-9]{3})(?: ?[A-Z]{2})?")


def postcode_cell(postcode) -> str:
    """The cell that holds the centre of a Dutch postcode area (the offline PC4 table, the
    same the geocoder uses; nothing is sent to an outside service). ValidationError for a
    malformed or unknown postcode."""
    value = " ".join(postcode.upper().split()) if isinstance(postcode, str) else ""
    match = _POSTCODE.fullmatch(value)
    if not match:
        raise ValidationError(MSG_POSTCODE, code="invalid_postcode")
    area = PostcodeArea.objects.filter(pc4=match.group(1)).values("lat", "lon").first()
    if area is None:
        raise ValidationError(MSG_POSTCODE_UNKNOWN, code="unknown_postcode")
    return point_cell(area["lat"], area["lon"])


def point_cell(lat, lon) -> str:
    """The cell that holds a point where Burgernet works (governance.geo.NETHERLANDS)."""
    if isinstance(lat, bool) or isinstance(lon, bool):
        raise ValidationError(MSG_POINT, code="invalid_point")
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError) as exc:
        raise ValidationError(MSG_POINT, code="invalid_point") from exc
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValidationError(MSG_POINT, code="invalid_point")
    if not NETHERLANDS.contains(lat, lon):
        raise ValidationError(MSG_POINT_OUTSIDE, code="outside_area")
    return geohash.encode(lat, lon, CELL_PRECISION)


def validate_place_cell(cell) -> str:
    """A cell as the live one (validate_cell) whose centre lies where Burgernet works."""
    cell = validate_cell(cell)
    if not NETHERLANDS.contains(*geohash.decode(cell)):
        raise ValidationError(MSG_POINT_OUTSIDE, code="outside_area")
    return cell


def validate_place_label(label) -> str:
    if label is None:
        return ""
    if not isinstance(label, str):
        raise ValidationError(
            MSG_LABEL, code="invalid_label", params={"max": PLACE_LABEL_MAX_LENGTH}
        )
    label = " ".join(clean_text(label).split())
    if len(label) > PLACE_LABEL_MAX_LENGTH:
        raise ValidationError(
            MSG_LABEL, code="invalid_label", params={"max": PLACE_LABEL_MAX_LENGTH}
        )
    return label


def parse_ref(value) -> uuid.UUID:
    """A device's ref as sent by the web app; UnknownDevice for anything else."""
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise UnknownDevice from exc


def _language(language) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return language if isinstance(language, str) and language in codes else settings.LANGUAGE_CODE


# --- the device's own verbs ---------------------------------------------------------------


def device_subscribe(
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    language: str = "",
    ref: uuid.UUID | None = None,
) -> Device:
    """Create or update the device of a Web Push subscription; return it.

    The same endpoint again (the app re-sending its subscription) updates its row. A
    known `ref` with a new endpoint (the browser renewed the subscription) moves that
    row to the new endpoint, keeping its cell.
    """
    endpoint = validate_endpoint(endpoint)
    p256dh, auth = validate_keys(p256dh, auth)
    fields = {
        "p256dh": p256dh,
        "auth": auth,
        "language": _language(language),
        "last_seen_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            return _upsert(endpoint, ref, fields)
    except IntegrityError:
        # The same endpoint subscribed by a concurrent request: update that row.
        with transaction.atomic():
            return _upsert(endpoint, None, fields)


def _upsert(endpoint: str, ref: uuid.UUID | None, fields: dict) -> Device:
    device = Device.objects.select_for_update().filter(endpoint=endpoint).first()
    previous = None
    if ref is not None:
        previous = Device.objects.select_for_update().filter(ref=ref).first()
    if device is None and previous is not None:
        device = previous
    elif device is not None and previous is not None and previous.pk != device.pk:
        previous.delete()  # the same app's old subscription, now replaced
    if device is None:
        return Device.objects.create(endpoint=endpoint, **fields)
    device.endpoint = endpoint
    for name, value in fields.items():
        setattr(device, name, value)
    device.save(update_fields=["endpoint", *fields])
    return device


def device_report_cell(*, ref: uuid.UUID, cell: str) -> Device:
    """Overwrite the device's area with `cell` and its centre (computed here, not taken
    from the app). UnknownDevice when no device has this ref."""
    cell = validate_cell(cell)
    lat, lon = geohash.decode(cell)
    now = timezone.now()
    updated = Device.objects.filter(ref=ref).update(
        cell=cell, cell_lat=lat, cell_lon=lon, cell_updated_at=now, last_seen_at=now
    )
    if not updated:
        raise UnknownDevice
    return Device.objects.get(ref=ref)


def device_unsubscribe(*, ref: uuid.UUID) -> bool:
    """Delete the device and everything it reported; False when it was already gone."""
    deleted, _rows = Device.objects.filter(ref=ref).delete()
    return bool(deleted)


def cells_forget_stale(*, now: datetime | None = None) -> int:
    """Clear every cell older than CELL_MAX_AGE; return how many devices lost theirs."""
    cutoff = (now or timezone.now()) - CELL_MAX_AGE
    return Device.objects.filter(cell_updated_at__lt=cutoff).update(
        cell="", cell_lat=None, cell_lon=None, cell_updated_at=None
    )


# --- fixed places (vaste plekken) ---------------------------------------------------------


def device_places(*, ref: uuid.UUID) -> list[DevicePlace]:
    """The device's fixed places, oldest first; UnknownDevice when no device has this ref."""
    device = Device.objects.filter(ref=ref).only("pk").first()
    if device is None:
        raise UnknownDevice
    return list(DevicePlace.objects.filter(device=device).order_by("created_at", "id"))


def device_place_add(
    *,
    ref: uuid.UUID,
    postcode: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    cell: str | None = None,
    label: str = "",
) -> DevicePlace:
    """Add a fixed place to the device, chosen by a Dutch postcode, a point or a cell (one
    of them); only the coarse cell that holds it is stored, with its centre.

    Refused (ValidationError, nothing stored): a malformed or unknown postcode, a point or
    cell outside where Burgernet works, a cell the device already has a place in, a label
    that is too long, and a place beyond MAX_PLACES_PER_DEVICE. UnknownDevice when no
    device has this ref.
    """
    given = [value is not None for value in (postcode, cell)] + [lat is not None or lon is not None]
    if sum(given) != 1:
        raise ValidationError(MSG_PLACE_SOURCE, code="invalid_place")
    label = validate_place_label(label)
    if postcode is not None:
        cell = postcode_cell(postcode)
    elif cell is not None:
        cell = validate_place_cell(cell)
    else:
        cell = point_cell(lat, lon)
    cell_lat, cell_lon = geohash.decode(cell)
    with transaction.atomic():
        # The device's row lock makes the count and the insert one step: two adds at once
        # cannot both see room for one more.
        device = (
            Device.objects.select_for_update().filter(ref=ref).only("pk", "is_test_device").first()
        )
        if device is None:
            raise UnknownDevice
        places = DevicePlace.objects.filter(device=device)
        if places.filter(cell=cell).exists():
            raise ValidationError(MSG_PLACE_TWICE, code="duplicate_place")
        if places.count() >= MAX_PLACES_PER_DEVICE:
            raise ValidationError(
                MSG_TOO_MANY_PLACES, code="too_many_places", params={"max": MAX_PLACES_PER_DEVICE}
            )
        return DevicePlace.objects.create(
            device=device,
            cell=cell,
            cell_lat=cell_lat,
            cell_lon=cell_lon,
            label=label,
            is_test_device=device.is_test_device,
        )


def device_place_remove(*, ref: uuid.UUID, cell: str) -> None:
    """Delete the device's place in `cell`. UnknownDevice when no device has this ref,
    UnknownPlace when it has no place there (another device's place is never touched)."""
    cell = validate_cell(cell)
    device = Device.objects.filter(ref=ref).only("pk").first()
    if device is None:
        raise UnknownDevice
    deleted, _rows = DevicePlace.objects.filter(device=device, cell=cell).delete()
    if not deleted:
        raise UnknownPlace


# --- staff --------------------------------------------------------------------------------


@transaction.atomic
def device_set_test(*, device: Device, is_test_device: bool, by, request=None) -> Device:
    """Mark a staff member's device as a test device (it then receives exercises), or
    unmark it."""
    if device.is_test_device != is_test_device:
        Device.objects.filter(pk=device.pk).update(is_test_device=is_test_device)
        DevicePlace.objects.filter(device=device).update(is_test_device=is_test_device)
        device.is_test_device = is_test_device
        audit.record(
            verb="device.changed",
            actor=by,
            target=device,
            request=request,
            detail={"is_test_device": is_test_device},
        )
    return device


# --- the test notification ----------------------------------------------------------------

TEST_TTL_S = 10 * 60


def device_send_test(*, device: Device):
    """Send this device a test notification through the outbox, like any alert.

    Returns the OutgoingMessage."""
    with translation.override(device.language), transaction.atomic():
        message = OutgoingMessage.objects.create(
            source=f"participants.device:{device.pk}:test",
            title=str(_("Testmelding van Burgernet")),
            body=str(_("Meldingen werken op dit apparaat. U hoeft niets te doen.")),
            url="/app/",
            topic=f"test-{device.pk}"[:32],
            urgency=OutgoingMessage.Urgency.NORMAL,
            ttl_seconds=TEST_TTL_S,
        )
        outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[device.pk])
        outbox.release(message)
    return message


# --- opened -------------------------------------------------------------------------------

OPENED_MAX_AGE_S = 7 * 24 * 3600


def delivery_mark_opened(*, token: str) -> bool:
    """Record that the citizen opened a pushed message; True the first time only.

    The token travels in the push payload, signed by the web-push sender, so the service
    worker needs no CSRF token and nobody can mark another's delivery."""
    try:
        data = signing.loads(token, salt=OPENED_SALT, max_age=OPENED_MAX_AGE_S)
        delivery_id = int(data["d"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidOpenedToken from exc
    deliveries = Delivery.objects.filter(pk=delivery_id, channel=Channel.WEBPUSH)
    if not deliveries.exists():
        raise InvalidOpenedToken
    return bool(deliveries.filter(opened_at__isnull=True).update(opened_at=timezone.now()))


# --- a manager's test of the web-push channel ---------------------------------------------

MSG_NO_OWN_DEVICE = _(
    "Op dit apparaat staan de meldingen van de web-app niet aan. Open de web-app, zet de "
    "meldingen aan en probeer het opnieuw."
)


def staff_device_test(*, endpoint: str, by) -> OutgoingMessage:
    """A manager's test of the web-push channel (the channel settings screen): a test
    notification, through the outbox like any alert, to the web app on the manager's own
    device, which the screen names by its push subscription's endpoint (the browser
    tells only its own). Audited without the endpoint."""
    from apps.governance.channel_settings import VERB
    from apps.governance.policy import Scope, require

    require(by, VERB, Scope.nation())
    device = Device.objects.filter(endpoint=(endpoint or "").strip()).first() if endpoint else None
    if device is None:
        raise ValidationError(MSG_NO_OWN_DEVICE, code="no_device")
    message = device_send_test(device=device)
    audit.record(verb="channel.tested", actor=by, detail={"channel": Channel.WEBPUSH.value})
    return message
