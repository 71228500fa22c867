"""Displays (displays.py): per police unit, the JSON the screens poll and a full-screen page."""

from django.urls import path

from . import displays

app_name = "displays"

urlpatterns = [
    path("<slug:slug>.json", displays.board_json, name="json"),
    path("<slug:slug>.xml", displays.board_cap, name="cap"),
    path("<slug:slug>/", displays.board_page, name="page"),
]
