"""Actions: Burgernetacties, targeting, operator console."""

from django.apps import AppConfig


class ActionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.actions"
    label = "actions"
    verbose_name = "Burgernetacties"
