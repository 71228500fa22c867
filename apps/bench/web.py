"""The public pages under load (`manage.py bench_web`, issue 14): the production server
(gunicorn with deploy/gunicorn.conf.py, DEBUG off, compressed static files, a shared
cache) on loopback, and concurrent clients that measure each page's requests per second
and its latency.

The server gets a database of its own: a SQLite file in a temporary folder, or a
PostgreSQL database that the benchmark creates (it refuses one that exists) and drops
afterwards. Into it go the migrations, the reference geography, a running action with
a release message and its deliveries (the console's live panel counts them), and an
operator whose session is made directly in the session store with its second factor
verified (as a log-in with a TOTP code leaves it).

The clients are threads with http.client: each request on a connection of its own, as
gunicorn's sync workers close every connection. A registration POST comes from a
distinct client address in X-Forwarded-For (through one trusted proxy: PROXY_COUNT=1)
and a distinct mobile number, so the rate limits and SMS budgets let it through, and it
sends the CSRF token the way a browser that loaded the form does (cookie and field).
Afterwards the benchmark counts, in the server's database, the registrations made and
the confirmation SMS queued in the outbox (no outbox worker runs, so any SMS sent inside
the request would show as sent, not queued).
"""

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from django.conf import settings

SOURCE = "bench_web"
OPERATOR = "bench-web-operator"
# Benchmark addresses (RFC 2544: 198.18.0.0/15) for the registering clients.
CLIENT_NET = (198, 18)
# A Dutch postcode of the shipped table (Woerden), as the registration tests use.
POSTCODE = "3441 AB"
CSRF_SECRET_LENGTH = 32


@dataclass
class Options:
    clients: int = 16
    seconds: float = 20.0  # measured per endpoint; 0 with `requests`
    requests: int = 0  # a fixed number per endpoint instead of `seconds`
    warmup_seconds: float = 3.0
    workers: int = 4
    deliveries: int = 20_000  # rows of the running action's release message
    tips: int = 20
    database_url: str = ""  # empty: a SQLite file in the temporary folder
    cache_url: str = ""  # empty: a file cache in the temporary folder (shared by workers)
    endpoints: tuple[str, ...] = ()  # empty: all


SIZES = {
    "full": Options(),
    "small": Options(
        clients=4, seconds=0, requests=40, warmup_seconds=0.5, workers=2, deliveries=200, tips=3
    ),
    "tiny": Options(
        clients=2, seconds=0, requests=6, warmup_seconds=0, workers=2, deliveries=20, tips=1
    ),
}


class BenchError(Exception):
    pass


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    expect: int
    staff: bool = False
    # Ask as the console's script polls: with the ETag of the panel it already has.
    conditional: bool = False


@dataclass
class Figure:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    size: int
    statuses: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    figures: list[Figure]
    database: str
    cache: str
    workers: int
    clients: int
    registered: int = 0
    codes_queued: int = 0
    codes_sent: int = 0
    posts_ok: int = 0

    def as_dict(self) -> dict:
        data = asdict(self)
        for figure, raw in zip(self.figures, data["figures"], strict=True):
            raw["per_second"] = figure.per_second
        return data


# Inside the server's database (run as `manage.py bench_web --prepare/--inspect`) ---------


def prepare(deliveries: int, tips: int) -> dict:
    """The data the pages need; returns what the clients need to know (paths, cookie)."""
    import django_otp
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.http import HttpRequest
    from django.utils import timezone
    from django_otp.util import random_hex

    from apps.actions.models import Action, Tip
    from apps.channels.models import Channel, Delivery, OutgoingMessage
    from apps.governance import services as governance_services
    from apps.governance.geography import load_reference_geography
    from apps.governance.models import Municipality, Organisation, PoliceUnit
    from apps.governance.roles import ROLE_PERMISSIONS, Role, group_name, sync_roles

    if not Municipality.objects.exists():
        load_reference_geography()
    from django.contrib.auth.models import Group

    if Group.objects.filter(name__in=[group_name(r) for r in ROLE_PERMISSIONS]).count() != len(
        ROLE_PERMISSIONS
    ):
        sync_roles()
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    woerden = Municipality.objects.get(code="GM0632")
    organisation = governance_services.organisation_ensure(
        name=f"{SOURCE}: Meldkamer", kind=Organisation.Kind.CONTROL_ROOM, police_unit=unit
    )
    operator = governance_services.staff_user_ensure(
        username=OPERATOR,
        organisation=organisation,
        roles=[Role.OPERATOR],
        password=secrets.token_urlsafe(24),
    )
    device = governance_services.totp_device_ensure(user=operator, key=random_hex(20))
    now = timezone.now()
    with transaction.atomic():
        message = OutgoingMessage.objects.create(
            source=f"{SOURCE}:release",
            title="Burgernet: Vermiste man (78)",
            body="Vermist: man, 78 jaar, grijze jas. Gezien? Bel 0800-0011.",
            url="",
        )
        action = Action.objects.create(
            ref=uuid.uuid4(),
            kind=Action.Kind.MISSING_PERSON,
            is_time_critical=True,
            title="Vermiste man (78)",
            text="Een man van 78 jaar met een grijze jas en een wandelstok, sinds 14:00 "
            "vermist in Woerden. Hij is in de war.",
            lat=woerden.lat,
            lon=woerden.lon,
            radius_m=2000,
            police_unit=unit,
            organisation=organisation,
            state=Action.State.RELEASED,
            released_at=now - timedelta(minutes=20),
            release_message=message,
        )
        states = [Delivery.State.SENT] * 8 + [Delivery.State.QUEUED, Delivery.State.FAILED]
        channels = [Channel.WEBPUSH, Channel.WEBPUSH, Channel.SMS, Channel.VOICE]
        Delivery.objects.bulk_create(
            (
                Delivery(
                    message=message,
                    channel=channels[n % len(channels)],
                    state=states[n % len(states)],
                    sent_at=now if states[n % len(states)] == Delivery.State.SENT else None,
                )
                for n in range(deliveries)
            ),
            batch_size=2_000,
        )
        for n in range(tips):
            Tip.objects.create(action=action, text=f"Ik zag een man met een grijze jas ({n}).")
    # The operator's session, as a log-in with password and TOTP code leaves it.
    session = SessionStore()
    session[SESSION_KEY] = str(operator.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[HASH_SESSION_KEY] = operator.get_session_auth_hash()
    request = HttpRequest()
    request.session = session
    request.user = operator
    django_otp.login(request, device)
    session.save()
    return {
        "action_path": f"/actie/{action.ref}/",
        "live_path": f"/meldkamer/{action.pk}/live/",
        "session_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
    }


def inspect(phone_prefix: str) -> dict:
    """What the registration POSTs left: registrations, and their code SMS by state."""
    from apps.channels.models import Delivery
    from apps.participants import notices
    from apps.participants.models import Participant

    registered = Participant.objects.filter(phone__startswith=phone_prefix)
    codes = Delivery.objects.filter(
        notice__source=notices.PHONE_CODE, participant__in=registered.values("pk")
    )
    return {
        "registered": registered.count(),
        "codes_queued": codes.filter(state=Delivery.State.QUEUED).count(),
        "codes_sent": codes.exclude(state=Delivery.State.QUEUED).count(),
    }


# The database and the server ---------------------------------------------------------------


class Database:
    """The server's database: a SQLite file in `folder`, or a PostgreSQL database made for
    the run (its name must not exist yet) and dropped afterwards unless kept."""

    def __init__(self, url: str, folder: Path):
        self.url = url or f"sqlite:///{folder / 'bench_web.sqlite3'}"
        self.created = False
        parts = urlsplit(self.url)
        self.vendor = "postgresql" if parts.scheme.startswith("postgres") else parts.scheme
        self.name = parts.path.lstrip("/") if self.vendor == "postgresql" else parts.path[1:]

    def _admin(self):
        import psycopg

        parts = urlsplit(self.url)
        return psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password,
            dbname="postgres",
            autocommit=True,
        )

    def create(self) -> None:
        if self.vendor != "postgresql":
            return
        from psycopg import sql

        with self._admin() as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.name]
            ).fetchone()
            if found:
                raise BenchError(
                    f"the database {self.name!r} exists; bench_web makes its own database "
                    "(and drops it afterwards): name one that does not exist"
                )
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True

    def drop(self) -> bool:
        """Drop the run's database; False when PostgreSQL did not manage within a minute
        (DROP DATABASE waits for every backend of the server to answer a signal, and a
        backend stuck elsewhere can hold it up): the caller says so, and the run stands."""
        if not self.created:
            return True
        import psycopg
        from psycopg import sql

        with self._admin() as admin:
            admin.execute("SET statement_timeout = '60s'")
            try:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.name)
                    )
                )
            except psycopg.errors.QueryCanceled:
                return False
        self.created = False
        return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(options: Options, database: Database, folder: Path, port: int) -> dict:
    """Production settings, as deploy/ and .env.example describe them, on loopback."""
    cache_url = options.cache_url or f"filecache://{folder / 'cache'}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))},
        "DJANGO_SETTINGS_MODULE": "burgernet.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DATABASE_URL": database.url,
        "CACHE_URL": cache_url,
        "STATIC_ROOT": str(folder / "static"),
        "MEDIA_ROOT": str(folder / "media"),
        # One trusted reverse proxy in front (the load balancer), on loopback.
        "PROXY_COUNT": "1",
        "SMS_BACKEND": "console",
        "VOICE_BACKEND": "console",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "OUTBOX_LOCK_DIR": str(folder),
        "VAPID_DEV_KEY_FILE": str(folder / "vapid.pem"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def _manage(env: dict, *args: str, log) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"manage.py {args[0]} failed ({done.returncode})")
    return done.stdout


class Server:
    """gunicorn with the repository's configuration, in a process group of its own."""

    def __init__(self, env: dict, port: int, workers: int, log):
        self.port = port
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=Path(settings.BASE_DIR),
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn stopped ({self.process.returncode})")
            with contextlib.suppress(OSError):
                status, _size, _etag = _request(self.port, "GET", "/", {})
                if status == 200:
                    return
            time.sleep(0.2)
        raise BenchError("gunicorn did not answer in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


# The clients -------------------------------------------------------------------------------

BASE_HEADERS = {
    # As the TLS-terminating proxy says (SECURE_PROXY_SSL_HEADER): no redirect to https.
    "X-Forwarded-Proto": "https",
    "Accept": "text/html",
    "Accept-Language": "nl-NL,nl;q=0.9",
    "User-Agent": "bench_web",
}


def _etag(port: int, path: str, headers: dict) -> str:
    """The ETag of the page at `path` (as a browser keeps it for the next request)."""
    status, _size, etag = _request(port, "GET", path, headers)
    if status != 200 or not etag:
        raise BenchError(f"GET {path} gave {status} without an ETag")
    return etag


def _request(port: int, method: str, path: str, headers: dict, body: bytes | None = None):
    """(status, body size, ETag) of one request on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={**BASE_HEADERS, **headers})
        response = connection.getresponse()
        data = response.read()
        return response.status, len(data), response.getheader("ETag")
    finally:
        connection.close()


class Registrations:
    """Distinct numbers and client addresses for the registration POSTs (thread-safe)."""

    def __init__(self, port: int):
        self.port = port
        # A random start, so that a run does not meet the rate-limit counts that an earlier
        # run left in a shared cache for the same client addresses and numbers.
        self.start = secrets.randbelow(100_000)
        self.counter = 0
        self.lock = threading.Lock()
        # Dutch mobile numbers 06 1xxxxxxx (the database is the run's own).
        self.prefix_digits = "1"
        self.csrf = secrets.token_hex(CSRF_SECRET_LENGTH // 2)

    @property
    def phone_prefix(self) -> str:
        return f"+316{self.prefix_digits}"

    def next(self) -> tuple[dict, bytes]:
        with self.lock:
            self.counter += 1
            n = self.counter
        k = self.start + n
        phone = f"06{self.prefix_digits}{k:07d}"
        client = f"{CLIENT_NET[0]}.{CLIENT_NET[1] + (k >> 16) % 2}.{(k >> 8) % 256}.{k % 256}"
        body = urlencode(
            {
                "csrfmiddlewaretoken": self.csrf,
                "phone": phone,
                "address_count": "1",
                "address-0-label": "Thuis",
                "address-0-country": "NL",
                "address-0-postcode": POSTCODE,
                "address-0-house_number": str(1 + n % 200),
                "address-0-house_number_suffix": "",
                "address-0-schedule": "always",
                "wants_sms": "on",
                "quiet_start": "",
                "quiet_end": "",
                "language": "",
                "email": "",
                "email_postcode": "",
            }
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"{settings.CSRF_COOKIE_NAME}={self.csrf}",
            "Origin": f"https://127.0.0.1:{self.port}",
            "Referer": f"https://127.0.0.1:{self.port}/aanmelden/",
            "X-Forwarded-For": client,
        }
        return headers, body


def load(
    port: int,
    endpoint: Endpoint,
    *,
    clients: int,
    seconds: float,
    requests: int,
    headers: dict,
    registrations: Registrations | None,
) -> Figure:
    """`clients` threads send requests to one endpoint: for `seconds`, or `requests` in all."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    lock = threading.Lock()
    remaining = [requests]
    deadline = [0.0]

    def take() -> bool:
        if requests:
            with lock:
                if remaining[0] <= 0:
                    return False
                remaining[0] -= 1
                return True
        return time.perf_counter() < deadline[0]

    def client() -> None:
        while take():
            extra, body = registrations.next() if registrations else ({}, None)
            start = time.perf_counter()
            try:
                status, size, _etag_seen = _request(
                    port, endpoint.method, endpoint.path, {**headers, **extra}, body
                )
            except (OSError, http.client.HTTPException):
                status, size = 0, 0
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                sizes.append(size)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    deadline[0] = started + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return Figure(
        name=endpoint.name,
        requests=len(latencies),
        errors=sum(n for status, n in statuses.items() if status != endpoint.expect),
        seconds=took,
        p50_ms=1000 * statistics.median(ordered),
        p95_ms=1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        max_ms=1000 * ordered[-1],
        size=int(statistics.median(sizes)) if sizes else 0,
        statuses=dict(sorted(statuses.items())),
    )


def endpoints(data: dict) -> list[Endpoint]:
    return [
        Endpoint("home page", "GET", "/", 200),
        Endpoint("registration page", "GET", "/aanmelden/", 200),
        Endpoint("registration POST", "POST", "/aanmelden/", 302),
        Endpoint("action page", "GET", data["action_path"], 200),
        Endpoint("web app page", "GET", "/app/", 200),
        Endpoint("console live panel", "GET", data["live_path"], 200, staff=True),
        Endpoint(
            "console live panel, unchanged",
            "GET",
            data["live_path"],
            304,
            staff=True,
            conditional=True,
        ),
    ]


# The run -----------------------------------------------------------------------------------


def run(
    options: Options,
    *,
    out: Callable[[str], None],
    before_rows: Callable[[], None] = lambda: None,
    keep_folder: bool = False,
) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="bench_web-"))
    database = Database(options.database_url, folder)
    port = _free_port()
    env = server_environment(options, database, folder, port)
    log_path = folder / "server.log"
    server = None
    try:
        with open(log_path, "w") as log:
            database.create()
            out(f"database: {database.vendor} {database.name}; cache: {env['CACHE_URL']}")
            _manage(env, "migrate", "--noinput", log=log)
            _manage(env, "collectstatic", "--noinput", log=log)
            data = json.loads(
                _manage(
                    env,
                    "bench_web",
                    "--prepare",
                    "--deliveries",
                    str(options.deliveries),
                    "--tips",
                    str(options.tips),
                    log=log,
                )
            )
            server = Server(env, port, options.workers, log)
            server.wait_ready()
            out(f"gunicorn: {options.workers} workers on 127.0.0.1:{port}")
            registrations = Registrations(port)
            before_rows()
            figures = []
            chosen = [
                e
                for e in endpoints(data)
                if not options.endpoints or e.name.split()[0] in options.endpoints
            ]
            for endpoint in chosen:
                headers = {"Cookie": data["session_cookie"]} if endpoint.staff else {}
                if endpoint.conditional:
                    headers["If-None-Match"] = _etag(port, endpoint.path, headers)
                posting = registrations if endpoint.method == "POST" else None
                if options.warmup_seconds:
                    load(
                        port,
                        endpoint,
                        clients=options.clients,
                        seconds=options.warmup_seconds,
                        requests=0,
                        headers=headers,
                        registrations=posting,
                    )
                figure = load(
                    port,
                    endpoint,
                    clients=options.clients,
                    seconds=options.seconds,
                    requests=options.requests,
                    headers=headers,
                    registrations=posting,
                )
                figures.append(figure)
                out(_row(figure))
            server.stop()
            server = None
            counts = json.loads(
                _manage(env, "bench_web", "--inspect", registrations.phone_prefix, log=log)
            )
        result = Result(
            figures=figures,
            database=database.vendor,
            cache=env["CACHE_URL"].split(":", 1)[0],
            workers=options.workers,
            clients=options.clients,
            posts_ok=registrations.counter,
            **counts,
        )
        return result
    except BenchError as exc:
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        raise BenchError(f"{exc}\n--- the server's log ---\n{tail}") from exc
    finally:
        if server is not None:
            server.stop()
        if not database.drop():
            out(f"warning: the database {database.name!r} could not be dropped: drop it by hand")
        if not keep_folder:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


HEADER = (
    f"{'endpoint':<30} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
    f"{'max ms':>8} {'errors':>6} {'bytes':>7}"
)


def _row(f: Figure) -> str:
    return (
        f"{f.name:<30} {f.requests:>8} {f.per_second:>8.1f} {f.p50_ms:>8.1f} {f.p95_ms:>8.1f} "
        f"{f.max_ms:>8.1f} {f.errors:>6} {f.size:>7}"
    )
