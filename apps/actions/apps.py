"""Actions: Burgernetacties, targeting, operator console."""

from django.apps import AppConfig


class ActionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.actions"
    label = "actions"
    verbose_name = "Burgernetacties"

    def ready(self):
        # The names of kinds and outcomes in the annual report; high-impact crimes
        # (overval, woninginbraak) are a group of kinds there.
        from apps.governance import reporting

        from .models import Action

        reporting.register_keys(
            "kind",
            Action.Kind.choices,
            groups={"high_impact": [Action.Kind.ROBBERY, Action.Kind.BURGLARY]},
        )
        reporting.register_keys("result", Action.Result.choices)

        from apps.channels.email import register_composer

        from .email import SOURCE_PREFIX, ActionEmailComposer

        # How an action's messages look as e-mail (the e-mail sender asks by source).
        register_composer(SOURCE_PREFIX, ActionEmailComposer())

        # The kinds a channel setting may name (apps/channels/kinds.py).
        from apps.channels import kinds

        kinds.register(Action.Kind.choices)

        # Partners that asked for CAP get each message of an action as its CAP 1.2 alert.
        from apps.channels.senders import webhook

        from .cap import published_xml_of

        webhook.register_cap_builder(SOURCE_PREFIX, published_xml_of)

        # The annual report's figures of actions, and the retention of what they keep.
        from . import report, retention

        report.register()
        retention.register()
