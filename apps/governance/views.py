"""Staff screens of governance: log-in with the second factor, log-out, the staff home."""

from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, requires_csrf_token
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import policy, selectors, services
from .access import is_staff_verified, staff_required
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
    }
    return render(request, "governance/home.html", context)


@requires_csrf_token
def bad_request(request, exception):
    """The 400 page on the site's layout. Django's own handler renders 400.html without the
    request, so the layout's language switch would have no CSRF token and no user."""
    return render(request, "400.html", status=400)
