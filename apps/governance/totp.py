"""The second factor of staff: TOTP devices (django-otp), their codes, secrets and QR codes."""

import hashlib
import time
from base64 import b32encode

import segno
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator"


def confirmed_devices(user):
    return TOTPDevice.objects.devices_for_user(user, confirmed=True)


def has_device(user) -> bool:
    return confirmed_devices(user).exists()


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it when typed in by hand."""
    return b32encode(device.bin_key).decode()


def code_at(device: TOTPDevice, when: float | None = None) -> str:
    """The code the device's authenticator app shows at `when` (now by default)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if when is None else when
    return str(totp.token()).zfill(device.digits)


def qr_svg(device: TOTPDevice) -> str:
    """An inline SVG QR code of the device's otpauth:// URL, made here: no outside service."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, title="QR-code")


def demo_key(username: str) -> str:
    """A fixed, public TOTP key (hex) for a demo user: never for real accounts."""
    return hashlib.sha1(f"burgernet-demo-totp:{username}".encode()).hexdigest()  # noqa: S324


class VerifyResult:
    OK = "ok"
    WRONG = "wrong"
    THROTTLED = "throttled"
    NO_DEVICE = "no_device"


def verify(user, token: str) -> tuple[str, TOTPDevice | None]:
    """Check a code against the user's confirmed devices.

    Returns (result, device). Devices are locked while checked, so one code cannot be used
    twice by two requests at once; django-otp throttles a device after failed codes.
    """
    with transaction.atomic():
        devices = list(confirmed_devices(user).select_for_update())
        if not devices:
            return VerifyResult.NO_DEVICE, None
        allowed = [d for d in devices if d.verify_is_allowed()[0]]
        if not allowed:
            return VerifyResult.THROTTLED, None
        for device in allowed:
            if device.verify_token(token):
                return VerifyResult.OK, device
    return VerifyResult.WRONG, None
