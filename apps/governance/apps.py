"""Governance: geography, organisations, roles, scope policy, audit log."""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.governance"
    label = "governance"
    verbose_name = "Governance"
