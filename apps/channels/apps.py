"""Channels: senders per channel and the delivery outbox."""

from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.channels"
    label = "channels"
    verbose_name = "Kanalen"

    def ready(self):
        from anymail.signals import tracking
        from django.core import checks

        from .checks import check_deployment
        from .senders.email import check_settings
        from .webhooks import record_tracking_event

        checks.register(check_settings, checks.Tags.compatibility)
        checks.register(check_deployment, checks.Tags.security, deploy=True)

        # What the e-mail services report after sending (anymail's webhook views send it).
        tracking.connect(record_tracking_event, dispatch_uid="channels.record_tracking_event")
