"""The mail screens (Burgernetmail) for municipal staff and police teams: write a mailing,
choose its areas, see who it reaches and what it looks like, send it or approve it.

Short function views: the access helper, a form, one service call, a redirect. Every view
asks `staff_required(verb=...)`; a mailing of another organisation is not found (404).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.channels import outbox
from apps.channels.email import fill
from apps.channels.models import Channel
from apps.channels.senders import sms
from apps.governance import policy
from apps.governance.access import staff_required
from apps.governance.policy import shown_count
from apps.web.forms import add_errors
from apps.web.headers import allow_inline_styles_of
from apps.web.maps import tiles_url

from . import selection, services
from .email import RESPOND_FIELD, UNSUBSCRIBE_FIELD, render_email
from .forms import AreaForm, EndForm, MailingForm, RejectForm
from .models import Kind, Mailing, MailingArea, MailTemplate, Response

VIEW = "mailing.view"
COMPOSE = "mailing.compose"
APPROVE = "mailing.approve"
PAGE_SIZE = 25
# What the preview shows where each recipient's own link will be.
RESPOND_PLACEHOLDER = "[persoonlijke reageerlink]"
UNSUBSCRIBE_PLACEHOLDER = "[persoonlijke afmeldlink]"


# Access ------------------------------------------------------------------------------------


def _mailing_for(request, pk: int, verb: str = VIEW) -> Mailing:
    """The mailing, if this user may do `verb` on it: 404 for another organisation's."""
    mailing = get_object_or_404(
        Mailing.objects.visible_to(request.user).select_related(
            "organisation", "author", "submitted_by", "approved_by", "ended_by"
        ),
        pk=pk,
    )
    if not services.may(request.user, verb, mailing):
        raise PermissionDenied
    return mailing


def _inbox_url(mailing: Mailing) -> str:
    return reverse("mail_inbox:inbox", args=[mailing.pk])


# The list ----------------------------------------------------------------------------------


@require_GET
@staff_required(verb=VIEW)
def index(request):
    mailings = (
        Mailing.objects.visible_to(request.user)
        .select_related("organisation", "author")
        .annotate(area_count=Count("areas", distinct=True))
    )
    open_ones = mailings.exclude(state=Mailing.State.SENT).order_by("state", "-updated_at")
    to_approve = [m for m in open_ones if m.state == Mailing.State.SUBMITTED]
    to_approve = [m for m in to_approve if services.may_approve(request.user, m)]
    sent = mailings.filter(state=Mailing.State.SENT).order_by("-sent_at", "-id")
    page = Paginator(sent, PAGE_SIZE).get_page(request.GET.get("page"))
    responses = dict(
        Response.objects.filter(mailing__in=[m.pk for m in page.object_list])
        .values_list("mailing_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for mailing in page.object_list:
        mailing.response_count = responses.get(mailing.pk, 0)
    return render(
        request,
        "mail/staff/index.html",
        {
            "open_mailings": open_ones,
            "to_approve": to_approve,
            "page": page,
            "may_compose": policy.can(request.user, COMPOSE),
        },
    )


# Writing -----------------------------------------------------------------------------------


def _initial_from(request) -> tuple[dict, MailTemplate | None]:
    """The new mailing's start: a template's kind and text, or an empty mailing of a kind."""
    template_id = request.GET.get("sjabloon", "")
    if template_id.isdigit():
        template = services.templates_for(request.user).filter(pk=template_id).first()
        if template:
            return (
                {"kind": template.kind, "subject": template.subject, "body": template.body},
                template,
            )
    kind = request.GET.get("soort", "")
    return ({"kind": kind} if kind in Kind.values else {}), None


@require_http_methods(["GET", "POST"])
@staff_required(verb=COMPOSE)
def create(request):
    templates = services.templates_for(request.user)
    if request.method != "POST":
        initial, template = _initial_from(request)
        context = {"form": MailingForm(initial=initial), "templates": templates}
        context.update(template=template, kinds=Kind.choices, started=bool(initial))
        return render(request, "mail/staff/create.html", context)
    form = MailingForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            mailing = services.mailing_create(by=request.user, **form.mailing_fields())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Het concept is opgeslagen. Kies nu de gebieden."))
            return redirect("mail:areas", pk=mailing.pk)
    context = {"form": form, "templates": templates, "kinds": Kind.choices, "started": True}
    return render(request, "mail/staff/create.html", context, status=400)


def _not_editable(request, mailing: Mailing):
    """The answer to a page that changes a draft, for a mailing that is no longer one: a
    change is refused on its page (409), the page itself leads there with the reason."""
    if request.method == "POST":
        return _detail(request, mailing, status=409, errors=[services.MSG_NOT_DRAFT])
    messages.error(request, services.MSG_NOT_DRAFT)
    return redirect("mail:detail", pk=mailing.pk)


@require_http_methods(["GET", "POST"])
@staff_required(verb=COMPOSE)
def edit(request, pk):
    mailing = _mailing_for(request, pk, COMPOSE)
    if not mailing.is_editable:
        return _not_editable(request, mailing)
    if request.method != "POST":
        form = MailingForm(instance=mailing)
        return render(request, "mail/staff/edit.html", {"mailing": mailing, "form": form})
    form = MailingForm(request.POST, request.FILES, instance=mailing)
    if form.is_valid():
        try:
            services.mailing_update(
                mailing=mailing,
                by=request.user,
                remove_image=form.cleaned_data["remove_image"],
                **form.mailing_fields(),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("De wijzigingen zijn opgeslagen."))
            return redirect("mail:detail", pk=mailing.pk)
    return render(request, "mail/staff/edit.html", {"mailing": mailing, "form": form}, status=400)


# Areas -------------------------------------------------------------------------------------


def _area_rows(mailing: Mailing) -> list[dict]:
    rows = []
    scope = mailing.scope()
    for area in mailing.areas.select_related("municipality"):
        centre = selection.area_centre(area)
        rows.append(
            {
                "area": area,
                "count": shown_count(selection.count_for([area], scope)),
                "map": {
                    "kind": area.kind,
                    "label": str(area),
                    "lat": centre[0] if centre else None,
                    "lon": centre[1] if centre else None,
                    "radius_m": area.radius_m,
                },
            }
        )
    return rows


def _areas_page(request, mailing: Mailing, form: AreaForm, status: int = 200):
    rows = _area_rows(mailing)
    context = {
        "mailing": mailing,
        "form": form,
        "area_rows": rows,
        "map_areas": [row["map"] for row in rows],
        "total": shown_count(selection.count(mailing)),
        "tiles_url": tiles_url(),
        "centre": _map_centre(mailing),
    }
    return render(request, "mail/staff/areas.html", context, status=status)


def _map_centre(mailing: Mailing) -> str:
    municipality = mailing.organisation.municipality
    if municipality is None:
        municipality = mailing.organisation.municipalities.exclude(lat=None).first()
    if municipality is not None and municipality.lat is not None:
        return f"{municipality.lat},{municipality.lon}"
    return "52.1,5.3"


@require_http_methods(["GET", "POST"])
@staff_required(verb=COMPOSE)
def areas(request, pk):
    mailing = _mailing_for(request, pk, COMPOSE)
    if not mailing.is_editable:
        return _not_editable(request, mailing)
    if request.method != "POST":
        return _areas_page(request, mailing, AreaForm(mailing=mailing))
    form = AreaForm(request.POST, mailing=mailing)
    if form.is_valid():
        try:
            services.area_add(mailing=mailing, by=request.user, **form.clean_area_fields())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Het gebied is toegevoegd."))
            return redirect(reverse("mail:areas", args=[mailing.pk]) + "#area-list")
    return _areas_page(request, mailing, form, status=400)


@require_POST
@staff_required(verb=COMPOSE)
def area_remove(request, pk, area_pk):
    mailing = _mailing_for(request, pk, COMPOSE)
    area = get_object_or_404(MailingArea, pk=area_pk, mailing=mailing)
    try:
        services.area_remove(area=area, by=request.user)
    except ValidationError as exc:
        return _detail(request, mailing, status=409, errors=exc.messages)
    messages.success(request, _("Het gebied is verwijderd."))
    return redirect(reverse("mail:areas", args=[mailing.pk]) + "#area-list")


@require_GET
@staff_required(verb=VIEW)
def recipient_count(request, pk):
    """The number of recipients now (JSON, for staff.js): of the saved areas, and with the
    area being filled in (its fields in the query) added; each as staff may see it
    (policy.shown_count: "minder dan 10" for fewer)."""
    mailing = _mailing_for(request, pk, VIEW)
    areas_now = list(mailing.areas.all())
    scope = mailing.scope()
    total = shown_count(selection.count_for(areas_now, scope))
    if "kind" not in request.GET:
        return JsonResponse({"total": total})
    form = AreaForm(request.GET, mailing=mailing)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"total": total, "errors": errors}, status=400)
    return JsonResponse(
        {
            "total": total,
            "area": shown_count(selection.count_for([form.area], scope)),
            "with_area": shown_count(selection.count_for([*areas_now, form.area], scope)),
        }
    )


# The mailing page --------------------------------------------------------------------------


def preview_context(mailing: Mailing) -> dict:
    """The e-mail exactly as the e-mail sender will build it (mail/email.py), with each
    recipient's own links shown as placeholders."""
    content = render_email(mailing)
    links = {RESPOND_FIELD: RESPOND_PLACEHOLDER, UNSUBSCRIBE_FIELD: UNSUBSCRIBE_PLACEHOLDER}
    return {
        "from": content.from_email,
        "subject": fill(content.subject, links),
        "html": fill(content.html, links),
        "text": fill(content.text, links),
    }


def _delivery_counts(mailing: Mailing) -> dict | None:
    if mailing.message_id is None:
        return None
    email = outbox.stats(mailing.message).get("email", {})
    keys = ("total", "sent", "delivered", "bounced", "failed")
    counts = {key: shown_count(email.get(key, 0)) for key in keys}
    counts["waiting"] = shown_count(email.get("queued", 0) + email.get("sending", 0))
    counts["has_failed"] = bool(email.get("failed"))
    counts["has_delivery_reports"] = "delivered" in email or "bounced" in email
    return counts


def _channel_label(channel: str) -> str:
    return str(Channel(channel).label)


def _crisis_estimate_rows(mailing: Mailing) -> list[dict]:
    """Before approval: each channel the crisis message would go on now (the channel
    settings), how many it would reach there and how many a ceiling cuts."""
    return [
        {
            "channel": channel,
            "label": _channel_label(channel),
            "sent": shown_count(row["sent"]),
            "ceiling": row["ceiling"],
            "cut": shown_count(row["cut"]) if row["cut"] else None,
        }
        for channel, row in services.crisis_estimate(mailing).items()
    ]


def _crisis_delivery_rows(message) -> list[dict]:
    """After sending: per channel, the messages written, sent, waiting and failed."""
    rows = []
    for channel, counts in outbox.stats(message).items():
        rows.append(
            {
                "channel": channel,
                "label": _channel_label(channel),
                "total": shown_count(counts["total"]),
                "sent": shown_count(counts["sent"]),
                "waiting": shown_count(counts["queued"] + counts["sending"]),
                "failed": shown_count(counts["failed"]),
                "cancelled": shown_count(counts["cancelled"]),
            }
        )
    return rows


def _crisis_context(request, mailing: Mailing, end_form=None) -> dict:
    if not mailing.is_crisis:
        return {}
    context = {"crisis_channels": None, "crisis_deliveries": None, "end_deliveries": None}
    if mailing.state in (Mailing.State.DRAFT, Mailing.State.SUBMITTED):
        context["crisis_channels"] = _crisis_estimate_rows(mailing)
        message = services.crisis_text(mailing)
        context["crisis_text"] = {
            "title": message.title,
            "body": message.body,
            "sms": sms.alert_text(message),
        }
    if mailing.message_id:
        context["crisis_deliveries"] = _crisis_delivery_rows(mailing.message)
    if mailing.end_message_id:
        context["end_deliveries"] = _crisis_delivery_rows(mailing.end_message)
    context["may_end"] = mailing.can_end and services.may_end(request.user, mailing)
    context["end_form"] = end_form or EndForm()
    return context


def _detail(
    request, mailing: Mailing, status: int = 200, errors=(), reject_form=None, end_form=None
):
    user = request.user
    context = {
        "mailing": mailing,
        "area_rows": _area_rows(mailing),
        "preview": preview_context(mailing),
        "errors": list(errors),
        "may_compose": services.may(user, COMPOSE, mailing),
        "may_approve": (
            mailing.state == Mailing.State.SUBMITTED and services.may_approve(user, mailing)
        ),
        "needs_approval": services.needs_approval(mailing),
        "reject_form": reject_form or RejectForm(),
        "deliveries": _delivery_counts(mailing),
        "response_count": Response.objects.filter(mailing=mailing).count(),
        "inbox_url": _inbox_url(mailing),
        "may_see_responses": policy.can(user, "mailing.responses", mailing),
        "recipient_count": None,
    }
    if mailing.state == Mailing.State.SUBMITTED:
        context["version"] = services.mailing_version(mailing)
    if mailing.state in (Mailing.State.DRAFT, Mailing.State.SUBMITTED):
        context["recipient_count"] = shown_count(selection.count(mailing))
        context["problems"] = services.mailing_send_problems(mailing)
    context.update(_crisis_context(request, mailing, end_form))
    response = render(request, "mail/staff/detail.html", context, status=status)
    # The preview's frame shows the e-mail with the inline styles mail clients need.
    return allow_inline_styles_of(response, context["preview"]["html"])


@require_GET
@staff_required(verb=VIEW)
def detail(request, pk):
    return _detail(request, _mailing_for(request, pk, VIEW))


# The verbs ---------------------------------------------------------------------------------


def _verb(request, mailing: Mailing, service, done, **fields):
    """A verb on the mailing from its page: `service(mailing=…, by=…, **fields)`; what it
    refuses (ValidationError) is shown on the page again (400), what it did is said there
    after the redirect (`done`, or `done(result)` for words that need the result)."""
    try:
        result = service(mailing=mailing, by=request.user, **fields)
    except ValidationError as exc:
        return _detail(request, mailing, status=400, errors=exc.messages)
    messages.success(request, done(result) if callable(done) else done)
    return redirect("mail:detail", pk=mailing.pk)


def _sent(mailing: Mailing) -> str:
    if mailing.state == Mailing.State.SUBMITTED and mailing.is_crisis:
        return _(
            "De crisismelding wacht nu op goedkeuring door een tweede persoon van uw "
            "organisatie. Na goedkeuring gaat zij meteen uit."
        )
    if mailing.state == Mailing.State.SUBMITTED:
        return _("De mailing wacht nu op goedkeuring door een collega.")
    return _("De mailing gaat naar %(n)s ontvangers.") % {"n": shown_count(mailing.recipient_count)}


@require_POST
@staff_required(verb=COMPOSE)
def send(request, pk):
    mailing = _mailing_for(request, pk, COMPOSE)
    if request.POST.get("confirm") != "yes":
        errors = [_("Bevestig dat u het voorbeeld en het aantal ontvangers hebt gezien.")]
        return _detail(request, mailing, status=400, errors=errors)
    return _verb(request, mailing, services.mailing_submit, _sent)


def _approved(mailing: Mailing) -> str:
    if mailing.is_crisis:
        return _("Goedgekeurd: de crisismelding gaat uit (%(n)s berichten).") % {
            "n": shown_count(mailing.recipient_count)
        }
    return _("Goedgekeurd: de mailing gaat naar %(n)s ontvangers.") % {
        "n": shown_count(mailing.recipient_count)
    }


@require_POST
@staff_required(verb=APPROVE)
def approve(request, pk):
    """Approve the version the approver saw: its page's hidden "version" field."""
    mailing = _mailing_for(request, pk, APPROVE)
    version = request.POST.get("version", "")
    return _verb(request, mailing, services.mailing_approve, _approved, version=version)


@require_POST
@staff_required(verb=APPROVE)
def reject(request, pk):
    mailing = _mailing_for(request, pk, APPROVE)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _detail(request, mailing, status=400, reject_form=form)
    done = _("De mailing is afgewezen en terug naar de auteur als concept.")
    return _verb(request, mailing, services.mailing_reject, done, **form.cleaned_data)


@require_POST
@staff_required(verb=COMPOSE)
def withdraw(request, pk):
    mailing = _mailing_for(request, pk, COMPOSE)
    done = _("De mailing is teruggehaald en weer een concept.")
    return _verb(request, mailing, services.mailing_withdraw, done)


@require_POST
@staff_required(verb=VIEW)
def end(request, pk):
    """ "Crisis voorbij": end a sent crisis message with a text (services.mailing_end
    decides who may)."""
    mailing = _mailing_for(request, pk, VIEW)
    if not services.may_end(request.user, mailing):
        raise PermissionDenied
    form = EndForm(request.POST)
    if not form.is_valid():
        return _detail(request, mailing, status=400, end_form=form)
    done = _("De crisismelding is beëindigd; het eindbericht gaat naar wie haar kreeg.")
    return _verb(request, mailing, services.mailing_end, done, **form.cleaned_data)
