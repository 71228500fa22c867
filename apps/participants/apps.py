"""Participants: citizens, addresses, time windows, the registration site."""

from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.participants"
    label = "participants"
    verbose_name = "Deelnemers"

    def ready(self):
        # The e-mail services' reports (bounce, complaint, unsubscribe) reach the
        # participant through channels, which imports no domain app: it calls this hook.
        from apps.channels import webhooks

        from .services import email_suppress

        webhooks.register_suppressor(email_suppress)

        # The annual report's participant figures, and how long the site keeps personal data.
        from apps.governance import reporting, retention

        from . import report
        from . import retention as participant_retention

        reporting.register(report.COLLECTOR)
        for rule in participant_retention.RULES:
            retention.register(rule)
