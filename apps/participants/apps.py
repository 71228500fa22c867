"""Participants: citizens, addresses, time windows, the registration site."""

from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.participants"
    label = "participants"
    verbose_name = "Deelnemers"
