"""Verbs on web-app devices: subscribe, report the area cell, unsubscribe, forget, test.

A device is anonymous: it holds a Web Push subscription and, at most, the coarse area
cell it last reported. Nothing here keeps a history: a new cell overwrites the old one,
a stale cell is forgotten, and the audit trail records only what staff do (a citizen's
cell in an audit entry would be exactly the location history we promise not to keep).
"""

import base64
import binascii
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

from . import geohash
from .models import Device

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


class UnknownDevice(Exception):
    """No device has this ref (it unsubscribed, or its subscription expired)."""


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


# --- staff --------------------------------------------------------------------------------


@transaction.atomic
def device_set_test(*, device: Device, is_test_device: bool, by, request=None) -> Device:
    """Mark a staff member's device as a test device (it then receives exercises), or
    unmark it."""
    if device.is_test_device != is_test_device:
        Device.objects.filter(pk=device.pk).update(is_test_device=is_test_device)
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
