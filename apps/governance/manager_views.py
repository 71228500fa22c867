"""The managers' pages (beheerders): the audit trail, the municipal contributions,
organisations and their people with their history, and the retention rules.

Views parse the request and call audit_log, contributions and manager_pages, which check
role and scope through the policy; `staff_required(verb=...)` turns away staff without the
manager role (403) before anything is read.
"""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from apps.web.forms import add_errors

from . import audit_log, contributions, manager_pages
from .access import staff_required
from .manager_forms import AuditFilterForm, ContributionRateForm, ContributionYearForm


def _page(request, queryset):
    return Paginator(queryset, audit_log.PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# The audit trail ----------------------------------------------------------------------------


@require_safe
@never_cache
@staff_required(verb=audit_log.VIEW)
def audit(request):
    form = AuditFilterForm(request.GET or None, user=request.user)
    if request.GET and not form.is_valid():
        context = {"form": form, "page": None, "query": ""}
        return render(request, "governance/audit/list.html", context, status=400)
    filters = form.filters() if form.is_bound else audit_log.AuditFilter()
    page = _page(request, audit_log.entries(by=request.user, filters=filters))
    for entry in page.object_list:
        entry.readable_detail = audit_log.readable_detail(entry)
    context = {"form": form, "page": page, "query": _query_without_page(request)}
    return render(request, "governance/audit/list.html", context)


@require_safe
@never_cache
@staff_required(verb=audit_log.VIEW)
def audit_export(request):
    form = AuditFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        context = {"form": form, "page": None, "query": ""}
        return render(request, "governance/audit/list.html", context, status=400)
    filters = form.filters()
    found = audit_log.entries(by=request.user, filters=filters)
    audit_log.export_recorded(by=request.user, filters=filters, rows=found.count(), request=request)
    response = StreamingHttpResponse(
        audit_log.csv_lines(found), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audittrail-{stamp}.csv"'
    return response


# Municipal contributions ----------------------------------------------------------------------


def _contributions_page(request, year_form, rate_form=None, status=200):
    """The page for the year of `year_form`: the figures when the year is valid (the
    current year when none was asked), else only the form with its error."""
    result = None
    if not year_form.is_bound:
        result = contributions.contributions(by=request.user, year=year_form.initial["year"])
    elif year_form.is_valid():
        result = contributions.contributions(by=request.user, year=year_form.cleaned_data["year"])
    may_manage = contributions.may_manage_rates(request.user)
    context = {
        "year_form": year_form,
        "result": result,
        "rates": contributions.rates() if may_manage else None,
        "rate_form": (rate_form or ContributionRateForm()) if may_manage else None,
    }
    return render(request, "governance/contributions/index.html", context, status=status)


@require_safe
@never_cache
@staff_required(verb=contributions.VIEW)
def contributions_index(request):
    year_form = (
        ContributionYearForm(request.GET)
        if "year" in request.GET
        else ContributionYearForm(initial={"year": ContributionYearForm.initial_year()})
    )
    status = 400 if year_form.is_bound and not year_form.is_valid() else 200
    return _contributions_page(request, year_form, status=status)


def _euros(value) -> str:
    """An amount for Dutch Excel: decimal comma, no thousands separator."""
    return f"{value:.2f}".replace(".", ",")


@require_safe
@never_cache
@staff_required(verb=contributions.VIEW)
def contributions_export(request):
    year_form = ContributionYearForm(request.GET)
    if not year_form.is_valid():
        return _contributions_page(request, year_form, status=400)
    year = year_form.cleaned_data["year"]
    result = contributions.contributions(by=request.user, year=year)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bijdragen-{year}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    cents = format(result.cents_per_inhabitant.normalize(), "f").replace(".", ",")
    writer.writerow(
        [_("CBS-code"), _("Gemeente"), _("Inwoners"), _("Cent per inwoner"), _("Bedrag (euro)")]
    )
    for row in result.rows:
        writer.writerow(
            [
                row.municipality.code,
                row.municipality.name,
                "" if row.inhabitants is None else row.inhabitants,
                cents,
                "" if row.amount is None else _euros(row.amount),
            ]
        )
    writer.writerow(["", _("Totaal"), "", "", _euros(result.total)])
    contributions.export_recorded(
        by=request.user, year=year, rows=len(result.rows), request=request
    )
    return response


@require_POST
@staff_required(verb="settings.manage")
def contribution_rate_set(request):
    form = ContributionRateForm(request.POST)
    if form.is_valid():
        try:
            contributions.rate_set(by=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Het tarief vanaf %(year)s is opgeslagen.") % {"year": form.cleaned_data["year"]},
            )
            url = reverse("governance:contributions")
            return redirect(f"{url}?year={form.cleaned_data['year']}")
    year_form = ContributionYearForm(initial={"year": ContributionYearForm.initial_year()})
    return _contributions_page(request, year_form, rate_form=form, status=400)


# Organisations --------------------------------------------------------------------------------


@require_safe
@never_cache
@staff_required(verb=manager_pages.MANAGE)
def organisations(request):
    rows = manager_pages.organisations(by=request.user)
    return render(request, "governance/organisations/list.html", {"organisations": rows})


@require_safe
@never_cache
@staff_required(verb=manager_pages.MANAGE)
def organisation(request, pk):
    found = manager_pages.organisation(by=request.user, pk=pk)
    history = _page(request, audit_log.organisation_history(by=request.user, organisation=found))
    for entry in history.object_list:
        entry.readable_detail = audit_log.readable_detail(entry)
    context = {
        "organisation": found,
        "area": manager_pages.area(found),
        "people": manager_pages.people(by=request.user, organisation=found),
        "page": history,
        "query": "",
    }
    return render(request, "governance/organisations/detail.html", context)


# Retention ------------------------------------------------------------------------------------


@require_safe
@never_cache
@staff_required(verb=manager_pages.MANAGE)
def retention(request):
    rows, year = manager_pages.retention_overview(by=request.user)
    context = {
        "rows": rows,
        "year": year,
        "last_year": year - 1,
        "last_run": manager_pages.retention_last_run(),
    }
    return render(request, "governance/retention.html", context)
