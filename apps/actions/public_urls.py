"""The citizens' pages of an action: what to look out for, and sending a tip; and the
check whether a forwarded message is a real Burgernet action."""

from django.urls import path

from . import media, public

app_name = "alerts"

urlpatterns = [
    path("controleren/", public.verify, name="verify"),
    path("<uuid:ref>/", public.action_page, name="action"),
    path("<uuid:ref>/tip/", public.tip, name="tip"),
    path("<uuid:ref>/foto/", media.action_photo, name="photo"),
]
