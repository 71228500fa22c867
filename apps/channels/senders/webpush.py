"""The web-push sender: a chunk of pushes at once over kept connections, each encrypted
for its own device (RFC 8291, aes128gcm, apps/channels/ece.py), signed with VAPID
(RFC 8292).

pywebpush's `webpush()` would send `TTL: 0` (a phone that is offline gets nothing), has no
timeout, signs again for every push and opens a connection per call. Here each worker
process keeps its connections to the push services from chunk to chunk (PushClient, over
the small HTTP/1.1 client in http1.py) and sends a chunk in one selector loop in its own
thread: a push is encrypted when a connection is free for it, and each answer is handed
on as it comes, so the outbox writes results back during the chunk. At most
WEBPUSH_CONCURRENCY requests are in flight, and per push service as many as its distance
needs (OriginGate's window); one VAPID header per push service is signed
and reused until it nears its expiry. Per push service a gate (OriginGate) slows down on
429 and 5xx and pauses for what Retry-After asks. Redirects are not followed: a redirect
is a failed delivery.
Figures: `manage.py bench_fanout` and `bench_faults` (docs/benchmarks.md).
"""

import atexit
import base64
import hashlib
import hmac
import json
import os
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.utils import timezone
from py_vapid import VapidException

from .. import ece, endpoints, texts, vapid
from ..texts import TEXT_KEYS
from . import http1
from .base import REPORT_INTERVAL_S, Outcome, Report, Reporter

DEFAULT_TIMEOUT_S = 10.0
# A push service must accept an encrypted body of 4096 bytes (RFC 8030, section 7.2).
# aes128gcm adds a header (salt 16, record size 4, key-id length 1, sender key 65) and,
# to the one record, a delimiter byte and a 16-byte tag. The JSON stays PAYLOAD_MARGIN
# below what would just fit, for a push service that counts its limit a little tighter.
MAX_BODY_BYTES = 4096
PAYLOAD_MARGIN = 96
MAX_PAYLOAD_BYTES = MAX_BODY_BYTES - (16 + 4 + 1 + 65) - (1 + 16) - PAYLOAD_MARGIN
# What a notification shows: longer titles and bodies are cut by the phone or the browser
# (Android shows about 65 characters of title, and a few lines of body when expanded),
# wherever that falls; shortened here, the call line stays (texts.shorten).
MAX_TITLE_CHARS = 65
MAX_BODY_CHARS = 240
# The web app's service worker posts this token back when the citizen opens the push.
OPENED_SALT = "channels.delivery-opened"
# What the service worker reads; anything else in the payload comes from message.data.
CORE_KEYS = ("title", "body", "url", "topic", "urgency", "timestamp", "message", "lang")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def push_topic(message) -> str:
    """The Topic header (RFC 8030): 32 URL-safe base64 characters derived from the message's
    topic, or from the message itself. A push with the same topic replaces one the push
    service still holds, so a repeat after a crash reaches the device once."""
    source = message.topic or f"message-{message.pk}"
    digest = hashlib.sha256(source.encode()).digest()[:24]
    return base64.urlsafe_b64encode(digest).decode()


def opened_token(delivery_id: int) -> str:
    """A signed token naming the delivery, for the web app's "opened" report (what
    `signing.dumps({"d": id}, salt=OPENED_SALT)` makes; a chunk uses OpenedTokens)."""
    return OpenedTokens()(delivery_id)


class OpenedTokens:
    """opened_token() for a whole chunk at a third of the cost (10.8 → ~3 µs a push):
    the same token that `signing.dumps({"d": id}, salt=OPENED_SALT)` makes, and that
    `signing.loads` checks, with the signing key derived and the timestamp read once.
    (Django signs `b64(json):b62(time)` with HMAC-SHA256 keyed by
    sha256(salt + "signer" + SECRET_KEY); a test holds this to signing.dumps.)"""

    def __init__(self):
        secret = settings.SECRET_KEY
        secret = secret.encode() if isinstance(secret, str) else secret
        key = hashlib.sha256((OPENED_SALT + "signer").encode() + secret).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._stamp = signing.b62_encode(int(time.time()))

    def __call__(self, delivery_id: int) -> str:
        value = b"%s:%s" % (
            signing.b64_encode(b'{"d":%d}' % delivery_id),
            self._stamp.encode(),
        )
        mac = self._mac.copy()
        mac.update(value)
        return (value + b":" + signing.b64_encode(mac.digest())).decode()


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
    """`data` made to fit in `limit` bytes of JSON: the extras (image, references) go
    first, the largest first, then body, title and link are shortened (the body and title
    are within what a notification shows already, notification_text)."""
    if len(_json(data)) <= limit:
        return data
    extras = sorted((k for k in data if k not in CORE_KEYS), key=lambda k: len(_json({k: data[k]})))
    while extras and len(_json(data)) > limit:
        data = {k: v for k, v in data.items() if k != extras[-1]}
        extras.pop()
    for key in ("body", "title", "url"):
        if len(_json(data)) <= limit:
            return data
        data = _shorten(data, key, limit)
    if len(_json(data)) <= limit:
        return data
    raise ValueError("push payload does not fit")


_RESERVE = len(_json({"delivery": 10**19, "token": opened_token(10**19)}))


def notification_text(message) -> tuple[str, str]:
    """The title and body a notification shows for `message` (a texts.Localized one; a raw
    one is Dutch): within MAX_TITLE_CHARS and MAX_BODY_CHARS, shortened at a word, the
    body by importance (the free description first, the call line kept)."""
    message = texts.as_localized(message)
    title = texts.shorten_text(message.title.strip(), MAX_TITLE_CHARS)
    body = texts.shorten(
        message.body,
        fits=lambda text: len(text) <= MAX_BODY_CHARS,
        span=message.data.get("shorten_first"),
        call=message.data.get("call", ""),
    )
    return title, body


def payload_base(message) -> dict:
    """The part of the payload all deliveries of `message` (a texts.Localized one: in its
    reader's language; a raw one is Dutch) share, fitted so that the delivery's own part
    still fits. An unsaved message (a preview) is stamped now."""
    message = texts.as_localized(message)
    title, body = notification_text(message)
    data = {k: v for k, v in message.data.items() if k not in CORE_KEYS and k not in TEXT_KEYS}
    created = message.created_at or timezone.now()
    data.update(
        title=title,
        body=body,
        url=message.url,
        topic=push_topic(message),
        urgency=message.urgency,
        timestamp=int(created.timestamp() * 1000),
        message=message.pk,
        lang=message.language,
    )
    return fit(data, MAX_PAYLOAD_BYTES - _RESERVE)


def payload(
    base: dict, delivery_id: int, *, prefix: bytes | None = None, tokens=opened_token
) -> bytes:
    """One delivery's payload: `base` with the delivery's id and "opened" token. `prefix`
    is base_prefix(base), made once per message: the JSON of `base` is then not written
    again for every delivery; `tokens` an OpenedTokens made once per chunk."""
    if prefix is None:
        prefix = base_prefix(base)
    token = tokens(delivery_id)
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
    """What a push service's answer means for the delivery (`headers` with lower-case names)."""
    if 200 <= status < 300:
        return Outcome.sent((headers.get("location") or "")[:200])
    if status in (404, 410):
        return Outcome.gone()
    if status in (408, 429) or status >= 500:
        return Outcome.transient(
            f"push service answered {status}",
            retry_after=retry_after_seconds(headers.get("retry-after")),
        )
    if status == 413:
        return Outcome.permanent("payload too large (413)")
    if status in (401, 403):
        return Outcome.permanent(f"push service refused the VAPID header ({status})")
    return Outcome.permanent(f"push service answered {status}")


@dataclass(slots=True)
class _Push:
    position: int
    gate: str  # the push service's origin, as VAPID names it
    target: http1.Origin
    request_line: bytes  # "POST /path HTTP/1.1\r\n"
    head: bytes  # the headers all pushes of this message to this service share
    p256dh: str
    auth: str
    data: bytes
    resent: bool = False  # sent once more after a kept connection had closed


# Per push service (origin): how long to hold off after a 429 or 5xx without Retry-After:
# 1 s, doubling to at most 30 s; a pause up to SHORT_PAUSE_S is waited out inside the chunk,
# a longer one sends the rows back to the queue, due when it ends.
PAUSE_BASE_S = 1.0
PAUSE_MAX_S = 30.0
SHORT_PAUSE_S = 1.0
# How often the loop looks for answers that take too long.
TIMEOUT_CHECK_S = 0.05
# The in-flight window per push service (OriginGate): never below WINDOW_FLOOR; its rate
# measured over intervals of RATE_INTERVAL_S, the fastest of the last RATE_INTERVALS
# counting; the shortest round trip kept for MIN_RTT_KEEP_S.
WINDOW_FLOOR = 16
RATE_INTERVAL_S = 0.1
RATE_INTERVALS = 10
MIN_RTT_KEEP_S = 10.0


class OriginGate:
    """How hard one worker process may push to one push service (an origin) right now.

    Two limits on the requests in flight there, the lower one holds:

    - `limit`, for failures: a 429 or 5xx halves it and pauses the service for the
      Retry-After it asked for (or 1, 2, 4 … 30 s); each run of successes as long as the
      limit adds one again (additive increase, multiplicative decrease, as TCP does). Only
      the first failure of a round counts: fifty requests in flight that all meet the same
      outage halve the limit once, not fifty times.
    - `window`, for distance: about twice what the service can have in flight at the rate
      it answers (the fastest answers of the last second times the shortest round trip of
      the last ten, as TCP BBR estimates a path), at least WINDOW_FLOOR. A service next
      door needs few requests in flight, and few in flight means few sent twice when the
      worker is killed; a service 50 ms away gets as many as it takes to keep the worker
      busy, up to the ceiling (WEBPUSH_CONCURRENCY).
    """

    def __init__(self, ceiling: int):
        self.ceiling = ceiling
        self.limit = ceiling
        self.window = min(WINDOW_FLOOR, ceiling)
        self.in_flight = 0
        self.paused_until = 0.0
        self.strikes = 0
        self.last_slowdown = float("-inf")
        self._successes = 0
        self._min_rtt = float("inf")
        self._min_rtt_until = 0.0
        self._answers = 0
        self._interval_start: float | None = None
        self._rates: deque[float] = deque(maxlen=RATE_INTERVALS)

    def allowed(self) -> int:
        """Requests that may be in flight now."""
        return min(self.limit, self.window)

    def pause_left(self, now: float | None = None) -> float:
        return max(0.0, self.paused_until - (time.monotonic() if now is None else now))

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
            self._measure(now - started, now)

    def _measure(self, rtt: float, now: float) -> None:
        if rtt <= self._min_rtt or now > self._min_rtt_until:
            self._min_rtt, self._min_rtt_until = rtt, now + MIN_RTT_KEEP_S
        if self._interval_start is None:
            self._interval_start = now
        self._answers += 1
        elapsed = now - self._interval_start
        if elapsed >= RATE_INTERVAL_S:
            self._rates.append(self._answers / elapsed)
            self._answers, self._interval_start = 0, now
            in_flight = 2 * max(self._rates) * self._min_rtt
            self.window = min(self.ceiling, round(in_flight) + WINDOW_FLOOR)


class PushClient:
    """What one worker process keeps between chunks: kept-alive connections to the push
    services (http1.Pool) and the gate per push service. `run()` sends a chunk's pushes
    in the calling thread: one selector loop that encrypts a push when a connection is
    free for it, and hands each answer to `done` as it comes (the outbox writes them back
    in small batches from there)."""

    def __init__(self, *, concurrency: int, cafile: str):
        self.pid = os.getpid()
        self.concurrency = concurrency
        self.gates: dict[str, OriginGate] = {}
        # A push goes only to a public address (endpoints.address_allowed), checked each
        # time a connection is opened: DNS may have changed since the device subscribed.
        self.pool = http1.Pool(tls=_tls_context(cafile), address_allowed=endpoints.address_allowed)

    def gate(self, origin: str) -> OriginGate:
        if origin not in self.gates:
            self.gates[origin] = OriginGate(self.concurrency)
        return self.gates[origin]

    def close(self) -> None:
        self.pool.close()

    def run(self, pushes: list[_Push], done, *, timeout: float, deadline: float | None, tick):
        """Send `pushes`; call done(position, outcome) for each, tick() at least every
        REPORT_INTERVAL_S. Pushes not started by `deadline` are skipped; those of a paused
        push service are deferred."""
        _Run(self, pushes, done, timeout=timeout, deadline=deadline).loop(tick)


class _Run:
    """One chunk's pushes going out through a PushClient: waiting per push service, then
    in flight on a connection, then answered (or timed out, or failed)."""

    def __init__(self, client: PushClient, pushes, done, *, timeout: float, deadline):
        self.client = client
        self.pool = client.pool
        self.done = done
        self.timeout = timeout
        self.deadline = deadline
        self.waiting: dict[str, deque[_Push]] = {}
        for push in pushes:
            self.waiting.setdefault(push.gate, deque()).append(push)
        self.in_flight: dict[http1.Connection, tuple[_Push, float]] = {}

    def loop(self, tick) -> None:
        next_check = 0.0
        try:
            while self.waiting or self.in_flight:
                now = time.monotonic()
                wake = self.start(now)
                if self.in_flight:
                    wake = min(wake, now + TIMEOUT_CHECK_S)
                events = self.pool.selector.select(max(0.0, wake - now))
                now = time.monotonic()
                for key, mask in events:
                    self.on_event(key.data, mask, now)
                if self.in_flight and now >= next_check:
                    next_check = now + TIMEOUT_CHECK_S
                    self.time_out(now)
                tick()
        finally:
            # Left early (the write-back failed): what is in flight is given up and its
            # connections closed, so the next chunk starts clean.
            for conn, (push, _started) in self.in_flight.items():
                self.pool.discard(conn)
                self.client.gates[push.gate].in_flight -= 1

    def start(self, now: float) -> float:
        """Start what may start now; returns when to look again at the latest."""
        wake = now + REPORT_INTERVAL_S
        if self.waiting and self.deadline is not None and now > self.deadline:
            for queued in self.waiting.values():
                for push in queued:
                    self.done(push.position, Outcome.skipped())
            self.waiting.clear()
        for name in list(self.waiting):
            queued, gate = self.waiting[name], self.client.gate(name)
            while queued and len(self.in_flight) < self.client.concurrency:
                if (pause := gate.pause_left(now)) > 0:
                    if pause > SHORT_PAUSE_S or (
                        self.deadline is not None and now + pause > self.deadline
                    ):
                        for push in queued:
                            self.done(push.position, Outcome.deferred(pause))
                        queued.clear()
                    else:
                        wake = min(wake, now + pause)
                    break
                if gate.in_flight >= gate.allowed():
                    break
                self.send(queued.popleft(), gate, now)
            if not queued:
                del self.waiting[name]
        return wake

    def send(self, push: _Push, gate: OriginGate, now: float) -> None:
        try:
            # Encrypted only now, so a full pipe of requests never waits for all of it.
            body = ece.encrypt(push.data, ece.Subscriber(push.p256dh, push.auth))
        except ValueError:
            self.done(push.position, Outcome.permanent("invalid subscription keys"))
            return
        try:
            conn = self.pool.connection(push.target, deadline=now + self.timeout)
        except http1.AddressRefused:
            # Not a push service's address (our own network): never sent, and the device
            # is kept (deleting it would tell whoever subscribed it what the address is).
            self.done(push.position, Outcome.permanent("push service address not public"))
            return
        except OSError as exc:
            outcome = Outcome.transient(f"connection error ({type(exc).__name__})")
            gate.record(outcome, started=now, now=now)
            self.done(push.position, outcome)
            return
        conn.send(
            b"%s%sContent-Length: %d\r\n\r\n%s" % (push.request_line, push.head, len(body), body),
            deadline=min(conn.deadline, now + self.timeout),
        )
        gate.in_flight += 1
        self.in_flight[conn] = (push, now)

    def on_event(self, conn: http1.Connection, mask: int, now: float) -> None:
        try:
            answer = conn.on_event(mask)
        except (OSError, http1.ConnectionClosed, http1.ProtocolError) as exc:
            self.pool.discard(conn)
            if conn not in self.in_flight:
                return  # an idle connection, closed by the push service
            push, started = self.in_flight[conn]
            if isinstance(exc, http1.ConnectionClosed) and exc.early and not push.resent:
                # Closed while idle, before our request reached the service: sent once
                # more on a new connection, not counted as an attempt.
                del self.in_flight[conn]
                self.client.gates[push.gate].in_flight -= 1
                push.resent = True
                self.waiting.setdefault(push.gate, deque()).appendleft(push)
                return
            outcome = Outcome.transient(f"connection error ({type(exc).__name__})")
            self.finish(conn, outcome, now)
            return
        if answer is not None and conn in self.in_flight:
            self.pool.release(conn)
            self.finish(conn, outcome_for(answer.status, answer.headers), now)

    def time_out(self, now: float) -> None:
        for conn in [c for c in self.in_flight if c.deadline <= now]:
            self.pool.discard(conn)
            self.finish(conn, Outcome.transient("timeout"), now)

    def finish(self, conn: http1.Connection, outcome: Outcome, now: float) -> None:
        push, started = self.in_flight.pop(conn)
        gate = self.client.gates[push.gate]
        gate.in_flight -= 1
        gate.record(outcome, started=started, now=now)
        self.done(push.position, outcome)


_clients: dict[tuple, PushClient] = {}
_clients_lock = threading.Lock()


def push_client(*, concurrency: int) -> PushClient:
    """This process's client (a forked worker makes its own: the parent's connections are
    not its to use)."""
    cafile = settings.WEBPUSH_CA_FILE
    key = (os.getpid(), concurrency, cafile)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] != os.getpid()]:
                del _clients[stale]  # inherited from the parent
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
        return self._concurrency or settings.WEBPUSH_CONCURRENCY

    @property
    def timeout(self) -> float:
        return self._timeout or settings.WEBPUSH_TIMEOUT

    @property
    def client(self) -> PushClient:
        return push_client(concurrency=self.concurrency)

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report: Report | None = None
    ) -> list[Outcome]:
        vapid.key()  # ImproperlyConfigured before anything is sent
        reporter = Reporter(report)
        outcomes: list[Outcome | None] = [None] * len(deliveries)

        def done(position: int, outcome: Outcome) -> None:
            outcomes[position] = outcome
            reporter.add(position, outcome)

        pushes = []
        for position, job in enumerate(self._jobs(deliveries)):
            if isinstance(job, Outcome):
                done(position, job)
            else:
                pushes.append(job)
        if pushes:
            self.client.run(
                pushes, done, timeout=self.timeout, deadline=deadline, tick=reporter.tick
            )
        reporter.flush()
        return outcomes

    def _jobs(self, deliveries: Sequence):
        now = timezone.now()
        bases: dict[tuple[int, str], tuple[dict, bytes]] = {}  # per message and language
        localized = texts.LocalizedCache()
        ttls: dict[int, int] = {}  # per message: what is left of its time to live
        targets: dict[str, tuple[http1.Origin, str] | str] = {}  # per endpoint's origin
        heads: dict[tuple[str, int], bytes] = {}  # per origin and message
        tokens = OpenedTokens()
        for position, delivery in enumerate(deliveries):
            device, message = delivery.device, delivery.message
            if device is None:
                yield Outcome.permanent("device gone")
                continue
            ttl = ttls.get(message.pk)
            if ttl is None:
                ttl = ttls[message.pk] = int((message.expires_at - now).total_seconds())
            if ttl <= 0:
                yield Outcome.permanent("expired")
                continue
            key = (message.pk, texts.reader_language(device))
            if key not in bases:
                base = payload_base(localized(message, key[1]))
                bases[key] = (base, base_prefix(base))
            base, prefix = bases[key]
            origin = vapid.origin(device.endpoint)
            if origin not in targets:
                targets[origin] = self._target(device.endpoint)
            request_line = _request_line(device.endpoint)
            if isinstance(targets[origin], str) or request_line is None:
                refused = targets[origin] if isinstance(targets[origin], str) else ""
                yield Outcome.permanent(refused or "invalid endpoint")
                continue
            target, authorization = targets[origin]
            if (origin, message.pk) not in heads:
                heads[(origin, message.pk)] = (
                    f"Host: {target.host_header()}\r\n"
                    f"TTL: {ttl}\r\n"
                    f"Urgency: {'high' if message.urgency == 'high' else 'normal'}\r\n"
                    f"Topic: {base['topic']}\r\n"
                    "Content-Encoding: aes128gcm\r\n"
                    "Content-Type: application/octet-stream\r\n"
                    f"Authorization: {authorization}\r\n"
                ).encode("latin-1")
            yield _Push(
                position=position,
                gate=origin,
                target=target,
                request_line=request_line,
                head=heads[(origin, message.pk)],
                p256dh=device.p256dh,
                auth=device.auth,
                data=payload(base, delivery.pk, prefix=prefix, tokens=tokens),
            )

    def _target(self, endpoint: str) -> tuple[http1.Origin, str] | str:
        """Where pushes to `endpoint`'s service go, and the VAPID header they carry; why
        not, when the endpoint names no host a push may go to (endpoints.host_problem:
        asked again here, once per push service and chunk, as the rules may have changed
        since the device subscribed)."""
        try:
            parts = urlsplit(endpoint)
            port = parts.port
        except ValueError:
            return ""
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host or not _HOST.match(host):
            return ""
        if problem := endpoints.host_problem(parts.scheme, host):
            return f"push service refused: {problem}"
        try:
            authorization = self.vapid_headers.authorization(endpoint)
        except VapidException:
            return ""
        default_port = 443 if parts.scheme == "https" else 80
        return http1.Origin(parts.scheme, host, port or default_port), authorization


_HOST = re.compile(r"^[a-z0-9._:-]+$")
_PATH = re.compile(r"^/[\x21-\x7e]*$")


def _request_line(endpoint: str) -> bytes | None:
    """The request line of a push to `endpoint`; None when its path is not plain ASCII
    (a push service's endpoints are; anything else could smuggle a header)."""
    parts = urlsplit(endpoint)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _PATH.match(target):
        return None
    return b"POST %s HTTP/1.1\r\n" % target.encode("ascii")


def _tls_context(cafile: str) -> ssl.SSLContext:
    """How push services' certificates are checked: against the system's CAs, or — where
    WEBPUSH_CA_FILE names one (a local push service over TLS, as the fan-out benchmark
    starts) — against that CA only."""
    return ssl.create_default_context(cafile=cafile or None)
