"""The responses inbox of a mailing: its organisation's staff read the answers to a
buurtonderzoek, mark them followed up, and export them as CSV.

Only staff of the mailing's own organisation with the verb "mailing.responses" (and
country-wide managers) get in: `Mailing.objects.visible_to` narrows to the organisation,
policy checks the role and scope. Everyone else gets 404, so the inbox does not even say
that a mailing exists. Photos are served through a view with the same check, never as
public media URLs. Reading and exporting are audited; opening a response and marking it
are verbs in services.py.
"""

import csv

from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from apps.governance import audit, policy
from apps.governance.access import staff_required
from apps.participants.phones import display as display_phone
from apps.web.images import image_response

from . import services
from .models import Mailing, Response, ResponseEntry

VERB = services.RESPONSES
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Views -----------------------------------------------------------------------------------


@require_safe
@never_cache
@staff_required(verb=VERB)
def inbox(request, pk):
    mailing = _mailing_for(request, pk)
    status = _status_filter(request)
    responses = list(_responses(mailing, status))
    for item in responses:
        item.latest_entry = list(item.entries.all())[-1]
    audit.record(
        verb="mail.responses.viewed",
        actor=request.user,
        target=mailing,
        request=request,
        detail={"status": status or "all"},
    )
    context = {
        "mailing": mailing,
        "mailing_url": reverse("mail:detail", kwargs={"pk": mailing.pk}),
        "responses": responses,
        "status": status,
        "tabs": _tabs(mailing, status),
    }
    return render(request, "mail/inbox/inbox.html", context)


@require_safe
@never_cache
@staff_required(verb=VERB)
def response_detail(request, pk, number):
    mailing = _mailing_for(request, pk)
    response = _response_for(mailing, number)
    services.response_open(response=response, by=request.user, request=request)
    context = {
        "mailing": mailing,
        "response": response,
        "entries": list(_entries(response)),
        "phone": display_phone(response.contact_phone) if response.contact_phone else "",
        "statuses": [
            (value, label) for value, label in Response.Status.choices if value != response.status
        ],
    }
    return render(request, "mail/inbox/response.html", context)


@require_POST
@staff_required(verb=VERB)
def response_status(request, pk, number):
    mailing = _mailing_for(request, pk)
    response = _response_for(mailing, number)
    status = request.POST.get("status", "")
    if status not in Response.Status.values:
        return HttpResponse(_("Onbekende status."), status=400, content_type="text/plain")
    services.response_set_status(response=response, status=status, by=request.user, request=request)
    return redirect("mail_inbox:response", pk=mailing.pk, number=response.number)


@require_safe
@never_cache
@staff_required(verb=VERB)
def photo(request, pk, number, entry):
    """The photo of a response's `entry`-th answer (1 the first, then its additions)."""
    mailing = _mailing_for(request, pk)
    response = _response_for(mailing, number)
    entries = list(_entries(response)[entry - 1 : entry]) if entry >= 1 else []
    if not entries or not entries[0].photo:
        raise Http404
    return image_response(entries[0].photo)


@require_safe
@never_cache
@staff_required(verb=VERB)
def export(request, pk):
    """CSV for Excel: UTF-8 with a byte-order mark (else Excel reads it as Windows-1252) and
    semicolons between fields (Dutch Excel's list separator, since the comma is its decimal
    separator: a comma-separated file opens as one column there)."""
    mailing = _mailing_for(request, pk)
    status = _status_filter(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reacties-mailing-{mailing.pk}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Reactie"),
            _("Status"),
            _("Eerste reactie op"),
            _("Aanvulling"),
            _("Ontvangen op"),
            _("Wat gezien of gehoord"),
            _("Wanneer"),
            _("Foto"),
            _("Naam"),
            _("Telefoonnummer"),
            _("E-mailadres"),
            _("Mag gebeld worden"),
        ]
    )
    rows = 0
    for item in _responses(mailing, status):
        phone = display_phone(item.contact_phone) if item.contact_phone else ""
        for number, entry in enumerate(item.entries.all(), start=1):
            photo_url = (
                request.build_absolute_uri(photo_path(mailing.pk, item.number, number))
                if entry.photo
                else ""
            )
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        item.number,
                        item.get_status_display(),
                        _local(item.created_at),
                        number,
                        _local(entry.created_at),
                        entry.observation,
                        entry.observed_when,
                        photo_url,
                        item.contact_name,
                        phone,
                        item.contact_email,
                        _("ja") if item.may_call else _("nee"),
                    )
                ]
            )
            rows += 1
    audit.record(
        verb="mail.responses.exported",
        actor=request.user,
        target=mailing,
        request=request,
        detail={"status": status or "all", "rows": rows},
    )
    return response


# Helpers ---------------------------------------------------------------------------------


def _mailing_for(request, pk) -> Mailing:
    """The mailing, if the user may read its responses; 404 for anyone else (staff of
    another organisation do not learn that it exists)."""
    mailing = get_object_or_404(
        Mailing.objects.visible_to(request.user).select_related("organisation"), pk=pk
    )
    if not policy.can(request.user, VERB, mailing):
        raise Http404
    return mailing


def _response_for(mailing: Mailing, number) -> Response:
    """The mailing's response with this number (Response.number, 1, 2, 3… per mailing)."""
    response = get_object_or_404(Response, number=number, mailing=mailing)
    response.mailing = mailing
    return response


def _entries(response: Response):
    """A response's answers in the order they came: the first, then the additions."""
    return response.entries.order_by("created_at", "id")


def photo_path(mailing_id: int, number: int, entry: int) -> str:
    """The address of the photo of the `entry`-th answer of response `number`."""
    return reverse("mail_inbox:photo", kwargs={"pk": mailing_id, "number": number, "entry": entry})


def _status_filter(request) -> str:
    status = request.GET.get("status", "")
    return status if status in Response.Status.values else ""


def _responses(mailing: Mailing, status: str):
    responses = (
        Response.objects.filter(mailing=mailing)
        .annotate(entry_count=Count("entries"))
        .prefetch_related(
            Prefetch("entries", queryset=ResponseEntry.objects.order_by("created_at", "id"))
        )
        .order_by("-updated_at", "-id")
    )
    return responses.filter(status=status) if status else responses


def _tabs(mailing: Mailing, current: str) -> list[dict]:
    counts = dict(
        Response.objects.filter(mailing=mailing)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    url = reverse("mail_inbox:inbox", kwargs={"pk": mailing.pk})
    tabs = [{"label": _("Alle"), "count": sum(counts.values()), "url": url, "current": not current}]
    for value, label in Response.Status.choices:
        tabs.append(
            {
                "label": str(label).capitalize(),
                "count": counts.get(value, 0),
                "url": f"{url}?status={value}",
                "current": current == value,
            }
        )
    return tabs


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%d-%m-%Y %H:%M")


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
