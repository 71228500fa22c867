"""The fault trial behind `manage.py bench_faults`: an alert sent while processes die and
the push service fails, and what it cost.

1. N web-app devices (endpoints under /push/bench-faults-, real P-256 keys from a pool)
   and one time-critical message to all of them, written as a release writes its rows.
2. A local push service (apps/bench/pushendpoint.py --fast) in a process of its own,
   counting what it accepts per device; a django-q2 cluster on the configured broker (it
   runs the schedules, as in production); `manage.py outbox_worker` with its workers.
3. While the rows go out: SIGKILL at random moments (each when a random 2–90 % of the
   pushes has been accepted) to a busy outbox worker, to a q2
   worker (idle: q2 carries no sending), to the whole outbox supervisor with its workers,
   or to the whole q2 cluster; a killed supervisor or cluster is started again a second
   later, as systemd would. Meanwhile the push service answers 500 for a while, then 429
   with Retry-After, and 410 throughout for one device in `gone_every`.
4. It prints rows by state, pushes accepted, distinct devices, repeats per kill, the
   longest time nothing was accepted (outside the outages it caused), and the time to
   finish; and deletes what it made.
"""

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import Request, urlopen

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import connection, transaction

from apps.bench.pushendpoint import answers_gone, b64url, make_subscriber
from apps.channels import outbox
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.participants.models import Device

SOURCE = "bench_faults"
ENDPOINT_MARK = "/push/bench-faults-"
KEY_POOL = 64


class TrialError(Exception):
    pass


@dataclass
class Options:
    devices: int = 100_000
    kills: int = 20
    processes: int = 2
    gone_every: int = 50
    outage_seconds: float = 8.0
    retry_after: int = 5
    timeout: float = 900.0
    seed: int = 2024
    in_flight: int = 0  # WEBPUSH_CONCURRENCY of the workers (0: the setting's default)
    service_delay_ms: int = 0  # the push service answers each push this late


@dataclass
class Kill:
    at: float
    kind: str
    accepted_before: int


@dataclass
class Result:
    states: dict
    received: int
    accepted: int
    distinct: int
    gone_devices: int
    expected_devices: int
    copies: dict
    repeats: int
    kills: list[Kill]
    longest_gap: float
    longest_gap_outside_outages: float
    seconds: float
    lost: int
    broker: str
    outages: list = field(default_factory=list)

    @property
    def sending_kills(self) -> int:
        """Kills that could repeat a push: of an outbox worker or of its supervisor."""
        return sum(1 for kill in self.kills if kill.kind in ("outbox worker", "outbox supervisor"))


def database_url() -> str:
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings_dict["USER"] or ""
        auth = user + (f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else "")
        host = settings_dict["HOST"] or "127.0.0.1"
        port = settings_dict["PORT"] or 5432
        return f"postgres://{auth}@{host}:{port}/{settings_dict['NAME']}"
    if connection.is_in_memory_db():
        raise TrialError("the trial's processes need a database they share, not SQLite in memory")
    return f"sqlite:///{settings_dict['NAME']}"


# The population ---------------------------------------------------------------------------


def make_devices(n: int, base_url: str) -> None:
    subscribers = [make_subscriber(base_url) for _ in range(KEY_POOL)]
    keys = [(subscriber.p256dh, subscriber.auth) for subscriber in subscribers]
    batch = []
    for i in range(n):
        p256dh, auth = keys[i % KEY_POOL]
        batch.append(Device(endpoint=f"{base_url}{ENDPOINT_MARK}{i}", p256dh=p256dh, auth=auth))
        if len(batch) == 5000:
            Device.objects.bulk_create(batch)
            batch = []
    Device.objects.bulk_create(batch)


def clean_up() -> None:
    messages = OutgoingMessage.objects.filter(source=SOURCE)
    Delivery.objects.filter(message__in=messages).delete()
    messages.delete()
    Device.objects.filter(endpoint__contains=ENDPOINT_MARK).delete()


def release(n: int) -> OutgoingMessage:
    with transaction.atomic():
        message = OutgoingMessage.objects.create(
            source=SOURCE,
            title="Vermist: meisje (5)",
            body="Lang blond haar, roze jas. Gezien bij station Utrecht Centraal. Bel 112.",
            url="/app/",
            topic="bench-faults",
            urgency=OutgoingMessage.Urgency.HIGH,
            ttl_seconds=3 * 3600,
        )
        written = outbox.enqueue_from_queryset(
            message=message,
            channel=Channel.WEBPUSH,
            device_ids=Device.objects.filter(endpoint__contains=ENDPOINT_MARK).values("pk"),
        )
        outbox.release(message)
    if written != n:
        raise TrialError(f"{written} rows written for {n} devices")
    return message


# The processes ------------------------------------------------------------------------------


class PushService:
    def __init__(self):
        command = [sys.executable, "-m", "apps.bench.pushendpoint", "--fast", "--port", "0"]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=Path(settings.BASE_DIR), stdout=subprocess.PIPE, text=True
        )
        line = self.process.stdout.readline()
        if "push endpoint at " not in line:
            raise TrialError("the local push service did not start")
        self.base_url = line.split("push endpoint at ", 1)[1].strip().removesuffix("/push/<id>")

    def _call(self, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = Request(  # noqa: S310 (our own loopback service)
            self.base_url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)

    def stats(self) -> dict:
        return self._call("/_stats")

    def mode(self, **mode) -> None:
        self._call("/_mode", mode)

    def timeline(self) -> list[float]:
        return self._call("/_timeline")["accepted_at"]

    def per_id(self) -> dict[str, int]:
        return self._call("/_per_id")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


class Group:
    """A command started in a process group of its own, so it can be killed whole."""

    def __init__(self, name: str, command: list[str], env: dict, log):
        self.name = name
        self.command = command
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", *self.command],
            cwd=Path(settings.BASE_DIR),
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def children(self) -> list[int]:
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(child) for child in text.split()]

    def descendants(self) -> list[int]:
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            try:
                text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
            except FileNotFoundError:
                continue
            children = [int(child) for child in text.split()]
            found += children
            todo += children
        return found

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_all()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything left of the group


def _kill(pid: int) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False


# The trial ------------------------------------------------------------------------------------


def run(options: Options, *, broker: str, out: Callable[[str], None], log) -> Result:
    rng = random.Random(options.seed)
    clean_up()
    service = PushService()
    groups: list[Group] = []
    try:
        make_devices(options.devices, service.base_url)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "burgernet.settings",
            "DATABASE_URL": database_url(),
            "WEBPUSH_ALLOW_INSECURE_ENDPOINTS": "true",
            **_vapid_pair(),
            "VAPID_SUBJECT": "mailto:bench@burgernet.invalid",
            "Q_REDIS_URL": broker if broker.startswith("redis") else "",
            "DEBUG": "true",
        }
        if options.in_flight:
            env["WEBPUSH_CONCURRENCY"] = str(options.in_flight)
        service.mode(gone_every=options.gone_every, delay=options.service_delay_ms / 1000)
        workers = Group(
            "outbox", ["outbox_worker", "--processes", str(options.processes)], env, log
        )
        q2 = Group("q2", ["qcluster"], env, log)
        groups = [workers, q2]
        _wait(lambda: len(workers.children()) == options.processes, 60, "the outbox workers")

        message = release(options.devices)
        expected = options.devices - sum(
            answers_gone(f"bench-faults-{i}", options.gone_every) for i in range(options.devices)
        )
        started = time.time()
        kills: list[Kill] = []
        outages: list[tuple[float, float]] = []
        plan = _outage_plan(options)
        pending = Delivery.objects.filter(
            message=message, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING]
        )
        # Kills at random moments of the sending: each when a random share of the pushes
        # (2–90 %) has been accepted, so a faster sender meets as many kills as a slower one.
        kill_at = sorted(rng.uniform(0.02, 0.9) * expected for _ in range(options.kills))
        while True:
            now = time.time()
            if now - started > options.timeout:
                raise TrialError(f"not finished after {options.timeout:.0f} s")
            accepted = service.stats()["accepted"]
            if plan and accepted >= plan[0][0] * expected:
                _, status, retry_after = plan.pop(0)
                service.mode(status=status, retry_after=retry_after)
                out(f"  {now - started:6.1f} s: the push service answers {status}")
                outage_start = time.time()
                time.sleep(options.outage_seconds)
                service.mode(status=201, retry_after=None)
                outages.append((outage_start, time.time()))
                out(f"  {time.time() - started:6.1f} s: the push service is healthy again")
                continue
            if kill_at and accepted >= kill_at[0]:
                kind = _kill_one(rng, workers, q2)
                if kind:
                    kill_at.pop(0)
                    kills.append(Kill(now - started, kind, accepted))
                    out(f"  {now - started:6.1f} s: kill -9 {kind} ({accepted:,} accepted)")
            if len(kills) >= options.kills and not plan and not pending.exists():
                break
            if not pending.exists() and (len(kills) < options.kills or plan):
                # Done before every fault was tried: the trial would be too short.
                break
            time.sleep(0.1)
        seconds = time.time() - started
        stats = service.stats()
        timeline = sorted(service.timeline())
        per_id = service.per_id()
    finally:
        # The outbox workers finish their chunk; a q2 cluster whose worker was killed while
        # it waited may never stop on SIGTERM (django-q2 #23), so it gets 10 s.
        for group in groups:
            group.stop(timeout=90 if group.name == "outbox" else 10)
        service.stop()
    states = dict(Counter(Delivery.objects.filter(message=message).values_list("state", flat=True)))
    gone_devices = options.devices - Device.objects.filter(endpoint__contains=ENDPOINT_MARK).count()
    lost = expected - len(per_id)
    gaps = _gaps(started, timeline)
    result = Result(
        states=states,
        received=stats["received"],
        accepted=stats["accepted"],
        distinct=stats["distinct"],
        gone_devices=gone_devices,
        expected_devices=expected,
        copies={int(k): v for k, v in stats["copies"].items()},
        repeats=stats["accepted"] - stats["distinct"],
        kills=kills,
        longest_gap=max((gap for _, _, gap in gaps), default=0.0),
        longest_gap_outside_outages=max(
            (gap for a, b, gap in gaps if not _overlaps(a, b, outages)), default=0.0
        ),
        seconds=seconds,
        lost=lost,
        broker=broker or "orm",
        outages=[(a - started, b - started) for a, b in outages],
    )
    clean_up()
    return result


def _outage_plan(options: Options) -> list[tuple[float, int, int | None]]:
    """At a quarter of the devices reached, 500s; at half, 429 with Retry-After."""
    if options.outage_seconds <= 0:
        return []
    return [(0.25, 500, None), (0.5, 429, options.retry_after)]


def _kill_one(rng: random.Random, workers: Group, q2: Group) -> str:
    kind = rng.choices(
        ["outbox worker", "q2 worker", "outbox supervisor", "q2 cluster"], weights=[5, 2, 2, 1]
    )[0]
    if kind == "outbox worker":
        children = workers.children()
        if children and _kill(rng.choice(children)):
            return kind
        return ""
    if kind == "q2 worker":
        # q2's sentinel forks the workers, the monitor and the pusher; any is idle here.
        processes = q2.descendants()
        if processes and _kill(rng.choice(processes)):
            return kind
        return ""
    group = workers if kind == "outbox supervisor" else q2
    group.kill_all()
    time.sleep(1.0)  # systemd's RestartSec=1
    group.start()
    return kind


def _gaps(started: float, timeline: list[float]) -> list[tuple[float, float, float]]:
    points = [started, *timeline]
    return [(a, b, b - a) for a, b in zip(points, points[1:], strict=False)]


def _overlaps(a: float, b: float, outages: list[tuple[float, float]]) -> bool:
    return any(a < end and b > start for start, end in outages)


def _wait(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise TrialError(f"timed out waiting for {what}")


def _vapid_pair() -> dict[str, str]:
    """A VAPID key pair for the trial's workers (the push service checks the signature)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "VAPID_PRIVATE_KEY": b64url(key.private_numbers().private_value.to_bytes(32, "big")),
        "VAPID_PUBLIC_KEY": b64url(public),
    }
