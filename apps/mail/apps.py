"""Burgernetmail: buurtonderzoek and preventive mailings."""

from django.apps import AppConfig


class MailConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.mail"
    label = "mail"
    verbose_name = "Burgernetmail"
