"""Print a staff user's current TOTP code: for the demo and for testing, never production."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.governance import totp
from apps.governance.models import User


class Command(BaseCommand):
    help = "Print the current TOTP code of USERNAME (development only: refuses when DEBUG is off)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("totp_code runs only with DEBUG on.")
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        device = totp.confirmed_devices(user).first()
        if device is None:
            raise CommandError(f"{username} has no confirmed authenticator")
        self.stdout.write(totp.code_at(device))
