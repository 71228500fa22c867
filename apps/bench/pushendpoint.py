"""A local Web Push service for development, tests and benchmarks, and a browser's side of it.

`PushEndpoint` is a threaded HTTP server on 127.0.0.1 that accepts `POST /push/<id>` like a
push service (FCM, Mozilla autopush): it checks the VAPID header, records headers and body,
and answers 201 with a `Location` — or what it is told to answer for some ids (410, 429
with Retry-After, 500, a slow answer for timeouts). `Subscriber` is what a browser holds: a
P-256 key pair and an auth secret, so a test can decrypt what the server sent.

Needs no Django: `python -m apps.bench.pushendpoint --port 8765` runs one on its own
(`--fast`: on aiohttp's asyncio server, counting only, for benchmarks such as
`manage.py bench_fanout`); `GET /_stats` answers {"received": n}.
"""

import argparse
import base64
import contextlib
import json
import os
import re
import signal
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt

PUSH_PATH = re.compile(r"^/push/([A-Za-z0-9_\-.]{1,200})$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# The browser's side ----------------------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    """A push subscription as a browser makes it: endpoint, P-256 key pair, auth secret."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        """The public key as the browser hands it over: uncompressed point, base64url."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription_info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}

    def decrypt(self, body: bytes) -> bytes:
        return decrypt(body, private_key=self.private_key, auth_secret=self.auth_secret)


def make_subscriber(endpoint: str) -> Subscriber:
    """A new subscription like PushManager.subscribe() makes: fresh keys, 16-byte secret."""
    return Subscriber(
        endpoint=endpoint,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        auth_secret=os.urandom(16),
    )


def decrypt(body: bytes, *, private_key: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """Decrypt an aes128gcm push body (RFC 8291) with the receiver's key and auth secret.

    The sender's ephemeral public key travels in the body's header (its key id).
    """
    return http_ece.decrypt(
        body, private_key=private_key, auth_secret=auth_secret, version="aes128gcm"
    )


def vapid_claims(authorization: str) -> tuple[dict, str]:
    """Verify a `vapid t=<jwt>,k=<key>` header (RFC 8292); return its claims and key.

    Raises ValueError when the header is malformed or the signature does not verify.
    """
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("not a vapid authorization")
    parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
    if "t" not in parts or "k" not in parts:
        raise ValueError("vapid authorization without t or k")
    try:
        claims = vapid_jwt.decode(parts["t"], parts["k"])
    except Exception as exc:
        raise ValueError("vapid signature does not verify") from exc
    return claims, parts["k"]


# The push service's side -----------------------------------------------------------------


@dataclass
class Push:
    """One request as the push service received it."""

    push_id: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float


@dataclass
class Answer:
    """What to answer: a status, extra headers, a delay before answering; `times` uses left
    (None: always)."""

    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # many senders connect at once


class PushEndpoint:
    """A push service on 127.0.0.1: `with PushEndpoint() as push: push.url_for("a1")`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        record: bool = True,
        check_vapid: bool = True,
    ):
        self.record = record
        self.check_vapid = check_vapid
        self.pushes: list[Push] = []
        self.received = 0
        self.refused_vapid = 0
        self._answers: dict[str | None, Answer] = {}
        self._verified: dict[str, float] = {}  # Authorization header -> its exp
        self._lock = threading.Lock()
        self.server = _Server((host, port), self._handler_class())
        self.host, self.port = self.server.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread: threading.Thread | None = None

    # Control ---------------------------------------------------------------------------

    def url_for(self, push_id: str) -> str:
        return f"{self.base_url}/push/{push_id}"

    def answer(
        self,
        push_id: str | None,
        status: int = 201,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = None,
    ) -> None:
        """Answer requests for `push_id` (None: every id without its own answer) like this."""
        with self._lock:
            self._answers[push_id] = Answer(status, dict(headers or {}), delay, times)

    def reset(self) -> None:
        with self._lock:
            self._answers.clear()
            self.pushes.clear()
            self.received = 0

    def pushes_for(self, push_id: str) -> list[Push]:
        with self._lock:
            return [p for p in self.pushes if p.push_id == push_id]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until `count` requests were received; False when the time ran out."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.received >= count:
                return True
            time.sleep(0.01)
        return self.received >= count

    def start(self) -> "PushEndpoint":
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "PushEndpoint":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Serving ---------------------------------------------------------------------------

    def _answer_for(self, push_id: str) -> Answer:
        with self._lock:
            key = push_id if push_id in self._answers else None
            answer = self._answers.get(key)
            if answer is None:
                return Answer()
            if answer.times is not None:
                answer.times -= 1
                if answer.times <= 0:
                    del self._answers[key]
            return answer

    def _vapid_ok(self, authorization: str) -> bool:
        now = time.time()
        with self._lock:
            exp = self._verified.get(authorization)
        if exp is None:
            try:
                claims, _key = vapid_claims(authorization)
            except ValueError:
                return False
            if claims.get("aud") != self.base_url:
                return False
            exp = float(claims.get("exp", 0))
            with self._lock:
                self._verified[authorization] = exp
        # RFC 8292: exp must lie in the future and at most 24 hours ahead.
        return now < exp <= now + 24 * 3600

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        match = PUSH_PATH.match(handler.path)
        if match is None:
            self._respond(handler, 404)
            return
        push_id = match.group(1)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.received += 1
            if self.record:
                self.pushes.append(Push(push_id, headers, body, time.time()))
        if self.check_vapid and not self._vapid_ok(headers.get("authorization", "")):
            with self._lock:
                self.refused_vapid += 1
            self._respond(handler, 403)
            return
        answer = self._answer_for(push_id)
        if answer.delay:
            time.sleep(answer.delay)
        extra = dict(answer.headers)
        if answer.status == 201:
            extra.setdefault("Location", f"{self.base_url}/message/{uuid.uuid4().hex}")
        self._respond(handler, answer.status, extra)

    def _respond(self, handler, status: int, headers: dict | None = None, body: bytes = b""):
        try:
            handler.send_response(status)
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sender gave up waiting (a timeout test)

    def _handler_class(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, so senders can reuse their connections as with a real service.
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                endpoint._handle(self)

            def do_GET(self):
                if self.path == "/_stats":
                    body = json.dumps({"received": endpoint.received}).encode()
                    endpoint._respond(self, 200, {"Content-Type": "application/json"}, body)
                else:
                    endpoint._respond(self, 404)

            def log_message(self, *args):
                pass

        return Handler


def answers_gone(push_id: str, every: int) -> bool:
    """Whether the fast service answers 410 for `push_id` when told `gone_every`: one id in
    `every`, the same ones each run (a fault trial counts them beforehand)."""
    return bool(every) and zlib.crc32(push_id.encode()) % every == 0


def _interrupt(*_args):
    raise KeyboardInterrupt


def serve_fast(
    port: int = 0, *, check_vapid: bool = True, certfile: str = "", keyfile: str = ""
) -> None:
    """The same service for benchmarks, on aiohttp's asyncio server: it counts (keeps
    nothing but a count per push id and the time of each push it accepted), checks VAPID
    and answers 201 — or, after `POST /_mode {"status": 500|429, "retry_after": 5,
    "gone_every": 50, "delay": 2}`, what a fault trial asks (410 for one push id in
    `gone_every`). `GET /_stats`, `/_timeline`, `/_per_id` tell what it got. The threaded
    server spends more time per request than the sender being measured; this one does not
    hide the sender's speed.

    With `certfile` and `keyfile` it speaks HTTPS, as every real push service does (RFC 8030):
    a sender that opens a connection per push then pays a TLS handshake per push, as it
    would in production.

    Runs until SIGTERM or Ctrl-C; prints its address first, like main().
    """
    import asyncio
    import socket
    import ssl

    from aiohttp import web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    tls = None
    if certfile:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certfile, keyfile or None)
    base_url = f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}"
    counts = {"received": 0, "refused_vapid": 0, "accepted": 0, "gone": 0, "refused": 0}
    verified: dict[str, float] = {}
    # For fault trials (manage.py bench_faults): what it answers, per push id how many it
    # accepted, and when it accepted each (to find the longest time nothing came).
    mode = {"status": 201, "retry_after": None, "gone_every": 0, "delay": 0.0}
    per_id: dict[str, int] = {}
    accepted_at: list[float] = []

    def vapid_ok(authorization: str) -> bool:
        now = time.time()
        exp = verified.get(authorization)
        if exp is None:
            try:
                claims, _key = vapid_claims(authorization)
            except ValueError:
                return False
            if claims.get("aud") != base_url:
                return False
            exp = verified[authorization] = float(claims.get("exp", 0))
        return now < exp <= now + 24 * 3600

    async def push(request):
        await request.read()
        counts["received"] += 1
        if check_vapid and not vapid_ok(request.headers.get("Authorization", "")):
            counts["refused_vapid"] += 1
            return web.Response(status=403)
        if mode["delay"]:
            await asyncio.sleep(mode["delay"])
        push_id = request.match_info["push_id"]
        if answers_gone(push_id, mode["gone_every"]):
            counts["gone"] += 1
            return web.Response(status=410)
        if mode["status"] != 201:
            counts["refused"] += 1
            headers = {}
            if mode["retry_after"] is not None:
                headers["Retry-After"] = str(mode["retry_after"])
            return web.Response(status=mode["status"], headers=headers)
        counts["accepted"] += 1
        per_id[push_id] = per_id.get(push_id, 0) + 1
        accepted_at.append(time.time())
        return web.Response(
            status=201, headers={"Location": f"{base_url}/message/{uuid.uuid4().hex}"}
        )

    async def stats(_request):
        copies: dict[int, int] = {}
        for n in per_id.values():
            copies[n] = copies.get(n, 0) + 1
        return web.json_response({**counts, "distinct": len(per_id), "copies": copies})

    async def set_mode(request):
        mode.update(await request.json())
        return web.json_response(mode)

    async def timeline(_request):
        return web.json_response({"accepted_at": accepted_at})

    async def per_device(_request):
        return web.json_response(per_id)

    async def serve():
        app = web.Application()
        app.add_routes(
            [
                web.post("/push/{push_id}", push),
                web.get("/_stats", stats),
                web.post("/_mode", set_mode),
                web.get("/_timeline", timeline),
                web.get("/_per_id", per_device),
            ]
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock, backlog=1024, ssl_context=tls).start()
        print(f"push endpoint at {base_url}/push/<id>", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    print(f"received {counts['received']} pushes", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A local Web Push service on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-record", action="store_true", help="count requests only")
    parser.add_argument("--no-vapid", action="store_true", help="accept any Authorization")
    parser.add_argument(
        "--fast", action="store_true", help="asyncio server for benchmarks (counts only)"
    )
    parser.add_argument("--tls-cert", default="", help="with --fast: serve HTTPS with this")
    parser.add_argument("--tls-key", default="", help="its private key (PEM)")
    args = parser.parse_args(argv)
    if args.fast:
        serve_fast(
            args.port,
            check_vapid=not args.no_vapid,
            certfile=args.tls_cert,
            keyfile=args.tls_key,
        )
        return
    endpoint = PushEndpoint(
        port=args.port, record=not args.no_record, check_vapid=not args.no_vapid
    )
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"push endpoint at {endpoint.base_url}/push/<id>", flush=True)
    try:
        endpoint.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.server.server_close()
        print(f"received {endpoint.received} pushes", flush=True)


if __name__ == "__main__":
    main()
