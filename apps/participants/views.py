"""The public registration site: register, confirm, manage and delete a registration."""

import time
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.web import ratelimit
from apps.web.client import client_key
from apps.web.forms import error_links
from apps.web.rendered import rendered_once

from . import services, tokens
from .forms import (
    AddressBlock,
    CodeForm,
    ConfirmForm,
    EmailForm,
    ManageRequestForm,
    PreferencesForm,
    RegistrationForm,
)
from .models import MAX_ADDRESSES, MAX_WINDOWS_PER_ADDRESS, Participant
from .phones import display as display_phone
from .sms_budget import SmsBudgetExceeded

HOUR = 3600
# (limit, window in seconds) per scope; "ip" counts per client, the others per number
# (or e-mail address, or code page).
LIMITS = {
    "register.ip": (10, HOUR),
    "register.phone": (5, HOUR),
    "code.ip": (30, HOUR),
    "code.phone": (10, HOUR),
    "resend.ip": (10, HOUR),
    "resend.phone": (3, HOUR),
    "manage.ip": (10, HOUR),
    "manage.contact": (5, HOUR),
}

RATE = ratelimit.Limits("participants", LIMITS)

MANAGE_SESSION_KEY = "participants.manage"
MANAGE_SESSION_S = 20 * 60  # sliding: each page in the session extends it


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "participants/rate_limited.html", status=429)


def _no_sms(request: HttpRequest, exc: SmsBudgetExceeded) -> HttpResponse:
    return render(request, "participants/sms_budget.html", {"scope": exc.scope}, status=429)


def _bad_link(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "participants/link_invalid.html", {"reason": reason}, status=400)


def _link_error_reason(exc: tokens.InvalidToken) -> str:
    if isinstance(exc, services.LinkUsed):
        return "used"
    if isinstance(exc, tokens.ExpiredToken):
        return "expired"
    return "invalid"


def home(request):
    return render(request, "participants/home.html")


# --- registration -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def register(request):
    if request.method == "GET":
        return _render_registration(request, None)
    more = _more_requested(request)
    if more is not None:
        # "Nog een adres toevoegen" / "Nog een tijdvak" without JavaScript: the page again
        # with one block more, as typed, without errors (nothing is checked or counted).
        form = RegistrationForm(request.POST, validate=False)
        if more == ADD_ADDRESS:
            form.add_address()
        else:
            form.add_window(more)
        return _render_registration(request, form)
    if RATE.over("register.ip", client_key(request)):
        return _too_many(request)
    form = RegistrationForm(request.POST)
    if form.phone.is_valid() and RATE.over("register.phone", form.phone.cleaned_data["phone"]):
        return _too_many(request)
    if not form.is_valid():
        return _render_registration(request, form, status=400)
    try:
        token = services.participant_register(**form.register_kwargs())
    except SmsBudgetExceeded as exc:
        return _no_sms(request, exc)
    except ValidationError as exc:
        form.form_errors += exc.messages
        return _render_registration(request, form, status=400)
    return redirect("participants:confirm_phone", token=token)


ADD_ADDRESS = "add_address"
ADD_WINDOW = "add_window-"


def _more_requested(request) -> str | int | None:
    """ADD_ADDRESS, the index of the address that asked for one more window, or None
    when the visitor pressed neither button."""
    action = request.POST.get("action") or ""
    if action == ADD_ADDRESS:
        return ADD_ADDRESS
    if action.startswith(ADD_WINDOW):
        index = action.removeprefix(ADD_WINDOW)
        return int(index) if index.isdigit() and int(index) < MAX_ADDRESSES else -1
    return None


def _render_registration(request, form: RegistrationForm | None, *, status=200):
    """The registration page with `form`, or with the empty form (None)."""
    context = {
        "form": form,
        "errors": form.error_links() if status == 400 else [],
        "max_addresses": MAX_ADDRESSES,
        "max_windows": MAX_WINDOWS_PER_ADDRESS,
    }
    if form is None:
        # The same for every visitor (apps/web/rendered.py).
        context["fields_html"] = rendered_once(
            "participants/_register_fields.html", {**context, "form": RegistrationForm()}
        )
    return render(request, "participants/register.html", context, status=status)


@require_http_methods(["GET", "POST"])
def confirm_phone(request, token):
    try:
        ref = tokens.read_phone_token(token)
    except tokens.InvalidToken as exc:
        return _bad_link(request, _link_error_reason(exc))
    if services.is_confirmed_ref(ref):
        return render(request, "participants/registered.html")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if RATE.over("code.ip", client_key(request)):
            return _too_many(request)
        if RATE.over("code.phone", services.phone_for_ref(ref) or str(ref)):
            return _too_many(request)
        if form.is_valid():
            check = services.phone_confirm(ref=ref, code=form.cleaned_data["code"])
            if check.result == services.CodeResult.CONFIRMED:
                return redirect("participants:registered")
            form.add_error("code", _code_message(check))
    status = 400 if form.is_bound else 200
    return render(
        request,
        "participants/confirm_phone.html",
        {"form": form, "token": token, "errors": error_links(form) if form.is_bound else []},
        status=status,
    )


def _code_message(check: services.CodeCheck) -> str:
    if check.result == services.CodeResult.WRONG:
        return _("De code is onjuist. U kunt het nog %(left)s keer proberen.") % {
            "left": check.attempts_left
        }
    if check.result == services.CodeResult.LOCKED:
        return _(
            "Deze code is geblokkeerd na vijf onjuiste pogingen. Vraag hieronder een nieuwe "
            "code aan."
        )
    return _("Deze code is niet meer geldig. Vraag hieronder een nieuwe code aan.")


@require_POST
def resend_code(request, token):
    try:
        ref = tokens.read_phone_token(token)
    except tokens.InvalidToken as exc:
        return _bad_link(request, _link_error_reason(exc))
    if RATE.over("resend.ip", client_key(request)):
        return _too_many(request)
    if RATE.over("resend.phone", services.phone_for_ref(ref) or str(ref)):
        return _too_many(request)
    try:
        services.code_resend(ref=ref)
    except SmsBudgetExceeded as exc:
        return _no_sms(request, exc)
    messages.success(
        request, _("Wij hebben een nieuwe code gestuurd. De vorige code werkt niet meer.")
    )
    return redirect("participants:confirm_phone", token=token)


def registered(request):
    return render(request, "participants/registered.html")


@require_http_methods(["GET", "POST"])
def confirm_email(request, token):
    try:
        if request.method == "POST":
            services.email_confirm(token=token)
            return render(request, "participants/email_confirmed.html")
        services.email_link_check(token=token)
    except tokens.InvalidToken as exc:
        return _bad_link(request, _link_error_reason(exc))
    return render(request, "participants/confirm_email.html", {"form": ConfirmForm()})


# --- manage -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def manage_request(request):
    form = ManageRequestForm(request.POST or None)
    if request.method == "POST":
        if RATE.over("manage.ip", client_key(request)):
            return _too_many(request)
        if form.is_valid():
            contact = form.cleaned_data["contact"]
            if RATE.over("manage.contact", next(iter(contact.values())).lower()):
                return _too_many(request)
            services.manage_link_request(**contact)
            return redirect("participants:manage_sent")
    status = 400 if form.is_bound else 200
    errors = error_links(form) if form.is_bound else []
    return render(
        request, "participants/manage_request.html", {"form": form, "errors": errors}, status=status
    )


def manage_sent(request):
    return render(request, "participants/manage_sent.html")


@require_http_methods(["GET", "POST"])
def manage_link(request, token):
    try:
        if request.method == "POST":
            participant = services.manage_link_open(token=token)
            _start_manage_session(request, participant)
            return redirect("participants:manage")
        services.manage_link_check(token=token)
    except tokens.InvalidToken as exc:
        return _bad_link(request, _link_error_reason(exc))
    return render(request, "participants/manage_link.html", {"form": ConfirmForm()})


def _start_manage_session(request, participant: Participant) -> None:
    request.session.cycle_key()
    request.session[MANAGE_SESSION_KEY] = {
        "ref": str(participant.ref),
        "until": time.time() + MANAGE_SESSION_S,
    }


def _end_manage_session(request) -> None:
    request.session.pop(MANAGE_SESSION_KEY, None)
    request.session.cycle_key()


def manage_session_required(view):
    """Pass the participant of the current manage session, or send the visitor to ask
    for a new link."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        state = request.session.get(MANAGE_SESSION_KEY) or {}
        participant = None
        if state.get("until", 0) > time.time():
            participant = Participant.objects.filter(ref=state.get("ref")).first()
        if participant is None:
            request.session.pop(MANAGE_SESSION_KEY, None)
            messages.info(
                request,
                _(
                    "Uw beheersessie is verlopen of bestaat niet. Vraag hieronder een nieuwe "
                    "link aan."
                ),
            )
            return redirect("participants:manage_request")
        state["until"] = time.time() + MANAGE_SESSION_S
        request.session[MANAGE_SESSION_KEY] = state
        return view(request, participant, *args, **kwargs)

    return wrapper


@manage_session_required
def manage(request, participant):
    addresses = participant.addresses.prefetch_related("windows").select_related("municipality")
    return render(
        request,
        "participants/manage.html",
        {
            "participant": participant,
            "phone": display_phone(participant.phone),
            "addresses": addresses,
            "can_add": addresses.count() < MAX_ADDRESSES,
        },
    )


@manage_session_required
@require_http_methods(["GET", "POST"])
def manage_preferences(request, participant):
    form = PreferencesForm(
        request.POST or None,
        initial=PreferencesForm.initial_for(participant),
        has_email=bool(participant.email),
    )
    if request.method == "POST" and form.is_valid():
        services.preferences_update(participant=participant, preferences=form.preferences())
        messages.success(request, _("Uw keuzes zijn opgeslagen."))
        return redirect("participants:manage")
    return _render_form(request, "participants/manage_preferences.html", form)


@manage_session_required
@require_http_methods(["GET", "POST"])
def manage_email(request, participant):
    initial = {"email": participant.email, "email_postcode": participant.email_postcode}
    form = EmailForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.email_change(participant=participant, email=form.email_input())
        if participant.email and participant.email_confirmed_at is None:
            messages.success(
                request,
                _("Wij hebben een e-mail gestuurd. Bevestig uw e-mailadres met de link daarin."),
            )
        else:
            messages.success(request, _("Uw e-mailgegevens zijn opgeslagen."))
        return redirect("participants:manage")
    return _render_form(request, "participants/manage_email.html", form)


def _render_form(request, template, form, **context):
    status = 400 if form.is_bound else 200
    errors = error_links(form) if form.is_bound else []
    return render(request, template, {"form": form, "errors": errors, **context}, status=status)


@manage_session_required
@require_http_methods(["GET", "POST"])
def address_add(request, participant):
    if participant.addresses.count() >= MAX_ADDRESSES:
        messages.error(
            request, _("U heeft al %(max)s adressen, het maximum.") % {"max": MAX_ADDRESSES}
        )
        return redirect("participants:manage")
    if _more_requested(request) is not None:
        return _render_more_windows(request, adding=True)
    block = AddressBlock(request.POST or None, index=0)
    if request.method == "POST" and block.is_valid():
        try:
            services.address_add(participant=participant, data=block.address_input())
        except ValidationError as exc:
            block.block_errors += exc.messages
        else:
            messages.success(request, _("Het adres is toegevoegd."))
            return redirect("participants:manage")
    return _render_address(request, block, adding=True)


@manage_session_required
@require_http_methods(["GET", "POST"])
def address_edit(request, participant, pk):
    address = get_object_or_404(participant.addresses, pk=pk)
    if _more_requested(request) is not None:
        return _render_more_windows(request, adding=False, address=address)
    block = AddressBlock(request.POST or None, index=0, instance=address)
    if request.method == "POST" and block.is_valid():
        services.address_update(address=address, data=block.address_input())
        messages.success(request, _("Het adres is gewijzigd."))
        return redirect("participants:manage")
    return _render_address(request, block, adding=False, address=address)


def _render_more_windows(request, **context):
    """ "Nog een tijdvak" without JavaScript on an address page: the page again with one
    window more, as typed, without errors."""
    block = AddressBlock(request.POST, index=0, validate=False)
    block.add_window()
    return render(
        request,
        "participants/manage_address.html",
        {"address_block": block, "errors": [], "max_windows": MAX_WINDOWS_PER_ADDRESS, **context},
    )


def _render_address(request, block, **context):
    bound = block.form.is_bound
    return render(
        request,
        "participants/manage_address.html",
        {
            "address_block": block,
            "errors": block.error_links() if bound else [],
            "max_windows": MAX_WINDOWS_PER_ADDRESS,
            **context,
        },
        status=400 if bound else 200,
    )


@manage_session_required
@require_POST
def address_delete(request, participant, pk):
    address = get_object_or_404(participant.addresses, pk=pk)
    try:
        services.address_remove(address=address)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Het adres is verwijderd."))
    return redirect("participants:manage")


@manage_session_required
@require_http_methods(["GET", "POST"])
def delete(request, participant):
    if request.method == "POST":
        services.participant_delete(participant=participant)
        request.session.flush()
        return redirect("participants:deleted")
    return render(request, "participants/delete.html", {"form": ConfirmForm()})


def deleted(request):
    return render(request, "participants/deleted.html")


@require_POST
def manage_logout(request):
    _end_manage_session(request)
    messages.success(request, _("U bent uitgelogd."))
    return redirect("participants:home")
