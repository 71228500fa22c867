"""What the managers' overview pages read: organisations and their people, and the
retention rules with what they deleted. Read-only; scoped through the policy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import policy, retention
from .models import AuditEntry, Organisation
from .roles import ROLE_LABELS

MANAGE = "user.manage"


# Organisations ------------------------------------------------------------------------------


def organisations(*, by) -> QuerySet:
    """The organisations `by` may see, with the number of their people."""
    policy.require(by, MANAGE)
    return (
        policy.visible_organisations(by)
        .select_related("police_unit", "municipality")
        .annotate(user_count=Count("users", distinct=True))
        .order_by("name")
    )


def organisation(*, by, pk) -> Organisation:
    """One organisation `by` may see; 404 for any other (it does not learn it exists)."""
    policy.require(by, MANAGE)
    return get_object_or_404(
        policy.visible_organisations(by).select_related("police_unit", "municipality"), pk=pk
    )


@dataclass(frozen=True)
class Person:
    """A staff member as the page shows them: no password, no second factor, no phone."""

    pk: int
    username: str
    name: str
    roles: list[str]
    is_active: bool
    last_login: dt.datetime | None


def people(*, by, organisation: Organisation) -> list[Person]:
    """The users of `organisation` that `by` may manage."""
    users = (
        policy.manageable_users(by)
        .filter(organisation=organisation)
        .prefetch_related(Prefetch("groups"))
        .order_by("username")
    )
    return [
        Person(
            pk=user.pk,
            username=user.get_username(),
            name=user.get_full_name(),
            roles=sorted(str(ROLE_LABELS.get(g.name, g.name)) for g in user.groups.all()),
            is_active=user.is_active,
            last_login=user.last_login,
        )
        for user in users
    ]


def area(organisation: Organisation) -> str:
    """Where an organisation acts, in words."""
    kind = Organisation.Kind
    if organisation.kind in (kind.NATIONAL_UNIT, kind.MANAGEMENT):
        return _("Heel Nederland")
    if organisation.kind == kind.CONTROL_ROOM and organisation.police_unit:
        return _("Eenheid %(unit)s") % {"unit": organisation.police_unit.name}
    if organisation.kind == kind.MUNICIPALITY and organisation.municipality:
        return organisation.municipality.name
    if organisation.kind == kind.POLICE_TEAM:
        return ", ".join(
            organisation.municipalities.order_by("name").values_list("name", flat=True)
        )
    return "—"


# Retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionRow:
    name: str
    label: str
    after: str
    days: int
    in_words: str
    setting: str
    this_year: int
    last_year: int


@dataclass(frozen=True)
class LastRun:
    at: dt.datetime
    counts: list[tuple[str, int]]  # (the rule's label, or its name if unknown now; count)


def period_in_words(days: int) -> str:
    """A period in the largest whole unit: "5 jaar", "3 weken", "1 dag"."""
    if days and days % 365 == 0:
        n = days // 365
        return ngettext("%(n)s jaar", "%(n)s jaar", n) % {"n": n}
    if days and days % 7 == 0:
        n = days // 7
        return ngettext("%(n)s week", "%(n)s weken", n) % {"n": n}
    if days >= 60 and days % 30 == 0:
        n = days // 30
        return ngettext("ongeveer %(n)s maand", "ongeveer %(n)s maanden", n) % {"n": n}
    return ngettext("%(n)s dag", "%(n)s dagen", days) % {"n": days}


def retention_overview(*, by, today: dt.date | None = None) -> tuple[list[RetentionRow], int]:
    """Every retention rule with its period and what it deleted this year and last year."""
    policy.require(by, MANAGE)
    year = (today or timezone.localdate()).year
    this_year, last_year = retention.deleted_in(year), retention.deleted_in(year - 1)
    rows = [
        RetentionRow(
            name=rule.name,
            label=str(rule.label),
            after=str(rule.after),
            days=rule.days,
            in_words=period_in_words(rule.days),
            setting=f"RETENTION_{rule.name.upper()}_DAYS",
            this_year=this_year.get(rule.name, 0),
            last_year=last_year.get(rule.name, 0),
        )
        for rule in retention.rules()
    ]
    return rows, year


def retention_last_run() -> LastRun | None:
    """When retention last ran, with its counts. The run's entry holds counts only (no
    person, no organisation), so every manager may see it."""
    entry = AuditEntry.objects.filter(verb="retention.run").order_by("-at", "-id").first()
    if entry is None:
        return None
    counts = entry.detail.get("counts", {}) if isinstance(entry.detail, dict) else {}
    labels = {rule.name: str(rule.label) for rule in retention.rules()}
    return LastRun(
        at=entry.at,
        counts=[(labels.get(name, name), int(count)) for name, count in counts.items()],
    )
