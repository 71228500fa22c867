"""Load provinces, safety regions, police units, municipalities and postcode areas."""

from django.core.management.base import BaseCommand

from apps.governance.geography import load_reference_geography


class Command(BaseCommand):
    help = "Load the shipped geography of the Netherlands (idempotent)."

    def handle(self, *args, **options):
        municipalities, postcodes = load_reference_geography()
        self.stdout.write(f"{municipalities} municipalities, {postcodes} postcode areas loaded.")
