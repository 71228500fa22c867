"""Retention (bewaartermijnen, AVG storage limitation): personal data does not outlive its use.

Each app registers the rules for its own data (`register` in its ready()); django-q2 runs
`run` every night. A rule deletes (or strips of what ties it to a person) what is older than
its period, in batches, and says how many it handled; `run` adds those numbers to the
report's "deleted" figure and writes one audit entry with the counts (no personal data).

Periods are days, in `settings.RETENTION_DAYS` (environment RETENTION_<NAME>_DAYS); the
managers' page lists every rule with its period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit, reporting
from .models import AuditEntry

log = logging.getLogger(__name__)

# Rows a rule deletes per statement: short transactions, nothing held for long.
BATCH = 2000


@dataclass(frozen=True)
class Rule:
    """`purge(cutoff)` handles what became due before `cutoff` (now minus the period) and
    returns how many it deleted or stripped. `after` says from what moment the period runs."""

    name: str
    label: str
    after: str
    purge: Callable[[dt.datetime], int]
    order: int = 100

    @property
    def days(self) -> int:
        return int(settings.RETENTION_DAYS[self.name])

    @property
    def period(self) -> dt.timedelta:
        return dt.timedelta(days=self.days)


_rules: dict[str, Rule] = {}


def register(rule: Rule) -> None:
    if rule.name not in settings.RETENTION_DAYS:
        raise KeyError(f"no period for retention rule {rule.name!r} in RETENTION_DAYS")
    _rules[rule.name] = rule


def rules() -> list[Rule]:
    return sorted(_rules.values(), key=lambda r: (r.order, r.name))


def delete_in_batches(queryset) -> int:
    """Delete the rows of `queryset` a batch at a time; returns how many rows of its model
    went (not counting cascades)."""
    model = queryset.model
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        deleted = model.objects.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)
        total += deleted


def update_in_batches(queryset, **values) -> int:
    """Update the rows of `queryset` a batch at a time (the queryset must no longer match a
    row once updated); returns how many were updated."""
    model = queryset.model
    total = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        total += model.objects.filter(pk__in=ids).update(**values)


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """Apply every rule once. Returns {rule name: number handled}."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for rule in rules():
        handled = rule.purge(now - rule.period)
        counts[rule.name] = handled
        if handled:
            reporting.add(timezone.localdate(now), "deleted", rule.name, handled)
    log.info("retention run: %s", counts)
    audit.record(verb="retention.run", detail={"counts": counts})
    return counts


def deleted_in(year: int) -> dict[str, int]:
    """What retention handled in `year`, per rule."""
    found: dict[str, int] = {}
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    for _day, metric, key, value in reporting.figures(reporting.NATION, first, last):
        if metric == "deleted":
            found[key] = found.get(key, 0) + value
    return found


def _purge_audit(cutoff: dt.datetime) -> int:
    return delete_in_batches(AuditEntry.objects.filter(at__lt=cutoff))


register(
    Rule(
        name="audit",
        label=_("Auditregels"),
        after=_("na het moment van de handeling"),
        purge=_purge_audit,
        order=900,
    )
)
