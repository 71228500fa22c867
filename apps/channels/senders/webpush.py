"""The web-push sender: a chunk of pushes at once over kept connections, each encrypted
for its own device (RFC 8291, aes128gcm, apps/channels/ece.py), signed with VAPID
(RFC 8292).

pywebpush's `webpush()` would send `TTL: 0` (a phone that is offline gets nothing), has no
timeout, signs again for every push and opens a connection per call. Here each worker
process keeps one aiohttp session in an event loop of its own thread (PushClient), so
connections and TLS sessions to the push services last from chunk to chunk; the calling
thread builds the payloads and writes the answers back to the database while that thread
waits on the network. At most WEBPUSH_CONCURRENCY requests are in flight; one VAPID header
per push service is signed and reused until it nears its expiry. Per push service a gate
(OriginGate) slows down on 429 and 5xx and pauses for what Retry-After asks.
Figures: `manage.py bench_fanout` and `bench_faults` (docs/benchmarks.md).
"""

import asyncio
import atexit
import base64
import contextlib
import hashlib
import json
import os
import queue
import re
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
import yarl
from django.conf import settings
from django.core import signing
from django.utils import timezone
from py_vapid import VapidException

from .. import ece, vapid
from .base import REPORT_INTERVAL_S, Outcome, Report, Reporter

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


def payload(base: dict, delivery_id: int, *, prefix: bytes | None = None) -> bytes:
    """One delivery's payload: `base` with the delivery's id and "opened" token. `prefix`
    is base_prefix(base), made once per message: the JSON of `base` is then not written
    again for every delivery."""
    if prefix is None:
        prefix = base_prefix(base)
    token = opened_token(delivery_id)
    body = prefix + b',"delivery":%d,"token":"%s"}' % (delivery_id, token.encode())
    if len(body) > MAX_PAYLOAD_BYTES:  # only a message.data that will not fit gets here
        body = _json(fit({**base, "delivery": delivery_id}, MAX_PAYLOAD_BYTES))
    return body


def base_prefix(base: dict) -> bytes:
    """The JSON of `base` without its closing brace, for payload()."""
    return _json(base)[:-1]


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


@dataclass(slots=True)
class _Push:
    position: int
    origin: str
    url: yarl.URL
    p256dh: str
    auth: str
    data: bytes
    headers: dict


# Per push service (origin): how long to hold off after a 429 or 5xx without Retry-After:
# 1 s, doubling to at most 30 s; a pause up to SHORT_PAUSE_S is waited out inside the chunk,
# a longer one sends the rows back to the queue, due when it ends.
PAUSE_BASE_S = 1.0
PAUSE_MAX_S = 30.0
SHORT_PAUSE_S = 1.0


class OriginGate:
    """How hard one worker process may push to one push service (an origin) right now.

    A 429 or 5xx halves the requests it may have in flight there and pauses it for the
    Retry-After it asked for (or 1, 2, 4 … 30 s); each run of successes as long as the
    limit adds one again (additive increase, multiplicative decrease, as TCP does). Only
    the first failure of a round counts: fifty requests in flight that all meet the same
    outage halve the limit once, not fifty times.
    """

    def __init__(self, ceiling: int):
        self.ceiling = ceiling
        self.limit = ceiling
        self.in_flight = 0
        self.paused_until = 0.0
        self.strikes = 0
        self.last_slowdown = float("-inf")
        self._successes = 0
        self._changed: asyncio.Condition | None = None

    def pause_left(self, now: float | None = None) -> float:
        return max(0.0, self.paused_until - (time.monotonic() if now is None else now))

    async def acquire(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Condition()
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def record(self, outcome: Outcome, *, started: float, now: float | None = None) -> None:
        """Learn from one answer of the push service (`started`: when it was asked)."""
        now = time.monotonic() if now is None else now
        if outcome.status == Outcome.TRANSIENT:  # 429, 5xx, a timeout, no connection
            if outcome.retry_after is not None:
                self.paused_until = max(self.paused_until, now + outcome.retry_after)
            if started < self.last_slowdown:
                return  # asked before the last slow-down: the same outage
            self.strikes += 1
            self.last_slowdown = now
            self.limit = max(1, self.limit // 2)
            self._successes = 0
            if outcome.retry_after is None:
                wait = min(PAUSE_BASE_S * 2 ** (self.strikes - 1), PAUSE_MAX_S)
                self.paused_until = max(self.paused_until, now + wait)
        elif outcome.status in (Outcome.SENT, Outcome.GONE):
            self.strikes = 0
            if self.limit < self.ceiling:
                self._successes += 1
                if self._successes >= self.limit:
                    self.limit += 1
                    self._successes = 0


class PushClient:
    """What one process keeps between chunks: an event loop in a thread of its own, one
    aiohttp session on it (connections and TLS sessions to the push services stay open),
    and the gate per push service. The calling thread builds payloads and writes results
    to the database while this thread waits on the network.
    """

    def __init__(self, *, concurrency: int, cafile: str):
        self.pid = os.getpid()
        self.concurrency = concurrency
        self.cafile = cafile
        self.gates: dict[str, OriginGate] = {}
        self._session: aiohttp.ClientSession | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="webpush", daemon=True)
        self._thread.start()

    def gate(self, origin: str) -> OriginGate:
        if origin not in self.gates:
            self.gates[origin] = OriginGate(self.concurrency)
        return self.gates[origin]

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency,
                ttl_dns_cache=300,
                ssl=_tls_verification(self.cafile),
                keepalive_timeout=30,
            )
            # No cookies, no compressed answers, no default headers: a push service
            # answers with a status and a Location, and every byte per push counts.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    def submit(self, coroutine) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        async def close_session():
            if self._session is not None:
                await self._session.close()

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.submit(close_session()).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


_clients: dict[tuple, PushClient] = {}
_clients_lock = threading.Lock()


def push_client(*, concurrency: int) -> PushClient:
    """This process's client (a forked worker makes its own: threads do not survive fork)."""
    cafile = getattr(settings, "WEBPUSH_CA_FILE", "")
    key = (os.getpid(), concurrency, cafile)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] != os.getpid()]:
                del _clients[stale]  # inherited from the parent: its thread is not here
            client = _clients[key] = PushClient(concurrency=concurrency, cafile=cafile)
            atexit.register(client.close)
        return client


def forget_gates() -> None:
    """Forget what this process learnt about the push services (tests)."""
    with _clients_lock:
        for client in _clients.values():
            client.gates.clear()


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

    @property
    def client(self) -> PushClient:
        return push_client(concurrency=self.concurrency)

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report: Report | None = None
    ) -> list[Outcome]:
        vapid.key()  # ImproperlyConfigured before anything is sent
        reporter = Reporter(report)
        outcomes: list[Outcome | None] = [None] * len(deliveries)
        pushes = []
        for position, job in enumerate(self._jobs(deliveries)):
            if isinstance(job, Outcome):
                outcomes[position] = job
                reporter.add(position, job)
            else:
                pushes.append(job)
        if pushes:
            results: queue.SimpleQueue = queue.SimpleQueue()
            client = self.client
            future = client.submit(self._send_all(client, pushes, deadline, results))
            for _ in pushes:
                while True:
                    try:
                        position, outcome = results.get(timeout=REPORT_INTERVAL_S)
                        break
                    except queue.Empty:
                        if future.done():
                            future.result()  # raises what went wrong in the loop
                        reporter.tick()  # keeps the caller's claim alive
                outcomes[position] = outcome
                reporter.add(position, outcome)
            future.result()
        reporter.flush()
        return outcomes

    def _jobs(self, deliveries: Sequence):
        now = timezone.now()
        bases: dict[int, tuple[dict, bytes]] = {}
        authorizations: dict[str, str] = {}  # per push service, for this chunk
        for position, delivery in enumerate(deliveries):
            device, message = delivery.device, delivery.message
            if device is None:
                yield Outcome.permanent("device gone")
                continue
            ttl = int((message.expires_at - now).total_seconds())
            if ttl <= 0:
                yield Outcome.permanent("expired")
                continue
            if message.pk not in bases:
                base = payload_base(message)
                bases[message.pk] = (base, base_prefix(base))
            base, prefix = bases[message.pk]
            origin = vapid.origin(device.endpoint)
            if origin not in authorizations:
                try:
                    authorizations[origin] = self.vapid_headers.authorization(device.endpoint)
                except VapidException:  # no https://host[:port] to sign for
                    authorizations[origin] = ""
            if not authorizations[origin]:
                yield Outcome.permanent("invalid endpoint")
                continue
            try:
                url = yarl.URL(device.endpoint)
            except ValueError:
                yield Outcome.permanent("invalid endpoint")
                continue
            yield _Push(
                position=position,
                origin=origin,
                url=url,
                p256dh=device.p256dh,
                auth=device.auth,
                data=payload(base, delivery.pk, prefix=prefix),
                headers={
                    "TTL": str(ttl),
                    "Urgency": "high" if message.urgency == "high" else "normal",
                    "Topic": base["topic"],
                    "Content-Encoding": "aes128gcm",
                    "Content-Type": "application/octet-stream",
                    "Authorization": authorizations[origin],
                },
            )

    async def _send_all(self, client: PushClient, pushes: list, deadline, results) -> None:
        session = await client.session()
        timeout = aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(5.0, self.timeout))
        slots = asyncio.Semaphore(self.concurrency)

        async def one(push: _Push) -> None:
            try:
                async with slots:
                    outcome = await self._send_one(client, session, timeout, push, deadline)
            except Exception as exc:  # never leave the caller waiting for this push
                outcome = Outcome.transient(f"sender error ({type(exc).__name__})")
            results.put((push.position, outcome))

        await asyncio.gather(*(one(push) for push in pushes))

    async def _send_one(self, client, session, timeout, push: _Push, deadline) -> Outcome:
        gate = client.gate(push.origin)
        while (wait := gate.pause_left()) > 0:
            if wait > SHORT_PAUSE_S or (
                deadline is not None and time.monotonic() + wait > deadline
            ):
                return Outcome.deferred(wait)
            await asyncio.sleep(wait)
        if deadline is not None and time.monotonic() > deadline:
            return Outcome.skipped()
        await gate.acquire()
        started = time.monotonic()
        try:
            if (wait := gate.pause_left()) > 0:  # paused while this one waited its turn
                return Outcome.deferred(wait)
            try:
                # Encrypted only now, so a full pipe of requests never waits for all of it.
                body = ece.encrypt(push.data, ece.Subscriber(push.p256dh, push.auth))
            except ValueError:
                return Outcome.permanent("invalid subscription keys")
            try:
                async with session.post(
                    push.url,
                    data=body,
                    headers=push.headers,
                    timeout=timeout,
                    allow_redirects=False,
                ) as resp:
                    await resp.read()  # drain it, so the connection goes back to the pool
                    outcome = outcome_for(resp.status, resp.headers)
            except TimeoutError:
                outcome = Outcome.transient("timeout")
            except aiohttp.ClientError as exc:
                outcome = Outcome.transient(f"connection error ({type(exc).__name__})")
            gate.record(outcome, started=started)
            return outcome
        finally:
            await gate.release()


def _tls_verification(cafile: str) -> ssl.SSLContext | bool:
    """How push services' certificates are checked: against the system's CAs, or — where
    WEBPUSH_CA_FILE names one (a local push service over TLS, as the fan-out benchmark
    starts) — against that CA only."""
    return ssl.create_default_context(cafile=cafile) if cafile else True
