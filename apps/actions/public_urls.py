"""The citizens' pages of an action: what to look out for, and sending a tip."""

from django.urls import path  # noqa: F401

app_name = "alerts"

urlpatterns: list = []
