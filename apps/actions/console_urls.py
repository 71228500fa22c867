"""The operator console (meldkamer): staff screens for actions."""

from django.urls import path  # noqa: F401

app_name = "console"

urlpatterns: list = []
