"""The publishing benchmark (`manage.py bench_publish`): the open Atom feeds and a
display's JSON with many actions in the database, measured through the real views.

It makes one organisation of its own (its name is the marker) and its actions set-based:
most ended over the last 60 days, some running across the regional units, a few reaching
into a neighbouring unit, each running one with a release message. It removes exactly
those afterwards (`purge`), and what an earlier run left behind before it starts.
"""

import itertools
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from apps.actions import regions
from apps.actions.models import Action
from apps.channels.models import OutgoingMessage
from apps.governance import services as governance_services
from apps.governance.geography import load_reference_geography
from apps.governance.models import Municipality, Organisation, PoliceUnit, Province

from .fanout import _delete_cascading, _without_key_checks

SOURCE = "bench_publish"
BENCH_ORGANISATION = f"{SOURCE}: Meldkamer"
GOAL_MS = 50
INSERT_BATCH = 2_000
HISTORY_DAYS = 60
KINDS = [
    Action.Kind.MISSING_PERSON,
    Action.Kind.MISSING_CHILD,
    Action.Kind.ROBBERY,
    Action.Kind.BURGLARY,
    Action.Kind.SUSPICIOUS_SITUATION,
    Action.Kind.HIT_AND_RUN,
]
# The regions measured: a unit with running actions and a province it covers.
UNIT, PROVINCE = "Midden-Nederland", "Utrecht"
HOST = "bench.burgernet.invalid"


@dataclass
class Options:
    actions: int = 10_000
    running: int = 50
    repeat: int = 30
    seed: int = 12


@dataclass
class Figure:
    name: str
    url: str
    median_ms: float
    max_ms: float
    queries: int
    size: int

    @property
    def meets_goal(self) -> bool:
        return self.median_ms < GOAL_MS


@dataclass
class Report:
    made: int
    running: int
    figures: list[Figure] = field(default_factory=list)


def bench_actions():
    return Action.objects.filter(organisation__name=BENCH_ORGANISATION)


def purge() -> None:
    """Remove every row the benchmark made: its actions (with what hangs from them), their
    release messages, its organisation."""
    with transaction.atomic(), _without_key_checks():
        _delete_cascading(bench_actions())
        _delete_cascading(OutgoingMessage.objects.filter(source__startswith=f"{SOURCE}:"))
        Organisation.objects.filter(name=BENCH_ORGANISATION).delete()


def make_actions(options: Options) -> int:
    """The benchmark's actions, set-based; returns how many it made."""
    if not PoliceUnit.objects.exists():
        load_reference_geography()
    rng = random.Random(options.seed)
    units = list(PoliceUnit.objects.filter(is_national=False).order_by("name"))
    centres = {
        unit.pk: list(
            Municipality.objects.filter(police_unit=unit)
            .exclude(lat=None)
            .values_list("lat", "lon")
        )
        for unit in units
    }
    organisation = governance_services.organisation_ensure(
        name=BENCH_ORGANISATION,
        kind=Organisation.Kind.CONTROL_ROOM,
        police_unit=units[0],
    )
    now = timezone.now()
    unit_cycle = itertools.cycle(units)
    actions, messages = [], []
    for n in range(options.actions):
        unit = next(unit_cycle)
        lat, lon = rng.choice(centres[unit.pk])
        kind = KINDS[n % len(KINDS)]
        running = n < options.running
        released = now - timedelta(minutes=rng.randint(5, 600 if running else HISTORY_DAYS * 1440))
        action = Action(
            ref=uuid.uuid4(),
            kind=kind,
            is_time_critical=Action.default_time_critical(kind),
            title=f"Benchmark {n}",
            text="Gegenereerd door bench_publish.",
            lat=lat,
            lon=lon,
            radius_m=rng.choice([1000, 2000, 5000]),
            police_unit=unit,
            organisation=organisation,
            state=Action.State.RELEASED if running else Action.State.ENDED,
            result="" if running else Action.Result.FOUND_SAFE,
            released_at=released,
            ended_at=None if running else released + timedelta(hours=2),
        )
        actions.append(action)
        if running:
            messages.append(
                OutgoingMessage(
                    source=f"{SOURCE}:{action.ref}",
                    title=f"Burgernet: {action.title}",
                    body=f"{kind.label}\nGegenereerd door bench_publish.\nGezien? Bel 0800-0011.",
                    url=action.page_url(),
                )
            )
    with transaction.atomic():
        OutgoingMessage.objects.bulk_create(messages, batch_size=INSERT_BATCH)
        for action, message in zip(actions, messages, strict=False):
            action.release_message = message
        Action.objects.bulk_create(actions, batch_size=INSERT_BATCH)
        # Every fifth running action reaches into the next unit (its neighbour by name).
        through = Action.reaches_units.through
        saved = list(bench_actions().filter(state=Action.State.RELEASED).order_by("pk"))
        reaches = [
            through(action_id=action.pk, policeunit_id=units[(i + 1) % len(units)].pk)
            for i, action in enumerate(saved)
            if i % 5 == 0
        ]
        through.objects.bulk_create(reaches, batch_size=INSERT_BATCH)
    _analyze([Action, through, OutgoingMessage])
    return len(actions)


def _analyze(models) -> None:
    """Fresh statistics for the planner, as a database that has lived has them
    (PostgreSQL's autovacuum would take its time)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def measure(options: Options) -> list[Figure]:
    """The median (and worst) of `repeat` requests to each view, after one to warm up,
    through Django's test client (the whole middleware stack)."""
    unit = regions.slug(PoliceUnit.objects.get(name=UNIT))
    province = regions.slug(Province.objects.get(name=PROVINCE))
    targets = [
        ("national feed", reverse("feeds:national")),
        (f"unit feed ({UNIT})", reverse("feeds:unit", kwargs={"slug": unit})),
        (f"province feed ({PROVINCE})", reverse("feeds:province", kwargs={"slug": province})),
        (f"display JSON ({UNIT})", reverse("displays:json", kwargs={"slug": unit})),
        (f"display CAP feed ({UNIT})", reverse("displays:cap", kwargs={"slug": unit})),
    ]
    client = Client(HTTP_HOST=HOST)
    figures = []
    with override_settings(ALLOWED_HOSTS=[HOST]):
        for name, url in targets:
            response = client.get(url)  # warm up
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            queries = []
            with connection.execute_wrapper(_counting(queries)):
                client.get(url)
            seconds = []
            for _n in range(options.repeat):
                start = time.perf_counter()
                client.get(url)
                seconds.append(time.perf_counter() - start)
            figures.append(
                Figure(
                    name=name,
                    url=url,
                    median_ms=statistics.median(seconds) * 1000,
                    max_ms=max(seconds) * 1000,
                    queries=len(queries),
                    size=len(response.content),
                )
            )
    return figures


def run(options: Options, *, keep: bool = False) -> Report:
    purge()
    made = make_actions(options)
    try:
        figures = measure(options)
    finally:
        if not keep:
            purge()
    return Report(made=made, running=min(options.running, made), figures=figures)


def _counting(queries: list):
    def wrapper(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    return wrapper
