"""Load the demo: geography, roles, and every app's demo data; print the demo log-ins."""

from datetime import date, timedelta
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.governance import demo, reporting
from apps.governance.geography import load_reference_geography
from apps.governance.models import Municipality
from apps.governance.roles import sync_roles


def demo_modules():
    """The `demo` module of every installed app that has one, in INSTALLED_APPS order."""
    for app_config in apps.get_app_configs():
        name = f"{app_config.name}.demo"
        if find_spec(name) is not None:
            module = import_module(name)
            if callable(getattr(module, "load", None)):
                yield module


class Command(BaseCommand):
    help = (
        "Load demo data for development (idempotent): the geography when empty, the role "
        "groups, and load() of every app's demo module. Refuses when DEBUG is off: demo "
        "users have a public password and public TOTP secrets."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "load_demo runs only with DEBUG on (demo users have public secrets)."
            )
        with transaction.atomic():
            if not Municipality.objects.exists():
                self.stdout.write("Loading the geography of the Netherlands …")
                load_reference_geography()
            sync_roles()
            for module in demo_modules():
                module.load()
        # The annual report's figures of the demo year (the hourly task keeps them up).
        today = timezone.localdate()
        first = date(today.year - 1, 1, 1)
        # Stocks (participants) at each month's end and today: what the report reads.
        days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        month_ends = [first - timedelta(days=1)]  # the year before's end, to compare with
        month_ends += [d for d in days if (d + timedelta(days=1)).day == 1] + [today]
        collectors = reporting.collectors().values()
        flows = [c.name for c in collectors if not c.snapshot]
        stocks = [c.name for c in collectors if c.snapshot]
        reporting.refresh(days, only=flows, beyond_horizon=True)
        reporting.refresh(month_ends, only=stocks, beyond_horizon=True)
        self._print_logins()

    def _print_logins(self):
        rows = demo.demo_logins()
        self.stdout.write("")
        login_url = settings.SITE_URL + reverse("governance:login")
        self.stdout.write(f"Demo log-ins at {login_url} (development only)")
        self.stdout.write(f"Password for every demo user: {demo.DEMO_PASSWORD}")
        if settings.STAFF_OTP_REQUIRED:
            self.stdout.write(
                "Second factor: add the TOTP secret to an authenticator app, or run "
                "`python manage.py totp_code USERNAME` for the current code."
            )
        else:
            self.stdout.write(
                "Second factor: off (STAFF_OTP_REQUIRED=false); leave the code empty."
            )
        headers = {
            "username": "user",
            "organisation": "organisation",
            "roles": "roles",
            "secret": "TOTP secret (base32)",
        }
        widths = {k: max([len(v)] + [len(r[k]) for r in rows]) for k, v in headers.items()}
        for row in [headers, {k: "-" * w for k, w in widths.items()}, *rows]:
            self.stdout.write("  ".join(row[k].ljust(widths[k]) for k in headers).rstrip())
