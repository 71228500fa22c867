"""Reading the audit trail (audittrail) on the managers' pages: filtered, paged, exported.

Every query starts from `policy.visible_audit_entries(by)`: country-wide managers read all
of it, other managers the entries of their own organisation. A filter only narrows that
further; a filter value outside it (another organisation, a user the manager may not see)
is refused by the form before anything is read.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, policy
from .models import AuditEntry, Organisation, User

VIEW = "audit.view"
PAGE_SIZE = 50
# Characters that make a spreadsheet read a cell as a formula (CSV injection); the same
# rule as the mail responses' export (apps/mail/inbox.py).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What a manager narrows the trail to; empty fields do not narrow."""

    organisation: Organisation | None = None
    actor: User | None = None
    target_type: str = ""
    target: str = ""  # an object's id, or part of its name (target_repr)
    verb: str = ""  # a verb, or its start ending in "." ("user." for every user verb)
    date_from: dt.date | None = None  # local dates, both included
    date_to: dt.date | None = None

    def as_detail(self) -> dict:
        """The filter for the audit entry of an export: ids and words, no objects."""
        return {
            "organisation": self.organisation.pk if self.organisation else None,
            "actor": self.actor.pk if self.actor else None,
            "target_type": self.target_type,
            "target": self.target,
            "verb": self.verb,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def entries(*, by, filters: AuditFilter) -> QuerySet:
    """The visible entries matching `filters`, newest first."""
    policy.require(by, VIEW)
    found = policy.visible_audit_entries(by).select_related("organisation")
    if filters.organisation is not None:
        found = found.filter(organisation=filters.organisation)
    if filters.actor is not None:
        found = found.filter(actor=filters.actor)
    if filters.target_type:
        found = found.filter(target_type=filters.target_type)
    if filters.target:
        text = filters.target.strip()
        match = Q(target_repr__icontains=text)
        if text.isdigit():
            match |= Q(target_id=text)
        found = found.filter(match)
    if filters.verb:
        verb = filters.verb.strip()
        found = (
            found.filter(verb__startswith=verb) if verb.endswith(".") else found.filter(verb=verb)
        )
    if filters.date_from is not None:
        found = found.filter(at__gte=_start_of(filters.date_from))
    if filters.date_to is not None:
        found = found.filter(at__lt=_start_of(filters.date_to + dt.timedelta(days=1)))
    return found.order_by("-at", "-id")


def target_types(by) -> list[str]:
    """The kinds of object in the trail the manager can read (for the filter's choices)."""
    visible = policy.visible_audit_entries(by).exclude(target_type="")
    return sorted(set(visible.values_list("target_type", flat=True).distinct()))


def verbs(by) -> list[str]:
    visible = policy.visible_audit_entries(by)
    return sorted(set(visible.values_list("verb", flat=True).distinct()))


def readable_detail(entry: AuditEntry) -> str:
    """An entry's detail as indented JSON (empty when there is none)."""
    if not entry.detail:
        return ""
    return json.dumps(entry.detail, indent=2, ensure_ascii=False, sort_keys=True)


# CSV --------------------------------------------------------------------------------------


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%d-%m-%Y %H:%M:%S")


class _Echo:
    """A file-like object that hands back what is written, for csv.writer in a stream."""

    def write(self, value):
        return value


def csv_lines(queryset: QuerySet) -> Iterator[str]:
    """The CSV of `queryset`, line by line, for a StreamingHttpResponse: UTF-8 with a
    byte-order mark and semicolons (Dutch Excel), as the mail responses' export."""
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff"
    yield writer.writerow(
        [
            _("Tijdstip"),
            _("Wie"),
            _("Organisatie"),
            _("Handeling"),
            _("Soort object"),
            _("Object-id"),
            _("Object"),
            _("IP-adres"),
            _("Details"),
        ]
    )
    for entry in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(v)
                for v in (
                    _local(entry.at),
                    entry.actor_name,
                    entry.organisation.name if entry.organisation else "",
                    entry.verb,
                    entry.target_type,
                    entry.target_id,
                    entry.target_repr,
                    entry.ip or "",
                    json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)
                    if entry.detail
                    else "",
                )
            ]
        )


def export_recorded(*, by, filters: AuditFilter, rows: int, request=None) -> None:
    """Exporting the trail is itself a line in it, with the filter used."""
    audit.record(
        verb="audit.export",
        actor=by,
        request=request,
        detail={"filters": filters.as_detail(), "rows": rows},
    )


# An organisation's history ------------------------------------------------------------------


def organisation_history(*, by, organisation: Organisation) -> QuerySet:
    """Who changed what: the visible entries about `organisation` and about its users,
    newest first."""
    policy.require(by, VIEW)
    return (
        policy.visible_audit_entries(by)
        .filter(AuditEntry.about_organisation(organisation.pk))
        .select_related("organisation")
        .order_by("-at", "-id")
    )
