"""The admin site: staff log in through the staff log-in page, with the second factor."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _


class BurgernetAdminSite(admin.AdminSite):
    site_header = _("Burgernet beheer")
    site_title = _("Burgernet beheer")
    index_title = _("Beheer")

    def has_permission(self, request):
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return not settings.STAFF_OTP_REQUIRED or user.is_verified()

    def login(self, request, extra_context=None):
        next_url = request.GET.get("next") or reverse("admin:index")
        return redirect(f"{reverse('governance:login')}?{urlencode({'next': next_url})}")
