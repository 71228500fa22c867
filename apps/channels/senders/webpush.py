"""The web-push sender: a chunk of pushes at once over reused connections, each encrypted
for its own device (RFC 8291, aes128gcm), signed with VAPID (RFC 8292).

pywebpush's `webpush()` would send `TTL: 0` (a phone that is offline gets nothing), has no
timeout, writes `aud`/`exp` into the claims dict it is given and signs again for every push,
and opens a connection per call. Here pywebpush only encrypts (`WebPusher.encode`); aiohttp
sends, with at most WEBPUSH_CONCURRENCY requests in flight over one connection pool, and
one VAPID header per push-service origin is signed and reused until it nears its expiry.
Measured with `manage.py bench_fanout` (docs/benchmarks.md), against a local HTTPS push
service on 2 busy cores: one sender process sends 7–10 times as many pushes a second as one
`webpush()` call per push does, two processes about 12 times as many.
"""

import asyncio
import base64
import hashlib
import json
import re
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
from django.conf import settings
from django.core import signing
from django.utils import timezone
from py_vapid import VapidException
from pywebpush import WebPusher

from .. import vapid
from .base import Outcome

DEFAULT_CONCURRENCY = 50
DEFAULT_TIMEOUT_S = 10.0
# A push service must accept an encrypted body of 4096 bytes (RFC 8030, section 7.2).
# aes128gcm adds a header (salt 16, record size 4, key-id length 1, sender key 65) and,
# to the one record, a delimiter byte and a 16-byte tag.
MAX_BODY_BYTES = 4096
MAX_PAYLOAD_BYTES = MAX_BODY_BYTES - (16 + 4 + 1 + 65) - (1 + 16)
# The web app's service worker posts this token back when the citizen opens the push.
OPENED_SALT = "channels.delivery-opened"
# What the service worker reads; anything else in the payload comes from message.data.
CORE_KEYS = ("title", "body", "url", "topic", "urgency", "timestamp", "message")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def push_topic(message) -> str:
    """The Topic header (RFC 8030): 32 URL-safe base64 characters derived from the message's
    topic, or from the message itself. A push with the same topic replaces one the push
    service still holds, so a repeat after a crash reaches the device once."""
    source = message.topic or f"message-{message.pk}"
    digest = hashlib.sha256(source.encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def opened_token(delivery_id: int) -> str:
    """A signed token naming the delivery, for the web app's "opened" report."""
    return signing.dumps({"d": delivery_id}, salt=OPENED_SALT, compress=False)


def _json(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _shorten(data: dict, key: str, limit: int) -> dict:
    """`data` with data[key] cut (with an ellipsis) to the longest prefix that fits."""
    text = data.get(key) or ""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_json({**data, key: text[:mid] + "…"})) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return {**data, key: text[:lo] + "…" if lo else ""}


def fit(data: dict, limit: int) -> dict:
    """`data` made to fit in `limit` bytes of JSON: the body is shortened first, then the
    extras (image, references) go, then title and link are shortened."""
    if len(_json(data)) <= limit:
        return data
    data = _shorten(data, "body", limit)
    if len(_json(data)) <= limit:
        return data
    data = {k: v for k, v in data.items() if k in CORE_KEYS}
    for key in ("body", "title", "url"):
        data = _shorten(data, key, limit)
        if len(_json(data)) <= limit:
            return data
    raise ValueError("push payload does not fit")


_RESERVE = len(_json({"delivery": 10**19, "token": opened_token(10**19)}))


def payload_base(message) -> dict:
    """The part of the payload all deliveries of `message` share, fitted so that the
    delivery's own part still fits."""
    data = {k: v for k, v in (message.data or {}).items() if k not in CORE_KEYS}
    data.update(
        title=message.title,
        body=message.body,
        url=message.url,
        topic=push_topic(message),
        urgency=message.urgency,
        timestamp=int(message.created_at.timestamp() * 1000),
        message=message.pk,
    )
    return fit(data, MAX_PAYLOAD_BYTES - _RESERVE)


def payload(base: dict, delivery_id: int) -> bytes:
    body = _json({**base, "delivery": delivery_id, "token": opened_token(delivery_id)})
    if len(body) > MAX_PAYLOAD_BYTES:  # only a message.data that will not fit gets here
        body = _json(fit({**base, "delivery": delivery_id}, MAX_PAYLOAD_BYTES))
    return body


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())


def outcome_for(status: int, headers) -> Outcome:
    """What a push service's answer means for the delivery."""
    if 200 <= status < 300:
        return Outcome.sent((headers.get("Location") or "")[:200])
    if status in (404, 410):
        return Outcome.gone()
    if status in (408, 429) or status >= 500:
        return Outcome.transient(
            f"push service answered {status}",
            retry_after=retry_after_seconds(headers.get("Retry-After")),
        )
    if status == 413:
        return Outcome.permanent("payload too large (413)")
    if status in (401, 403):
        return Outcome.permanent(f"push service refused the VAPID header ({status})")
    return Outcome.permanent(f"push service answered {status}")


@dataclass
class _Push:
    endpoint: str
    keys: dict
    data: bytes
    headers: dict


class WebPushSender:
    kind = "webpush"

    def __init__(self, *, concurrency: int | None = None, timeout: float | None = None):
        self._concurrency = concurrency
        self._timeout = timeout
        self.vapid_headers = vapid.HeaderCache()

    @property
    def concurrency(self) -> int:
        return self._concurrency or getattr(settings, "WEBPUSH_CONCURRENCY", DEFAULT_CONCURRENCY)

    @property
    def timeout(self) -> float:
        return self._timeout or getattr(settings, "WEBPUSH_TIMEOUT", DEFAULT_TIMEOUT_S)

    def deliver(self, deliveries: Sequence, *, deadline: float | None = None) -> list[Outcome]:
        vapid.key()  # ImproperlyConfigured before anything is sent
        now = timezone.now()
        bases: dict[int, dict] = {}
        jobs: list[_Push | Outcome] = []
        for delivery in deliveries:
            device, message = delivery.device, delivery.message
            if device is None:
                jobs.append(Outcome.permanent("device gone"))
                continue
            ttl = int((message.expires_at - now).total_seconds())
            if ttl <= 0:
                jobs.append(Outcome.permanent("expired"))
                continue
            if message.pk not in bases:
                bases[message.pk] = payload_base(message)
            try:
                authorization = self.vapid_headers.authorization(device.endpoint)
            except VapidException:  # no https://host[:port] to sign for
                jobs.append(Outcome.permanent("invalid endpoint"))
                continue
            headers = {
                "TTL": str(ttl),
                "Urgency": "high" if message.urgency == "high" else "normal",
                "Topic": bases[message.pk]["topic"],
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "Authorization": authorization,
            }
            jobs.append(
                _Push(
                    endpoint=device.endpoint,
                    keys={"p256dh": device.p256dh, "auth": device.auth},
                    data=payload(bases[message.pk], delivery.pk),
                    headers=headers,
                )
            )
        return _run(self._send_all(jobs, deadline))

    async def _send_all(self, jobs: list, deadline: float | None) -> list[Outcome]:
        pushes = [job for job in jobs if isinstance(job, _Push)]
        if not pushes:
            return list(jobs)
        timeout = aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(5.0, self.timeout))
        connector = aiohttp.TCPConnector(
            limit=self.concurrency, ttl_dns_cache=300, ssl=_tls_verification()
        )
        slots = asyncio.Semaphore(self.concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            sent = await asyncio.gather(
                *(self._send_one(session, slots, push, deadline) for push in pushes)
            )
        results = iter(sent)
        return [next(results) if isinstance(job, _Push) else job for job in jobs]

    async def _send_one(self, session, slots, push: _Push, deadline) -> Outcome:
        async with slots:
            if deadline is not None and time.monotonic() > deadline:
                return Outcome.skipped()
            try:
                # Encrypted only now, so a full pipe of requests never waits for all of it.
                pusher = WebPusher({"endpoint": push.endpoint, "keys": push.keys})
                body = pusher.encode(push.data, "aes128gcm")["body"]
            except Exception:
                return Outcome.permanent("invalid subscription keys")
            try:
                async with session.post(push.endpoint, data=body, headers=push.headers) as resp:
                    await resp.read()  # drain it, so the connection goes back to the pool
                    return outcome_for(resp.status, resp.headers)
            except TimeoutError:
                return Outcome.transient("timeout")
            except aiohttp.ClientError as exc:
                return Outcome.transient(f"connection error ({type(exc).__name__})")


def _tls_verification() -> ssl.SSLContext | bool:
    """How push services' certificates are checked: against the system's CAs, or — where
    WEBPUSH_CA_FILE names one (a local push service over TLS, as the fan-out benchmark
    starts) — against that CA only."""
    cafile = getattr(settings, "WEBPUSH_CA_FILE", "")
    return ssl.create_default_context(cafile=cafile) if cafile else True


def _run(coroutine):
    """Run `coroutine` to the end from synchronous code, also where a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
