"""The admin site: staff log in through the staff log-in page, with the second factor."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from . import views
from .access import is_staff_verified
from .policy import in_service


class BurgernetAdminSite(admin.AdminSite):
    site_header = _("Burgernet beheer")
    site_title = _("Burgernet beheer")
    index_title = _("Beheer")

    def has_permission(self, request):
        """Staff (is_staff) in service, verified by the second factor where required."""
        user = request.user
        return is_staff_verified(user) and user.is_staff and in_service(user)

    def login(self, request, extra_context=None):
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('governance:login')}?{urlencode({'next': next_url})}")

    def logout(self, request, extra_context=None):
        # One way out, so every log-out reaches the audit trail.
        return views.logout(request)
