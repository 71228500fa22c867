"""Participants' figures for the annual report (jaarverslag): how many there are, per channel,
at the end of a day (a stock: the hourly run counts today only).

Metric "participants", by key:

- "registered": participants with a confirmed phone number (reach.registered)
- "sms", "voice": registered and chose the channel (reach.reachable)
- "email": e-mail chosen and an open address: confirmed, not blocked (reach.email_open),
  as Burgernetmail selects them
- "app": web-app devices, staff test devices left out

Where: a participant counts once in the country, once in each police unit and once in each
municipality where they have an address (two addresses in one municipality: once there;
an address in Belgium or Germany has no municipality, so counts in the country alone). A
device counts in the country, and in the municipality of its first fixed place (vaste plek),
else of its live cell, when it has one: the municipality of the postcode area whose centre
lies nearest to the cell's centre (a cell across the border: the nearest Dutch one).

Which day: a participant or device counts from the day it was created, as long as it exists
now, as it is now. For today that is exact. Counted for a day in the past (a backfill,
`reporting.refresh(days=…)`) it is an approximation: those deleted since are missing, and
choices, confirmations and places are today's. The hourly run counts today again and again, so a
stored day holds its figure as of its last run (within the last hour of the day); only a
backfill writes approximate ones.

Cost: independent of the number of days. Per level (country, unit, municipality) and for
the devices, one GROUP BY over the rows created before the first day and one by local day of
creation over the days asked for; the days are added up here. Devices are placed by two
anti-joins (those without a fixed place by their cell, first places by theirs), and the few
thousand distinct cells are matched to a municipality in memory (`Nearest`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from apps.channels.models import Channel
from apps.governance import reporting
from apps.governance.models import Municipality, PostcodeArea

from . import reach
from .models import Address, Device, DevicePlace, Participant

METRIC = "participants"

# The keys of the participants themselves, each a condition on Participant.
KEYS: dict[str, Q] = {
    "registered": reach.registered(),
    "sms": reach.reachable(Channel.SMS),
    "voice": reach.reachable(Channel.VOICE),
    "email": reach.chose(Channel.EMAIL) & reach.email_open(),
}
APP = "app"

Counts = dict[tuple[str, str], int]  # (scope, key) → number


def count(first: dt.date, last: dt.date):
    start, end = reporting.day_bounds(first, last)
    before: Counts = defaultdict(int)  # created before the first day
    per_day: dict[dt.date, Counts] = defaultdict(lambda: defaultdict(int))
    for day, scope, key, n in _participants(start, end):
        (before if day is None else per_day[day])[scope, key] += n
    for day, scope, n in _devices(start, end):
        (before if day is None else per_day[day])[scope, APP] += n
    running = dict(before)
    day = first
    while day <= last:
        for slot, n in per_day.get(day, {}).items():
            running[slot] = running.get(slot, 0) + n
        for (scope, key), n in running.items():
            if n:
                yield day, scope, METRIC, key, n
        day += dt.timedelta(days=1)


def _participants(start: dt.datetime, end: dt.datetime):
    """(day or None, scope, key, number) of participants, at every level."""
    # The country: the participants themselves.
    yield from _grouped(Participant.objects.all(), start, end, "", None, lambda: reporting.NATION)
    # Units and municipalities: through the addresses, each participant once per group.
    addresses = Address.objects.filter(municipality__isnull=False)
    unit = "municipality__police_unit_id"
    yield from _grouped(addresses, start, end, "participant__", unit, reporting.unit_scope)
    yield from _grouped(
        addresses, start, end, "participant__", "municipality_id", reporting.municipality_scope
    )


def _grouped(queryset, start, end, prefix: str, field: str | None, scope_of):
    """COUNT(DISTINCT participant) per key of `queryset` (Participant, or rows related to it
    through `prefix`), grouped by `field` (or not at all): once for the participants created
    before `start` (day None), once by local day of creation from `start` to `end`."""
    created = f"{prefix}created_at"
    # Through addresses a participant has several rows: counted once per group.
    target = f"{prefix.removesuffix('__')}_id" if prefix else "pk"
    aggregates = {
        f"n_{key}": Count(target, distinct=bool(prefix), filter=_prefixed(condition, prefix))
        for key, condition in KEYS.items()
    }
    names = list(aggregates)
    fields = [field] if field else []
    before = queryset.filter(**{f"{created}__lt": start}).order_by()
    if fields:
        rows = [
            (None, *row)
            for row in before.values(*fields).annotate(**aggregates).values_list(*fields, *names)
        ]
    else:
        totals = before.aggregate(**aggregates)
        rows = [(None, *[totals[name] for name in names])]
    during = (
        queryset.filter(**{f"{created}__gte": start, f"{created}__lt": end})
        .annotate(created_day=TruncDate(created))
        .order_by()
        .values("created_day", *fields)
        .annotate(**aggregates)
        .values_list("created_day", *fields, *names)
    )
    rows += list(during)
    for day, *row in rows:
        group, numbers = row[: len(fields)], row[len(fields) :]
        if fields and group[0] is None:
            continue
        scope = scope_of(*group)
        for key, n in zip(KEYS, numbers, strict=True):
            if n:
                yield day, scope, key, n


def _prefixed(condition: Q, prefix: str) -> Q:
    """A condition on Participant, asked through a relation to it (`prefix`)."""
    if not prefix:
        return condition
    copy = Q(_connector=condition.connector, _negated=condition.negated)
    for child in condition.children:
        if isinstance(child, Q):
            copy.children.append(_prefixed(child, prefix))
        else:
            lookup, value = child
            copy.children.append((prefix + lookup, value))
    return copy


def _devices(start: dt.datetime, end: dt.datetime):
    """(day or None, scope, number) of web-app devices: in the country, and in the
    municipality of their first fixed place, else of their live cell. Two anti-joins, no
    query per device: devices without a place by their cell, and first places (no earlier
    place of the same device) by theirs."""
    places = DevicePlace.objects.filter(device=OuterRef("pk"))
    earlier = DevicePlace.objects.filter(device=OuterRef("device")).filter(
        Q(created_at__lt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    sources = [
        (
            Device.objects.filter(is_test_device=False).filter(~Exists(places)),
            "created_at",
            "cell_lat",
            "cell_lon",
        ),
        (
            DevicePlace.objects.filter(device__is_test_device=False).filter(~Exists(earlier)),
            "device__created_at",
            "cell_lat",
            "cell_lon",
        ),
    ]
    rows = []
    for queryset, created, lat, lon in sources:
        before = queryset.filter(**{f"{created}__lt": start}).order_by()
        rows += [
            (None, *row)
            for row in before.values(lat, lon).annotate(n=Count("pk")).values_list(lat, lon, "n")
        ]
        during = (
            queryset.filter(**{f"{created}__gte": start, f"{created}__lt": end})
            .annotate(created_day=TruncDate(created))
            .order_by()
            .values("created_day", lat, lon)
            .annotate(n=Count("pk"))
            .values_list("created_day", lat, lon, "n")
        )
        rows += list(during)
    nearest = Nearest.build()
    for day, lat, lon, n in rows:
        yield day, reporting.NATION, n
        if lat is None or lon is None:
            continue
        municipality_id = nearest.municipality(lat, lon)
        if municipality_id is not None:
            for scope in reporting.scopes(municipality_id=municipality_id)[1:]:
                yield day, scope, n


class Nearest:
    """The municipality of a point: that of the nearest postcode-area centre (or, without
    postcode areas, the nearest municipality centre). A grid of cells of GRID degrees holds
    the centres, so a point looks at the few cells around it, not at all 4,000 areas.
    Distances are measured on a plane, longitude scaled by the cosine of 52° (close enough
    within the country); the answer is the nearest centre on that plane."""

    GRID = 0.05
    SCALE = math.cos(math.radians(52.0))

    def __init__(self, centres):
        self.cells: dict[tuple[int, int], list[tuple[float, float, int]]] = defaultdict(list)
        for lat, lon, municipality_id in centres:
            x, y = lon * self.SCALE, lat
            self.cells[self._cell(x, y)].append((x, y, municipality_id))
        self.known: dict[tuple[float, float], int | None] = {}
        columns = [i for i, _j in self.cells] or [0]
        rows = [j for _i, j in self.cells] or [0]
        self.bounds = (min(columns), max(columns), min(rows), max(rows))

    @classmethod
    def build(cls) -> Nearest:
        centres = list(
            PostcodeArea.objects.filter(municipality__isnull=False).values_list(
                "lat", "lon", "municipality_id"
            )
        )
        if not centres:
            centres = Municipality.objects.filter(lat__isnull=False, lon__isnull=False).values_list(
                "lat", "lon", "id"
            )
        return cls(centres)

    def _cell(self, x: float, y: float) -> tuple[int, int]:
        return math.floor(x / self.GRID), math.floor(y / self.GRID)

    def municipality(self, lat: float, lon: float) -> int | None:
        point = (lat, lon)
        if point not in self.known:  # cells repeat: many devices share one
            self.known[point] = self._nearest(lat, lon)
        return self.known[point]

    def _nearest(self, lat: float, lon: float) -> int | None:
        if not self.cells:
            return None
        x, y = lon * self.SCALE, lat
        cx, cy = self._cell(x, y)
        # The ring beyond which no centre lies.
        min_i, max_i, min_j, max_j = self.bounds
        last_ring = max(cx - min_i, max_i - cx, cy - min_j, max_j - cy, 0)
        best, best_d2 = None, math.inf
        for ring in range(last_ring + 1):
            for i in range(cx - ring, cx + ring + 1):
                edge = i in (cx - ring, cx + ring)
                for j in range(cy - ring, cy + ring + 1) if edge else (cy - ring, cy + ring):
                    for px, py, municipality_id in self.cells.get((i, j), ()):
                        d2 = (px - x) ** 2 + (py - y) ** 2
                        if d2 < best_d2:
                            best, best_d2 = municipality_id, d2
            # Every centre not yet seen lies at least `ring` cells away.
            if best is not None and best_d2 <= (ring * self.GRID) ** 2:
                break
        return best


COLLECTOR = reporting.Collector(name="participants", metrics=(METRIC,), count=count, snapshot=True)
