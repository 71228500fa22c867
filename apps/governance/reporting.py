"""The figures of the annual report (jaarverslag): what is counted, and how it is kept.

The report reads `DailyFigure` rows: one count per day, scope, metric and key. They are
filled by `refresh`, which asks the collectors the domain apps register (governance imports
no domain app; each app counts its own data and hands back rows). django-q2 runs `refresh`
every hour over the last `REPORT_REFRESH_DAYS` days, so late delivery reports and tips are
counted again; a day whose figures change later (an outcome corrected weeks after the end)
is marked with `mark_stale` and counted again on the next run.

Figures outlive the rows they were counted from: retention deletes tips, responses and the
link of deliveries to devices, and the counts of those days stay. A collector whose source
rows are deleted after a while says so (`horizon_days`): its days older than that are never
counted again.

Every action figure is counted on the day the action was released (its reactions, outcome
and messages with it), every mailing figure on the day it was sent, so a year's figures
are those of the actions and mailings of that year.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import DailyFigure, Municipality, StaleDay

NATION = "nl"

# How the days of a figure add up to a month or a year.
SUM = "sum"  # a flow: actions released, messages sent
LAST = "last"  # a stock: participants at the end of the period
MAX = "max"  # the largest of the days: the biggest message of a month


@dataclass(frozen=True)
class Metric:
    name: str
    how: str
    label: str
    keys: str  # what the key names


# Every figure the report knows. A collector may only write these.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        # participants (deelnemers) at the end of a day, by municipality of their addresses;
        # app devices by the municipality of their place (fixed place, else last cell).
        # Keys: "registered" (people with a confirmed number), "sms", "voice", "email",
        # "app" (devices with the web app).
        Metric("participants", LAST, _("deelnemers"), "channel"),
        # actions released (not exercises), by kind; of them time-critical ones, ones with
        # at least one reaction (a tip or a registered call), ones where participants'
        # information contributed; outcome per kind as "kind:result".
        Metric("actions", SUM, _("acties"), "kind"),
        Metric("actions_tc", SUM, _("tijdkritische acties"), "kind"),
        Metric("actions_reacted", SUM, _("acties met een reactie"), "kind"),
        Metric("actions_tc_reacted", SUM, _("tijdkritische acties met een reactie"), "kind"),
        Metric("actions_contributed", SUM, _("acties waarin deelnemers bijdroegen"), "kind"),
        Metric(
            "actions_tc_contributed",
            SUM,
            _("tijdkritische acties waarin deelnemers bijdroegen"),
            "kind",
        ),
        Metric("actions_result", SUM, _("uitkomsten"), "kind:result"),
        # reactions to actions: key "tips" or "calls"
        Metric("reactions", SUM, _("reacties"), "tips|calls"),
        # messages of actions (release, updates, end, corrections) per channel: sent
        # (every delivery not stopped), delivered (a receipt or a push accepted), opened
        # in the app.
        Metric("messages", SUM, _("berichten"), "channel"),
        Metric("messages_delivered", SUM, _("afgeleverde berichten"), "channel"),
        Metric("messages_opened", SUM, _("geopende berichten"), "channel"),
        # Burgernetmail by mail kind: mailings sent, their recipients, their responses.
        Metric("mailings", SUM, _("mailings"), "mail kind"),
        Metric("mail_recipients", SUM, _("ontvangers"), "mail kind"),
        Metric("mail_responses", SUM, _("reacties op mailings"), "mail kind"),
        # every send of every kind per channel (national only), and the largest single
        # message of the day per channel, to set beside the channel's ceiling.
        Metric("sends", SUM, _("verzendingen"), "channel"),
        Metric("sends_largest", MAX, _("grootste bericht"), "channel"),
        # what retention deleted, by rule (national only; written by retention.run).
        Metric("deleted", SUM, _("verwijderd"), "retention rule"),
    ]
}

Row = tuple[dt.date, str, str, str, int]  # day, scope, metric, key, value

# From this local hour the hourly run counts the stocks (participants) again, so a day's
# figure is that of its last hour.
SNAPSHOT_HOUR = 23

# The names of keys, by what they name ("kind", "mail kind", "result"): the domain apps
# register their choices here (governance does not import them), so the report can say
# "vermist kind" for "missing_child". Named groups of keys ("high_impact") likewise.
_key_labels: dict[str, dict[str, str]] = {}
_key_groups: dict[str, frozenset[str]] = {}


def register_keys(name: str, choices, *, groups: dict[str, Iterable[str]] | None = None):
    """Register the (value, label) pairs of one kind of key, in the order to show them."""
    _key_labels[name] = dict(choices)
    for group, keys in (groups or {}).items():
        _key_groups[group] = frozenset(keys)


def key_labels(name: str) -> dict[str, str]:
    """value → label of one kind of key, in registered order ({} when none registered)."""
    return dict(_key_labels.get(name, {}))


def key_group(name: str) -> frozenset[str]:
    return _key_groups.get(name, frozenset())


@dataclass(frozen=True)
class Collector:
    """What one app counts. `count(first, last)` returns rows for the days first..last
    (inclusive, local dates). A `snapshot` collector counts a stock: the hourly run asks it
    for today only. `horizon_days`: its source rows go after this many days, so older days
    are never counted again."""

    name: str
    metrics: tuple[str, ...]
    count: Callable[[dt.date, dt.date], Iterable[Row]]
    snapshot: bool = False
    horizon_days: int | None = None


_collectors: dict[str, Collector] = {}


def register(collector: Collector) -> None:
    """Called by each app's ready(). A metric is written by one collector only."""
    for metric in collector.metrics:
        if metric not in METRICS:
            raise KeyError(f"unknown report metric {metric!r}")
        for other in _collectors.values():
            if other.name != collector.name and metric in other.metrics:
                raise ValueError(f"metric {metric!r} is already counted by {other.name}")
    _collectors[collector.name] = collector


def collectors() -> dict[str, Collector]:
    return dict(_collectors)


# --- scopes -------------------------------------------------------------------------


def unit_scope(unit_id: int) -> str:
    return f"u{unit_id}"


def municipality_scope(municipality_id: int) -> str:
    return f"m{municipality_id}"


@lru_cache(maxsize=1)
def _unit_of_municipality() -> dict[int, int]:
    return dict(Municipality.objects.values_list("id", "police_unit_id"))


def forget_geography() -> None:
    """Forget the cached municipality → unit map (after load_geography, in tests)."""
    _unit_of_municipality.cache_clear()


def scopes(*, municipality_id: int | None = None, unit_id: int | None = None) -> list[str]:
    """The scopes a counted thing belongs to: the country, its police unit (given, or the
    municipality's) and its municipality."""
    if unit_id is None and municipality_id is not None:
        unit_id = _unit_of_municipality().get(municipality_id)
        if unit_id is None:
            forget_geography()
            unit_id = _unit_of_municipality().get(municipality_id)
    found = [NATION]
    if unit_id is not None:
        found.append(unit_scope(unit_id))
    if municipality_id is not None:
        found.append(municipality_scope(municipality_id))
    return found


# --- days ---------------------------------------------------------------------------


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of a local day, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local days first..last, for created_at__gte / __lt."""
    return day_start(first), day_start(last + dt.timedelta(days=1))


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days."""
    ranges: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(a, b) for a, b in ranges]


# --- filling ------------------------------------------------------------------------


def mark_stale(day: dt.date | dt.datetime, collector: str) -> None:
    """Count `collector`'s figures of `day` again on the next refresh."""
    if isinstance(day, dt.datetime):
        day = local_day(day)
    StaleDay.objects.get_or_create(day=day, collector=collector)


def _store(collector: Collector, first: dt.date, last: dt.date) -> int:
    totals: dict[tuple[dt.date, str, str, str], int] = defaultdict(int)
    maxima = {m for m in collector.metrics if METRICS[m].how == MAX}
    for day, scope, metric, key, value in collector.count(first, last):
        if metric not in collector.metrics:
            raise ValueError(f"{collector.name} may not write {metric!r}")
        if not first <= day <= last:
            raise ValueError(f"{collector.name} counted {day} outside {first}..{last}")
        slot = (day, scope, metric, key)
        if metric in maxima:
            totals[slot] = max(totals[slot], value)
        else:
            totals[slot] += value
    with transaction.atomic():
        DailyFigure.objects.filter(
            metric__in=collector.metrics, day__gte=first, day__lte=last
        ).delete()
        DailyFigure.objects.bulk_create(
            (
                DailyFigure(day=day, scope=scope, metric=metric, key=key, value=value)
                for (day, scope, metric, key), value in totals.items()
                if value
            ),
            batch_size=5000,
        )
    return len(totals)


def refresh(
    days: Iterable[dt.date] | None = None,
    *,
    only: Iterable[str] | None = None,
    today: dt.date | None = None,
    beyond_horizon: bool = False,
) -> int:
    """Count the figures again. Without `days`: the last REPORT_REFRESH_DAYS days and the
    days marked stale (snapshot collectors: today only, on the day's first run and from
    SNAPSHOT_HOUR). With `days` (a backfill): those
    days, for every collector, snapshots included. A collector's days past its horizon are
    left as they were counted, unless `beyond_horizon` (a first backfill of data that was
    never counted, as the demo and the benchmark make: retention has deleted nothing yet).
    Returns the number of rows written."""
    today = today or timezone.localdate()
    chosen = [c for c in _collectors.values() if only is None or c.name in set(only)]
    written = 0
    for collector in chosen:
        if days is not None:
            wanted = set(days)
        elif collector.snapshot:
            # A stock is what it is at the end of the day: counted on the first run of a
            # day (so today always has a figure) and in the day's last hour, not every hour
            # (2.4 million participants and devices take some 15 s to count).
            counted = DailyFigure.objects.filter(metric__in=collector.metrics, day=today)
            late = timezone.localtime().hour >= SNAPSHOT_HOUR
            wanted = {today} if late or not counted.exists() else set()
        else:
            window = settings.REPORT_REFRESH_DAYS
            wanted = {today - dt.timedelta(days=n) for n in range(window)}
            wanted |= set(
                StaleDay.objects.filter(collector=collector.name).values_list("day", flat=True)
            )
        if collector.horizon_days is not None and not beyond_horizon:
            oldest = today - dt.timedelta(days=collector.horizon_days)
            wanted = {d for d in wanted if d >= oldest}
        wanted = {d for d in wanted if d <= today}
        for first, last in _ranges(wanted):
            written += _store(collector, first, last)
        if days is None:
            StaleDay.objects.filter(collector=collector.name, day__in=wanted).delete()
    return written


def add(day: dt.date, metric: str, key: str, value: int, scope: str = NATION) -> None:
    """Add to a figure no collector counts (what retention deleted): written once, when it
    happens, and never counted again."""
    if any(metric in c.metrics for c in _collectors.values()):
        raise ValueError(f"{metric!r} is counted by a collector; refresh fills it")
    with transaction.atomic():
        figure, created = DailyFigure.objects.select_for_update().get_or_create(
            day=day, scope=scope, metric=metric, key=key, defaults={"value": value}
        )
        if not created:
            figure.value += value
            figure.save(update_fields=["value"])


def figures(scope: str, first: dt.date, last: dt.date) -> list[tuple[dt.date, str, str, int]]:
    """Every figure of one scope in first..last: (day, metric, key, value)."""
    return list(
        DailyFigure.objects.filter(scope=scope, day__gte=first, day__lte=last).values_list(
            "day", "metric", "key", "value"
        )
    )
