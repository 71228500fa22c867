"""Burgernetmail's figures for the annual report (jaarverslag): mailings sent, their
recipients and the responses to them, by mail kind.

A mailing counts on the local day it was sent (`sent_at`), crisis messages included, in the
country, and where the organisation that sent it works: a municipality's mailing in its
municipality (and that municipality's police unit), a police team's or a control room's in
its police unit.

Every figure is read from the mailing's own row, never from rows retention deletes:
recipients are `recipient_count` (the deliveries queued when it was sent: for a crisis
message its messages on all channels), responses are `responses_counted` (raised as each
response comes in, services.response_submit). So a day counted again after retention gives
the same figures, and the collector has no horizon. A response that comes in after the days
the hourly run counts again (REPORT_REFRESH_DAYS) marks the day its mailing was sent stale.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from apps.governance import reporting
from apps.governance.models import Organisation

from .models import Mailing

METRICS = ("mailings", "mail_recipients", "mail_responses")


def count(first: dt.date, last: dt.date):
    start, end = reporting.day_bounds(first, last)
    # One row per mailing, a few a day: summed here, by the local day of each moment.
    mailings = (
        Mailing.objects.filter(state=Mailing.State.SENT, sent_at__gte=start, sent_at__lt=end)
        .order_by()
        .values_list("sent_at", "kind", "organisation_id", "recipient_count", "responses_counted")
    )
    totals: dict[tuple[dt.date, str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for sent_at, kind, organisation_id, recipients, responses in mailings:
        total = totals[reporting.local_day(sent_at), kind, organisation_id]
        total[0] += 1
        total[1] += recipients
        total[2] += responses
    where = _organisation_scopes({organisation_id for _d, _k, organisation_id in totals})
    for (day, kind, organisation_id), (n, recipients, responses) in totals.items():
        for scope in where[organisation_id]:
            yield day, scope, "mailings", kind, n
            yield day, scope, "mail_recipients", kind, recipients
            yield day, scope, "mail_responses", kind, responses


def _organisation_scopes(ids: set[int]) -> dict[int, list[str]]:
    """Where each organisation's mailings count: a municipality's in its municipality (and
    so its police unit); a control room's in its unit; a police team's in the unit of its
    municipalities (a team serves several municipalities, so in none of them alone);
    national ones in the country only."""
    found: dict[int, list[str]] = {}
    for organisation in Organisation.objects.filter(pk__in=ids).prefetch_related("municipalities"):
        if organisation.kind == Organisation.Kind.MUNICIPALITY and organisation.municipality_id:
            found[organisation.pk] = reporting.scopes(municipality_id=organisation.municipality_id)
            continue
        unit_id = organisation.police_unit_id
        if unit_id is None and organisation.kind == Organisation.Kind.POLICE_TEAM:
            units = {m.police_unit_id for m in organisation.municipalities.all()}
            unit_id = units.pop() if len(units) == 1 else None
        found[organisation.pk] = reporting.scopes(unit_id=unit_id)
    return found


COLLECTOR = reporting.Collector(name="mail", metrics=METRICS, count=count)
