"""The operator console (meldkamer): start, follow and end Burgernetacties.

Short function views: the access helper, a form, one service call, a redirect. The
screens that only show (overview, history, an action with its live counts and tips) ask
`staff_required(verb="action.view")`, so managers can follow actions read-only; every
view that changes something asks "action.manage". Every object is checked by the scope
policy: an operator sees and acts on the actions of the own region only.
"""

import functools
import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template, render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.channels import outbox, previews
from apps.channels.models import Channel, OutgoingMessage
from apps.governance import policy
from apps.governance.access import staff_required
from apps.governance.policy import Scope, shown_count
from apps.participants import geocoding
from apps.participants.models import Language
from apps.web.forms import CleanCharField, add_errors
from apps.web.maps import tiles_attribution, tiles_url

from . import approval, services, targeting
from .forms import (
    ActionForm,
    AddressSearchForm,
    CancelForm,
    EndForm,
    OutcomeForm,
    PersonFormSet,
    ReachForm,
    SearchForm,
    UpdateForm,
    VehicleFormSet,
    described,
    signalement_initial,
)
from .models import APPROVAL_REASON_MAX, Action, Tip
from .selectors import actions_reaching, active_actions, visible_actions

HISTORY_PAGE_SIZE = 25
VIEW = "action.view"
MANAGE = "action.manage"
MSG_OUTSIDE_REGION = services.MSG_OUTSIDE_REGION
MSG_FORBIDDEN = _lazy("U mag deze actie niet versturen.")
MSG_AMBER_ONLY = _lazy("Alleen de Landelijke Eenheid mag een AMBER Alert maken.")
MSG_NOT_EDITABLE = _lazy(
    "Deze actie is al verstuurd en kan niet meer worden bewerkt. Stuur een update als er "
    "iets is veranderd."
)


# Access --------------------------------------------------------------------------------------


def _action_for(request, pk: int, verb: str = MANAGE) -> Action:
    """The action, if this user may do `verb` on it: 404 when unknown, 403 for another
    region."""
    action = get_object_or_404(Action.objects.select_related("police_unit"), pk=pk)
    policy.require(request.user, verb, action)
    return action


def _may_manage(user, action: Action) -> bool:
    """May `user` change `action` (the forms and buttons on its page)?"""
    if not policy.can(user, MANAGE, action):
        return False
    return not action.is_amber or policy.can(user, "action.amber", action)


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Render a console page; `can_create` decides whether "new action" is offered."""
    context.setdefault("can_create", policy.has_role_for(request.user, MANAGE))
    return render(request, template, context, status=status)


def _channel_label(channel: str) -> str:
    try:
        return str(Channel(channel).label)
    except ValueError:
        return channel


def _reach_rows(reach: dict) -> list[dict]:
    """The reach per channel as staff may see it (policy.shown_count: "minder dan 10"):
    how many get the message, and where a ceiling holds, how many it cuts."""
    return [
        {
            "channel": key,
            "label": _channel_label(key),
            "n": shown_count(row.sent),
            "found": shown_count(row.found),
            "ceiling": row.ceiling,
            "cut": shown_count(row.cut) if row.cut else 0,
        }
        for key, row in reach.items()
    ]


def _reach_total(reach: dict) -> str:
    return shown_count(sum(row.sent for row in reach.values()))


def _errors_of(exc: ValidationError) -> list[str]:
    return list(exc.messages)


# The overview ----------------------------------------------------------------------------------


@require_GET
@staff_required(verb=VIEW)
def index(request):
    search = SearchForm(request.GET or None)
    history = visible_actions(request.user).filter(
        state__in=[Action.State.ENDED, Action.State.CANCELLED]
    )
    if search.is_valid():
        if search.cleaned_data["q"]:
            history = history.filter(title__icontains=search.cleaned_data["q"])
        if search.cleaned_data["kind"]:
            history = history.filter(kind=search.cleaned_data["kind"])
        if search.cleaned_data["date"]:
            history = history.filter(created_at__date=search.cleaned_data["date"])
    page = Paginator(history.select_related("police_unit"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return _render(
        request,
        "actions/console/index.html",
        {
            "active": active_actions(request.user),
            "reaching": _reaching(request.user),
            "search": search,
            "page": page,
            "query": query.urlencode(),
            **_awaiting_context(request),
        },
    )


def _reaching(user):
    return actions_reaching(user).select_related("police_unit").order_by("-released_at")


@require_GET
@staff_required(verb=VIEW)
def active(request):
    context = {"active": active_actions(request.user), "reaching": _reaching(request.user)}
    return render(request, "actions/console/_active.html", context)


@require_GET
@staff_required(verb=VIEW)
def neighbour(request, pk):
    """A running action of another unit whose circle reaches into this user's region:
    what the alert said, read-only (no tips, photos or buttons)."""
    action = get_object_or_404(_reaching(request.user), pk=pk)
    context = {
        "action": action,
        "persons": action.persons.all(),
        "vehicles": action.vehicles.all(),
        "tiles_url": tiles_url(),
        "tiles_attribution": tiles_attribution(),
    }
    return _render(request, "actions/console/neighbour.html", context)


# A new action ----------------------------------------------------------------------------------


def _form_context(form, persons, vehicles, action: Action | None = None) -> dict:
    """The action form's page: new (action None) or a draft opened again."""
    return {
        "form": form,
        "persons": persons,
        "vehicles": vehicles,
        "action": action,
        "time_critical_defaults": {str(k): v for k, v in Action.TIME_CRITICAL_BY_DEFAULT.items()},
        "tiles_url": tiles_url(),
        "tiles_attribution": tiles_attribution(),
    }


def _save_draft(request, form, fields: dict, save) -> tuple[int, Action | None]:
    """Save the action form's draft through `save` (a call of action_create or
    action_save_draft): (200, the draft), or the status to show the form again with and
    None, the reason on the form. The centre is asked first (the service asks again), so an
    operator outside the region hears that before the photo is checked. A ValidationError
    with code "state" (the draft was released meanwhile) is the caller's."""
    problem = services.action_point_problem(
        by=request.user, kind=fields["kind"], lat=fields["lat"], lon=fields["lon"]
    )
    if problem:
        form.add_error(None, problem)
        return 403, None
    try:
        return 200, save()
    except ValidationError as exc:
        if getattr(exc, "code", None) == "state":
            raise
        add_errors(form, exc)
        return 400, None
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or str(MSG_AMBER_ONLY))
        return 403, None


@require_http_methods(["GET", "POST"])
@staff_required(verb=MANAGE)
def create(request):
    if request.method != "POST":
        form = ActionForm(initial={"kind": request.GET.get("kind", "")})
        persons, vehicles = PersonFormSet(prefix="person"), VehicleFormSet(prefix="vehicle")
        return _render(
            request, "actions/console/create.html", _form_context(form, persons, vehicles)
        )
    form = ActionForm(request.POST, request.FILES)
    persons = PersonFormSet(request.POST, prefix="person")
    vehicles = VehicleFormSet(request.POST, prefix="vehicle")
    status = 400
    if form.is_valid() and persons.is_valid() and vehicles.is_valid():
        fields = form.action_fields()
        status, action = _save_draft(
            request,
            form,
            fields,
            lambda: services.action_create(
                by=request.user, persons=described(persons), vehicles=described(vehicles), **fields
            ),
        )
        if action is not None:
            messages.success(request, _("De actie is als concept opgeslagen."))
            return redirect("console:detail", pk=action.pk)
    context = _form_context(form, persons, vehicles)
    return _render(request, "actions/console/create.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required(verb=MANAGE)
def edit(request, pk):
    """Open a draft again: every field, the photo, the signalement, point and radius.
    A released action is not edited (an update tells what changed)."""
    action = _action_for(request, pk)
    if not action.can_edit():
        return _detail(request, action, status=409, edit_errors=[MSG_NOT_EDITABLE])
    if request.method != "POST":
        form = ActionForm(instance=action)
        persons = PersonFormSet(prefix="person", initial=signalement_initial(action.persons))
        vehicles = VehicleFormSet(prefix="vehicle", initial=signalement_initial(action.vehicles))
        return _render(
            request, "actions/console/create.html", _form_context(form, persons, vehicles, action)
        )
    had_persons = signalement_initial(action.persons)
    had_vehicles = signalement_initial(action.vehicles)
    form = ActionForm(request.POST, request.FILES, instance=action)
    persons = PersonFormSet(request.POST, prefix="person")
    vehicles = VehicleFormSet(request.POST, prefix="vehicle")
    status = 400
    if form.is_valid() and persons.is_valid() and vehicles.is_valid():
        changed = list(form.changed_data)
        new_persons, new_vehicles = described(persons), described(vehicles)
        if new_persons != had_persons:
            changed.append("persons")
        if new_vehicles != had_vehicles:
            changed.append("vehicles")
        try:
            status, saved = _save_draft(
                request,
                form,
                form.cleaned_data,
                lambda: services.action_save_draft(
                    action=form.instance,
                    by=request.user,
                    persons=new_persons,
                    vehicles=new_vehicles,
                    changed=changed,
                    replace_signalement=True,
                ),
            )
        except ValidationError:  # code "state": released meanwhile
            action.refresh_from_db()
            return _detail(request, action, status=409, edit_errors=[MSG_NOT_EDITABLE])
        if saved is not None:
            messages.success(request, _("De wijzigingen in het concept zijn opgeslagen."))
            return redirect("console:detail", pk=action.pk)
    # The form changed the instance in memory; the page shows the draft as stored.
    stored = Action.objects.select_related("police_unit").get(pk=action.pk)
    context = _form_context(form, persons, vehicles, stored)
    return _render(request, "actions/console/create.html", context, status=status)


# Map helpers: reach and address -----------------------------------------------------------------


@require_GET
@staff_required(verb=MANAGE)
def reach(request):
    """The estimated reach per channel of a circle, now (JSON, for console.js)."""
    form = ReachForm(request.GET)
    if not form.is_valid():
        errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    data = form.cleaned_data
    amber = data["kind"] == Action.Kind.AMBER_ALERT
    if amber:
        allowed = policy.can(request.user, "action.amber", Scope.nation())
    else:
        allowed = policy.may_act_at(request.user, MANAGE, data["lat"], data["lon"])
    if not allowed:
        return JsonResponse({"errors": {"__all__": [str(MSG_OUTSIDE_REGION)]}}, status=403)
    target = targeting.Target(
        lat=data["lat"],
        lon=data["lon"],
        radius_m=data["radius_m"],
        time_critical=data["time_critical"] or amber,
        nationwide=amber,
        exercise=data["exercise"],
        kind=data["kind"] or Action.Kind.OTHER,
    )
    counts = targeting.estimate_reach(target, at=timezone.now())
    others = []
    if not amber:
        own = getattr(request.user.organisation, "police_unit_id", None)
        reached = policy.units_reached(data["lat"], data["lon"], data["radius_m"])
        others = list(reached.exclude(pk=own).values_list("name", flat=True))
    note = _("Deze cirkel reikt tot in %(units)s.") % {"units": ", ".join(others)} if others else ""
    return JsonResponse(
        {
            "reach": {key: shown_count(row.sent) for key, row in counts.items()},
            "channels": _reach_rows(counts),
            "total": _reach_total(counts),
            "reaches_into": others,
            "reaches_note": note,
        }
    )


_SEARCH_STATUS = {
    geocoding.AddressNotFound: 404,
    geocoding.OutsideArea: 422,
    geocoding.GeocoderDown: 503,
}


@require_GET
@staff_required(verb=MANAGE)
def address(request):
    """A point for the map from an address search (JSON, for console.js): a Dutch postcode
    with house number, a postcode area, or a street address in NL, BE or DE."""
    form = AddressSearchForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": form.errors["q"][0]}, status=400)
    try:
        place = geocoding.geocode_search(form.cleaned_data["q"])
    except geocoding.GeocodingError as exc:
        status = _SEARCH_STATUS.get(type(exc), 400)
        return JsonResponse({"error": str(exc.message)}, status=status)
    return JsonResponse(
        {
            "lat": place.lat,
            "lon": place.lon,
            "label": place.label,
            "approximate": place.approximate,
            "message": place.message(),
        }
    )


# One action ------------------------------------------------------------------------------------


_SENT_LABELS = {
    "release": _lazy("Actie"),
    "update": _lazy("Update"),
    "end": _lazy("Afloopbericht"),
    "cancel": _lazy("Rectificatie"),
}


def _messages_of(action: Action) -> list[tuple[str, OutgoingMessage]]:
    """The action's messages, with what the live panel shows of them (whether stopped)."""
    sent = action.sent_messages()
    found = OutgoingMessage.objects.only("stopped_at").in_bulk([pk for _what, pk in sent])
    return [(str(_SENT_LABELS[what]), found[pk]) for what, pk in sent if pk in found]


def _sent_rows(action: Action) -> list[dict]:
    """The live panel's sending table: each message with its counts per channel."""
    rows = []
    for label, message in _messages_of(action):
        per_channel = outbox.live_stats(message)
        channels = [(_channel_label(key), counts) for key, counts in sorted(per_channel.items())]
        rows.append({"label": label, "message": message, "channels": channels})
    return rows


def _live_context(action: Action, *, rows: list[dict], can_manage: bool) -> dict:
    """What the live panel (_live.html) shows, in the action's page and on its own."""
    tips = list(action.tips.all())
    return {
        "action": action,
        "sent_rows": rows,
        "tips": tips,
        "unread": sum(1 for tip in tips if not tip.is_read),
        "can_manage": can_manage,
    }


# An operator's console polls the live panel every few seconds, as do their colleagues'. The
# panel holds nothing of the one who asks (the tip forms' token is on the page around it), so
# it is rendered once for what it shows and kept in the shared cache for every poll until
# that changes: a count, a stop, a tip (Tip.state_of), the language or whether the reader
# may manage the action. Its version is also the ETag: a poll that names it gets a 304.
LIVE_PANEL_TEMPLATE = "actions/console/_live.html"
LIVE_PANEL_SECONDS = 60


def _live_template_fingerprint() -> str:
    """The panel's template as this process has it: a new release renders anew, and in
    development (DEBUG) so does an edit of the template while the server runs."""
    if settings.DEBUG:
        return _fingerprint(get_template(LIVE_PANEL_TEMPLATE).template.source)
    return _kept_template_fingerprint()


@functools.cache
def _kept_template_fingerprint() -> str:
    return _fingerprint(get_template(LIVE_PANEL_TEMPLATE).template.source)


def _fingerprint(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _live_version(action: Action, rows: list[dict], tips: tuple, can_manage: bool) -> str:
    shown = [
        (
            row["label"],
            row["message"].pk,
            row["message"].stopped_at.isoformat() if row["message"].stopped_at else "",
            [(label, sorted(counts.items())) for label, counts in row["channels"]],
        )
        for row in rows
    ]
    what = repr((_live_template_fingerprint(), get_language(), action.pk, can_manage, tips, shown))
    return hashlib.sha256(what.encode()).hexdigest()[:32]


def _detail(request, action: Action, status: int = 200, **forms):
    context = _live_context(
        action, rows=_sent_rows(action), can_manage=_may_manage(request.user, action)
    )
    context.update(
        persons=action.persons.all(),
        vehicles=action.vehicles.all(),
        update_form=forms.get("update_form") or UpdateForm(),
        end_form=forms.get("end_form") or EndForm(),
        cancel_form=forms.get("cancel_form") or CancelForm(),
        outcome_form=forms.get("outcome_form") or OutcomeForm(action=action),
        release_errors=forms.get("release_errors", []),
        edit_errors=forms.get("edit_errors", []),
        tiles_url=tiles_url(),
        tiles_attribution=tiles_attribution(),
        reaches_units=", ".join(action.reaches_units.values_list("name", flat=True)),
    )
    if action.state == Action.State.DRAFT:
        counts = targeting.estimate_reach(targeting.Target.of(action), at=timezone.now())
        context["reach"] = _reach_rows(counts)
        context["reach_total"] = _reach_total(counts)
        context["reach_cut"] = any(row.cut for row in counts.values())
        context.update(_channel_texts(action, channels=counts))
        context["release_problems"] = action.release_problems()
        context.update(_approval_context(request, action, forms))
    return _render(request, "actions/console/detail.html", context, status=status)


def _channel_texts(action: Action, *, channels) -> dict:
    """Each channel's text of the release, exactly as its sender will make it (for the
    channels the release would use), in Dutch; and the SMS in the other languages the
    readers may have chosen, where the message differs for them."""
    message = services.action_message_preview(action, "release")
    dutch = [row for row in previews.channel_texts(message, "nl") if row["channel"] in channels]
    others = []
    if Channel.SMS in channels:
        for language, label in Language.choices:
            if language == "nl":
                continue
            sms = next(
                r for r in previews.channel_texts(message, language) if r["channel"] == "sms"
            )
            others.append({"language": language, "label": label, **sms})
    return {"channel_texts": dutch, "sms_in_other_languages": others}


@require_GET
@staff_required(verb=VIEW)
def detail(request, pk):
    return _detail(request, _action_for(request, pk, VIEW))


@require_GET
@staff_required(verb=VIEW)
def live(request, pk):
    action = _action_for(request, pk, VIEW)
    rows = _sent_rows(action)
    tips = Tip.state_of(action)
    can_manage = _may_manage(request.user, action)
    version = _live_version(action, rows, tips, can_manage)
    etag = f'"{version}"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        key = f"console.live:{version}"
        html = cache.get(key)
        if html is None:
            # Without the request: nothing of the reader's (a token) can end up in it.
            context = _live_context(action, rows=rows, can_manage=can_manage)
            html = render_to_string(LIVE_PANEL_TEMPLATE, context)
            cache.set(key, html, LIVE_PANEL_SECONDS)
        response = HttpResponse(html)
    # The console's script asks with it (If-None-Match); the browser keeps nothing (the
    # headers middleware makes every staff answer no-store: tips hold phone numbers).
    response["ETag"] = etag
    return response


# The verbs -------------------------------------------------------------------------------------


@require_POST
@staff_required(verb=MANAGE)
def release(request, pk):
    action = _action_for(request, pk)
    if request.POST.get("confirm") != "yes":
        errors = [_("Bevestig dat u het bereik hebt gezien en de actie wilt versturen.")]
        return _detail(request, action, status=400, release_errors=errors)
    try:
        sent = services.action_release(action=action, by=request.user)
    except ValidationError as exc:
        return _detail(request, action, status=400, release_errors=_errors_of(exc))
    except PermissionDenied as exc:  # e.g. a centre outside the region, placed elsewhere
        return _detail(request, action, status=403, release_errors=[str(exc) or MSG_FORBIDDEN])
    total = sum(sent.queued.values())
    messages.success(
        request, _("De actie is verstuurd naar %(n)s ontvangers.") % {"n": shown_count(total)}
    )
    return redirect("console:detail", pk=action.pk)


def _follow_up_view(form_class, verb, form_name: str, done):
    """The view of a message after the release (update, end, cancel): see _follow_up."""

    @require_POST
    @staff_required(verb=MANAGE)
    def view(request, pk):
        return _follow_up(request, pk, form_class, verb, form_name, str(done))

    return view


update = _follow_up_view(
    UpdateForm, services.action_update, "update_form", _lazy("De update is verstuurd.")
)
end = _follow_up_view(
    EndForm,
    services.action_end,
    "end_form",
    _lazy("De actie is beëindigd; het afloopbericht is verstuurd."),
)
cancel = _follow_up_view(
    CancelForm,
    services.action_cancel,
    "cancel_form",
    _lazy("De actie is ingetrokken; de rectificatie is verstuurd."),
)


def _follow_up(request, pk, form_class, verb, form_name: str, done: str):
    """A message after the release (update, end, cancel): the form's data go to the
    service verb; on an error the action page is shown again with that form and its errors."""
    action = _action_for(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            verb(action=action, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("console:detail", pk=action.pk)
    return _detail(request, action, status=400, **{form_name: form})


@require_POST
@staff_required(verb=MANAGE)
def outcome(request, pk):
    """Uitkomst corrigeren: the outcome of an ended action, corrected (no message goes out)."""
    action = _action_for(request, pk)
    form = OutcomeForm(request.POST, action=action)
    if form.is_valid():
        try:
            services.action_outcome_set(
                action=action, by=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("De uitkomst is gecorrigeerd."))
            return redirect(reverse("console:detail", args=[action.pk]) + "#outcome")
    return _detail(request, action, status=400, outcome_form=form)


@require_POST
@staff_required(verb=MANAGE)
def stop(request, pk):
    action = _action_for(request, pk)
    cancelled = services.action_stop_sending(action=action, by=request.user)
    messages.success(
        request, _("Versturen gestopt: %(n)s berichten gaan niet meer uit.") % {"n": cancelled}
    )
    return redirect("console:detail", pk=action.pk)


@require_POST
@staff_required(verb=MANAGE)
def tip_read(request, pk):
    tip = get_object_or_404(Tip.objects.select_related("action__police_unit"), pk=pk)
    policy.require(request.user, MANAGE, tip.action)
    services.tip_mark_read(tip=tip, by=request.user)
    return redirect(reverse("console:detail", args=[tip.action_id]) + "#tips")


# Two people for national alerts (approval.py) ---------------------------------------------------


class ReturnForm(forms.Form):
    """The approver's reason for sending a submitted action back."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "return-%s")
        super().__init__(*args, **kwargs)

    reason = CleanCharField(
        label=_lazy("Reden van terugsturen"),
        max_length=APPROVAL_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_lazy("De indiener ziet deze reden bij het concept."),
        error_messages={"required": approval.MSG_REASON},
    )


def _approval_context(request, action: Action, given: dict) -> dict:
    """What the draft page shows of approval (templates/actions/console/_approval.html):
    the open request, the last one returned, and for a second national operator the
    version they see and the alert as it will be sent."""
    if not approval.needs_approval(action):
        return {"needs_approval": False}
    pending = approval.pending(action)
    last = pending or approval.latest(action)
    context = {
        "needs_approval": True,
        "approval": pending,
        "returned": last if last and last.state == last.State.RETURNED else None,
        "approval_errors": given.get("approval_errors", []),
        "return_form": given.get("return_form") or ReturnForm(),
        "may_approve": bool(pending) and approval.may_approve(request.user, action, pending),
        "may_submit": pending is None
        and not action.release_problems()
        and _may_manage(request.user, action),
        "is_approver": approval.is_approver(request.user),
    }
    # The release form gives way to the approval's: the reason is in the list of problems.
    context["release_problems"] = action.release_problems() + approval.release_problems(
        action, by=request.user
    )
    if pending is not None:
        context["approval_version"] = approval.action_version(action)
        context["preview"] = approval.release_preview(action)
    return context


def _approval_view(view):
    """A verb on approval: POST, an operator of the console; errors show on the draft."""
    return require_POST(staff_required(verb=VIEW)(view))


def _approval_refused(request, action: Action, exc: Exception, status: int, **forms):
    action.refresh_from_db()
    errors = _errors_of(exc) if isinstance(exc, ValidationError) else [str(exc) or MSG_FORBIDDEN]
    return _detail(request, action, status=status, approval_errors=errors, **forms)


@_approval_view
def submit(request, pk):
    action = _action_for(request, pk)
    try:
        approval.action_submit(action=action, by=request.user)
    except ValidationError as exc:
        return _approval_refused(request, action, exc, 400)
    except PermissionDenied as exc:
        return _approval_refused(request, action, exc, 403)
    messages.success(
        request, _("De actie is ingediend en wacht op goedkeuring door een tweede operator.")
    )
    return redirect("console:detail", pk=action.pk)


@_approval_view
def withdraw(request, pk):
    action = _action_for(request, pk)
    try:
        approval.action_withdraw(action=action, by=request.user)
    except ValidationError as exc:
        return _approval_refused(request, action, exc, 409)
    messages.success(request, _("De actie is teruggenomen en weer een concept."))
    return redirect("console:detail", pk=action.pk)


@_approval_view
def approve(request, pk):
    action = _action_for(request, pk, VIEW)
    if request.POST.get("confirm") != "yes":
        errors = [_("Bevestig dat u de actie hebt gezien zoals zij wordt verstuurd.")]
        return _detail(request, action, status=400, approval_errors=errors)
    try:
        sent = approval.action_approve(
            action=action, by=request.user, version=request.POST.get("version", "")
        )
    except ValidationError as exc:
        status = 409 if getattr(exc, "code", None) in ("changed", "state") else 400
        return _approval_refused(request, action, exc, status)
    except PermissionDenied as exc:
        return _approval_refused(request, action, exc, 403)
    total = sum(sent.queued.values())
    messages.success(
        request,
        _("Goedgekeurd: de actie is verstuurd naar %(n)s ontvangers.") % {"n": shown_count(total)},
    )
    return redirect("console:detail", pk=action.pk)


@_approval_view
def return_(request, pk):
    action = _action_for(request, pk, VIEW)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        return _detail(request, action, status=400, return_form=form)
    try:
        approval.action_return(
            action=action,
            by=request.user,
            reason=form.cleaned_data["reason"],
            version=request.POST.get("version") or None,
        )
    except ValidationError as exc:
        add_errors(form, exc)
        status = 409 if getattr(exc, "code", None) in ("changed", "state") else 400
        return _approval_refused(request, action, exc, status, return_form=form)
    except PermissionDenied as exc:
        return _approval_refused(request, action, exc, 403)
    messages.success(request, _("De actie is teruggestuurd naar de indiener."))
    return redirect("console:detail", pk=action.pk)


@require_GET
@staff_required(verb=VIEW)
def awaiting(request):
    """The actions waiting for approval (the console's overview refreshes it)."""
    return render(request, "actions/console/_awaiting_list.html", _awaiting_context(request))


def _awaiting_context(request) -> dict:
    return {
        "awaiting": approval.awaiting(request.user),
        "is_approver": approval.is_approver(request.user),
    }


# Alerts from across the border (partners.py) ---------------------------------------------------


def partner_alerts_context(user) -> dict:
    """The console's list of the partners' active alerts near the border, each with
    whether this user may adopt it (a draft centred in the user's region)."""
    from . import partners

    rows = []
    for alert in partners.alerts_shown()[:20]:
        rows.append(
            {
                "alert": alert,
                "label": partners.label(alert),
                "may_adopt": alert.adopted_action_id is None
                and policy.may_act_at(
                    user, MANAGE, *partners.point_in_netherlands(alert.lat, alert.lon)
                ),
            }
        )
    return {"partner_alerts": rows}


@require_GET
@staff_required(verb=VIEW)
def partner_alerts(request):
    """The partners' alerts near the border (refreshed on the overview)."""
    return render(
        request, "actions/console/_partner_alerts.html", partner_alerts_context(request.user)
    )


@require_POST
@staff_required(verb=MANAGE)
def partner_adopt(request, pk):
    """Adopt a partner's alert into a draft action of the operator's unit (one click)."""
    from . import partners
    from .models import PartnerAlert

    alert = get_object_or_404(PartnerAlert.objects.select_related("feed"), pk=pk)
    try:
        action = partners.partner_alert_adopt(alert=alert, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or str(MSG_FORBIDDEN))
        return redirect(reverse("console:index") + "#partner-alerts-section")
    except ValidationError as exc:
        for text in _errors_of(exc):
            messages.error(request, text)
        return redirect(reverse("console:index") + "#partner-alerts-section")
    messages.success(
        request,
        _(
            "De melding is overgenomen als concept. Controleer het gebied en de tekst voor u "
            "de actie verstuurt."
        ),
    )
    return redirect("console:detail", pk=action.pk)
