"""The municipal contribution (gemeentelijke bijdrage) as the 2019 letter set it: at most
3 cents per inhabitant in 2020, none from 2021 on (a row 2021 = 0 holds for every later
year; see contributions.rate_for)."""

from decimal import Decimal

from django.db import migrations

RATES = [
    (2020, Decimal("3"), "Brief 2019: ten hoogste 3 cent per inwoner in 2020."),
    (2021, Decimal("0"), "Brief 2019: vanaf 2021 geen bijdrage meer."),
]


def load(apps, schema_editor):
    ContributionRate = apps.get_model("governance", "ContributionRate")
    for year, cents, note in RATES:
        ContributionRate.objects.get_or_create(
            year=year, defaults={"cents_per_inhabitant": cents, "note": note}
        )


def unload(apps, schema_editor):
    ContributionRate = apps.get_model("governance", "ContributionRate")
    ContributionRate.objects.filter(year__in=[year for year, _c, _n in RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_contribution_rate")]

    operations = [migrations.RunPython(load, unload)]
