"""Burgernetmail: buurtonderzoek and preventive mailings."""

from django.apps import AppConfig


class MailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.mail"
    label = "mail"
    verbose_name = "Burgernetmail"

    def ready(self):
        # The names of mail kinds in the annual report.
        from apps.governance import reporting

        from .models import Kind

        reporting.register_keys("mail kind", Kind.choices)

        # The e-mail sender asks this composer for the e-mails of "mail.mailing:<pk>".
        from apps.channels.email import register_composer

        from .email import SOURCE_PREFIX, MailingComposer

        register_composer(SOURCE_PREFIX, MailingComposer())

        # A crisis message (alarmering) goes on the channels that carry "crisis".
        from django.utils.translation import gettext_lazy as _

        from apps.channels import kinds

        kinds.register([("crisis", _("crisismelding"))])

        # The annual report's mail figures, and how long mail keeps personal data.
        from apps.governance import reporting, retention

        from . import report
        from . import retention as mail_retention

        reporting.register(report.COLLECTOR)
        for rule in mail_retention.RULES:
            retention.register(rule)
