"""Public URLs (display), filled by issue 12."""

from django.urls import path  # noqa: F401

app_name = "displays"

urlpatterns: list = []
