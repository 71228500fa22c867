"""Import the official CBS municipality list (CSV) for production."""

from django.core.management.base import BaseCommand, CommandError

from apps.governance.geography import (
    DATA_DIR,
    GeographyError,
    import_municipalities,
    import_postcodes,
    read_municipality_csv,
    read_postcode_csv,
)


class Command(BaseCommand):
    help = (
        "Import municipalities from a CSV with the columns gm_code, name, province, vr_code, "
        "veiligheidsregio, police_unit and optionally inhabitants, lat, lon (comma or "
        "semicolon separated). Nothing is written when any line is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path, **options):
        try:
            rows = read_municipality_csv(path)
        except (OSError, GeographyError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        count = import_municipalities(rows)
        # Postcode areas follow the municipalities' new centres.
        import_postcodes(read_postcode_csv(DATA_DIR / "pc4-nl.csv"))
        self.stdout.write(f"{count} municipalities imported.")
