"""The open Atom feeds of actions (feeds.py): national, per police unit, per province."""

from django.urls import path

from . import feeds

app_name = "feeds"

urlpatterns = [
    path("acties.atom", feeds.ActionFeed(), name="national"),
    path("eenheid/<slug:slug>.atom", feeds.UnitFeed(), name="unit"),
    path("provincie/<slug:slug>.atom", feeds.ProvinceFeed(), name="province"),
]
