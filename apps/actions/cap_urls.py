"""Public URLs of the CAP 1.2 messages (/cap/): each message of an action, and their index."""

from django.urls import path

from . import cap_views

app_name = "caps"

urlpatterns = [
    path("index.atom", cap_views.index, name="index"),
    path("<uuid:ref>/<int:message_pk>.xml", cap_views.message, name="message"),
]
