"""Channels: senders per channel and the delivery outbox."""

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.channels"
    label = "channels"
    verbose_name = "Kanalen"
