"""Staff screens of governance: log-in with the second factor, log-out, the staff home."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, requires_csrf_token
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from apps.channels import plan
from apps.channels.models import PUBLIC_CHANNELS, CeilingStep, Channel
from apps.web.forms import add_errors

from . import channel_settings, policy, selectors, services
from .access import is_staff_verified, staff_required
from .channel_forms import CeilingForm, ChannelSettingForm
from .forms import StaffLoginForm


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password", "otp_token")
@csrf_protect
@never_cache
def login(request):
    next_url = _next_url(request)
    if request.method != "POST":
        context = {
            "form": StaffLoginForm(request),
            "next": next_url,
            "logged_in": is_staff_verified(request.user),
        }
        return render(request, "governance/login.html", context)
    form = StaffLoginForm(request, data=request.POST)
    if not form.is_valid():
        services.staff_log_in_failed(
            request=request,
            username=request.POST.get("username", ""),
            reason=form.failure_reason,
            user=form.user_for_audit,
        )
        context = {"form": form, "next": next_url}
        return render(request, "governance/login.html", context, status=400)
    services.staff_log_in(request=request, user=form.get_user(), device=form.device)
    return redirect(next_url)


@require_POST
def logout(request):
    services.staff_log_out(request=request)
    messages.success(request, _("U bent uitgelogd."))
    return redirect("governance:login")


@staff_required
def home(request):
    context = {
        "profile": selectors.staff_profile(request.user),
        "may_use_admin": admin.site.has_permission(request),
        # The screens this user's roles open: the console (meldkamer) and Burgernetmail.
        "may_use_console": policy.can(request.user, "action.view"),
        "may_use_mail": policy.can(request.user, "mailing.view"),
        "may_set_channels": policy.can(request.user, "settings.manage", policy.Scope.nation()),
        # Oversight: the annual report and contributions, the audit trail, organisations
        # and people with the retention page.
        "may_view_report": policy.can(request.user, "report.view"),
        "may_audit": policy.can(request.user, "audit.view"),
        "may_manage_people": policy.can(request.user, "user.manage"),
    }
    return render(request, "governance/home.html", context)


@requires_csrf_token
def bad_request(request, exception):
    """The 400 page on the site's layout. Django's own handler renders 400.html without the
    request, so the layout's language switch would have no CSRF token and no user."""
    return render(request, "400.html", status=400)


# Channel settings (kanaalinstellingen) ---------------------------------------------------------


def _channel(value: str) -> str:
    if value not in Channel.values:
        raise Http404
    return value


@require_GET
@staff_required(verb=channel_settings.VERB)
def channels(request):
    rows = channel_settings.channel_overview(by=request.user)
    return render(request, "governance/channels.html", {"rows": rows})


def _channel_page(request, channel: str, status: int = 200, **forms):
    rows = {row.setting.channel: row for row in channel_settings.channel_overview(by=request.user)}
    row = rows[channel]
    setting = row.setting
    context = {
        "row": row,
        "channel_label": Channel(channel).label,
        "setting_form": forms.get("setting_form")
        or ChannelSettingForm(
            initial={
                "state": setting.state,
                "urgencies": setting.urgencies,
                "kinds": setting.kinds,
                "note": setting.note,
            }
        ),
        "ceiling_form": forms.get("ceiling_form") or CeilingForm(prefix="ceiling"),
        "test_errors": forms.get("test_errors", []),
        "can_test": channel in (Channel.SMS, Channel.VOICE, Channel.EMAIL),
        "is_public": channel in PUBLIC_CHANNELS,
        "today": plan.local_date(timezone.now()),
    }
    return render(request, "governance/channel.html", context, status=status)


@staff_required(verb=channel_settings.VERB)
def channel(request, channel):
    channel = _channel(channel)
    if request.method != "POST":
        return _channel_page(request, channel)
    form = ChannelSettingForm(request.POST)
    if form.is_valid():
        try:
            channel_settings.channel_setting_update(
                by=request.user, channel=channel, **form.cleaned_data
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("De instelling van het kanaal is opgeslagen."))
            return redirect("governance:channel", channel=channel)
    return _channel_page(request, channel, status=400, setting_form=form)


@require_POST
@staff_required(verb=channel_settings.VERB)
def ceiling_add(request, channel):
    channel = _channel(channel)
    form = CeilingForm(request.POST, prefix="ceiling")
    if form.is_valid():
        try:
            channel_settings.ceiling_add(by=request.user, channel=channel, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Het plafond is aan het schema toegevoegd."))
            return redirect("governance:channel", channel=channel)
    return _channel_page(request, channel, status=400, ceiling_form=form)


@require_POST
@staff_required(verb=channel_settings.VERB)
def ceiling_remove(request, pk):
    step = get_object_or_404(CeilingStep, pk=pk)
    try:
        channel_settings.ceiling_remove(by=request.user, step=step)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Het plafond is uit het schema gehaald."))
    return redirect("governance:channel", channel=step.channel)


@require_POST
@staff_required(verb=channel_settings.VERB)
def channel_test(request, channel):
    channel = _channel(channel)
    try:
        channel_settings.test_message_send(by=request.user, channel=channel)
    except ValidationError as exc:
        return _channel_page(request, channel, status=400, test_errors=exc.messages)
    messages.success(request, _("Het testbericht is verstuurd. Kijk op uw telefoon of in uw mail."))
    return redirect("governance:channel", channel=channel)
