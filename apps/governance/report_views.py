"""The annual report (jaarverslag) on screen and as CSV, per year and area, for managers.

The views parse the year, the area and the sort order, check the policy ("report.view" on
the area) and hand the work to `report.build`.
"""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import audit, charts, report
from .access import staff_required
from .models import DailyFigure, Municipality, PoliceUnit

# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Refused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def _years(today, chosen: int) -> list[int]:
    """The years the chooser offers: from the first year with figures to this one (and the
    year shown, should it lie before)."""
    first = (
        DailyFigure.objects.filter(scope="nl").order_by("day").values_list("day", flat=True).first()
    )
    start = min(first.year if first else today.year - 1, today.year - 1, chosen)
    return list(range(today.year, start - 1, -1))


def _parse(request, choices: report.Choices):
    """(year, scope, sort) from the query; _Refused with a message for bad input, and
    PermissionDenied for an area the user may not see."""
    today = timezone.localdate()
    try:
        year = report.parse_year(request.GET.get("jaar") or str(today.year - 1), today=today)
        code = request.GET.get("gebied") or choices.default()
        scope = report.parse_scope(code)
        sort = request.GET.get("sorteer") or "naam"
        if sort.lstrip("-") not in report.SORTS:
            raise report.ReportInputError(_("Onbekende sortering."))
    except report.ReportInputError as error:
        raise _Refused(str(error), 400) from error
    except (Municipality.DoesNotExist, PoliceUnit.DoesNotExist) as error:
        raise _Refused(_("Dat gebied bestaat niet."), 404) from error
    if not report.may_view(request.user, scope):
        raise PermissionDenied
    return year, scope, sort


def _refused(request, error: _Refused):
    context = {"message": error.message}
    return render(request, "governance/report/refused.html", context, status=error.status)


def _query(year, scope, **extra) -> str:
    return urlencode({"jaar": year, "gebied": scope.code, **extra})


def _sort_headers(table: report.Table, year, scope, sort: str):
    """Per column: (label, link that sorts by it, aria-sort)."""
    headers = []
    for column in table.columns:
        if not column.sort:
            headers.append((column.label, "", ""))
            continue
        if sort == column.sort:
            nxt, aria = "-" + column.sort, "ascending"
        elif sort == "-" + column.sort:
            nxt, aria = column.sort, "descending"
        else:
            nxt, aria = column.sort, ""
        headers.append((column.label, "?" + _query(year, scope, sorteer=nxt) + "#deelname", aria))
    return headers


@require_safe
@never_cache
@staff_required(verb=report.VERB)
def annual_report(request):
    choices = report.choices_for(request.user)
    try:
        year, scope, sort = _parse(request, choices)
    except _Refused as error:
        return _refused(request, error)
    built = report.build(scope, year, sort=sort)
    audit.record(
        verb="report.viewed",
        actor=request.user,
        request=request,
        detail={"year": year, "scope": scope.code},
    )
    years = {"year": year, "before": year - 1}
    chart_desc = _("Staafdiagram; de cijfers staan in de tabel ernaast.")
    tables = built.tables()
    per_month = tables["acties-maand"]
    participants = tables["deelnemers"]
    charts_ = {
        "participants": charts.bar_chart(
            chart_id="chart-participants",
            title=_("Deelnemers per kanaal, %(year)s en %(before)s") % years,
            desc=chart_desc,
            categories=[row[0] for row in participants.rows],
            short=[_("geregistreerd"), _("sms"), _("spraak"), _("e-mail"), _("web-app")],
            series=[
                (str(year), [row[1] or 0 for row in participants.rows]),
                (str(year - 1), [row[2] or 0 for row in participants.rows]),
            ],
        ),
        "months": charts.bar_chart(
            chart_id="chart-months",
            title=_("Burgernetacties per maand, %(year)s en %(before)s") % years,
            desc=chart_desc,
            categories=[row[0] for row in per_month.rows],
            short=[str(MONTHS_3[m]) for m in range(1, 13)],
            series=[
                (str(year), [row[1] for row in per_month.rows]),
                (str(year - 1), [row[3] for row in per_month.rows]),
            ],
        ),
        "map": charts.participation_map(
            built.participation,
            built.bounds,
            title=_("Kaart van de deelname per gemeente in %(scope)s") % {"scope": scope.name},
            desc=_("Gemeenten gekleurd naar deelname in vijf klassen; de cijfers in de tabel."),
        ),
    }
    query = _query(year, scope)
    groups = []
    if choices.nation:
        groups.append(("", [("nl", _("Nederland"))]))
    if choices.units:
        groups.append((_("Politie-eenheden"), [(f"u{u.pk}", u.name) for u in choices.units]))
    if choices.municipalities:
        groups.append((_("Gemeenten"), [(f"m{m.pk}", m.name) for m in choices.municipalities]))
    context = {
        "report": built,
        "tables": {name.replace("-", "_"): table for name, table in tables.items()},
        "scope_groups": groups,
        "charts": charts_,
        "legend": charts.legend(built.bounds),
        "choices": choices,
        "years": _years(timezone.localdate(), year),
        "year": year,
        "scope": scope,
        "query": query,
        "sort_query": _query(year, scope, sorteer=sort),
        "participation_headers": _sort_headers(tables["deelname"], year, scope, sort),
    }
    return render(request, "governance/report/page.html", context)


def _cell(value: str, kind: str) -> str:
    if kind == report.TEXT and value.startswith(FORMULA_START):
        return "'" + value
    return value


@require_safe
@never_cache
@staff_required(verb=report.VERB)
def annual_report_csv(request, table):
    """One table of the report as CSV, the same rows as on the screen: UTF-8 with a
    byte-order mark and semicolons (as the mail inbox's export, for Dutch Excel)."""
    choices = report.choices_for(request.user)
    try:
        year, scope, sort = _parse(request, choices)
    except _Refused as error:
        return _refused(request, error)
    if table not in report.TABLE_NAMES or (
        table in report.NATIONAL_TABLES and not scope.nationwide
    ):
        return _refused(request, _Refused(_("Die tabel staat niet in dit jaarverslag."), 404))
    chosen = report.build(scope, year, sort=sort).tables()[table]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"jaarverslag-{year}-{scope.code}-{table}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(chosen.header())
    kinds = [c.kind for c in chosen.columns]
    for row in chosen.cells():
        writer.writerow([_cell(v, k) for v, k in zip(row, kinds, strict=True)])
    audit.record(
        verb="report.exported",
        actor=request.user,
        request=request,
        detail={"year": year, "scope": scope.code, "table": table},
    )
    return response
