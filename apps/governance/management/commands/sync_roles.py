"""Create the role groups and give each exactly its permissions."""

from django.core.management.base import BaseCommand

from apps.governance.roles import ROLE_PERMISSIONS, sync_roles


class Command(BaseCommand):
    help = "Create the staff role groups with their permissions (idempotent)."

    def handle(self, *args, **options):
        sync_roles()
        self.stdout.write(f"{len(ROLE_PERMISSIONS)} roles synchronised.")
