"""The server's VAPID identity (RFC 8292): its key pair, and the signed header per push service.

Production takes the pair from VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY. Development (DEBUG)
without them makes a key once and keeps it in BASE_DIR/.vapid-dev.pem (gitignored), so the
browsers' subscriptions survive a restart. The web app's applicationServerKey is
`public_key()`, whichever way the key came.
"""

import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02
from py_vapid.utils import b64urlencode

# RFC 8292 allows an `exp` at most 24 hours ahead; push services reject more (and clocks
# differ), so a header lives 12 hours and is renewed an hour before it runs out.
HEADER_LIFETIME_S = 12 * 3600
RENEW_BEFORE_S = 3600

_lock = threading.Lock()
_keys: dict[tuple, Vapid02] = {}


def _dev_key_file() -> Path:
    return Path(settings.VAPID_DEV_KEY_FILE)


def _public_b64(vapid: Vapid02) -> str:
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64urlencode(point)


def _load_dev_key(path: Path) -> Vapid02:
    if path.exists():
        return Vapid02.from_file(str(path))
    vapid = Vapid02()
    vapid.generate_keys()
    # Written aside, readable by this user only (it signs as this server), then linked
    # into place: a process starting at the same moment finds a whole file or none.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(vapid.private_pem())
    try:
        os.link(tmp, path)
    except FileExistsError:
        return Vapid02.from_file(str(path))
    finally:
        tmp.unlink()
    return vapid


def _load() -> Vapid02:
    private, public = settings.VAPID_PRIVATE_KEY, settings.VAPID_PUBLIC_KEY
    if not private:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "Web push needs VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY (base64url); "
                "the README shows how to generate a pair."
            )
        return _load_dev_key(_dev_key_file())
    try:
        vapid = Vapid02.from_string(private_key=private)
    except Exception as exc:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY is not a base64url P-256 private key (raw or DER)."
        ) from exc
    if not public and not settings.DEBUG:
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY must be set with VAPID_PRIVATE_KEY.")
    if public and public.rstrip("=") != _public_b64(vapid):
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY.")
    return vapid


def key() -> Vapid02:
    """The VAPID key pair; ImproperlyConfigured when production has none."""
    ident = (
        settings.VAPID_PRIVATE_KEY,
        settings.VAPID_PUBLIC_KEY,
        settings.DEBUG,
        None if settings.VAPID_PRIVATE_KEY else str(_dev_key_file()),
    )
    with _lock:
        if ident not in _keys:
            _keys[ident] = _load()
        return _keys[ident]


def public_key() -> str:
    """The applicationServerKey for PushManager.subscribe(): uncompressed point, base64url."""
    return _public_b64(key())


def origin(endpoint: str) -> str:
    """A push service's origin (scheme, host and port): the VAPID `aud`."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class HeaderCache:
    """One signed VAPID Authorization header per push-service origin, renewed in time.

    Signing costs an ECDSA signature; a fan-out of 100,000 pushes to a handful of push
    services needs a handful of them. Every signing gets its own claims dict.
    """

    def __init__(self, *, lifetime: int = HEADER_LIFETIME_S, renew_before: int = RENEW_BEFORE_S):
        self.lifetime = lifetime
        self.renew_before = renew_before
        self._headers: dict[tuple[str, int], tuple[str, int]] = {}
        self._lock = threading.Lock()

    def authorization(self, endpoint: str, *, now: float | None = None) -> str:
        vapid = key()
        aud = origin(endpoint)
        now = time.time() if now is None else now
        cache_key = (aud, id(vapid))
        with self._lock:
            cached = self._headers.get(cache_key)
            if cached and now < cached[1] - self.renew_before:
                return cached[0]
            exp = int(now) + self.lifetime
            claims = {"aud": aud, "exp": exp, "sub": settings.VAPID_SUBJECT}
            header = vapid.sign(claims)["Authorization"]
            self._headers[cache_key] = (header, exp)
            return header
