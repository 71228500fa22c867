"""Tips counted on the action (the report's reactions outlive the tips), and the existing
actions' tip counts and municipalities filled in."""

from django.db import migrations, models
from django.db.models import Count, F


def fill(apps, schema_editor):
    Action = apps.get_model("actions", "Action")
    PostcodeArea = apps.get_model("governance", "PostcodeArea")
    areas = PostcodeArea.objects.exclude(municipality=None)
    for action in Action.objects.annotate(n=Count("tips")).only("id", "lat", "lon"):
        nearest = (
            areas.annotate(
                d=(F("lat") - action.lat) * (F("lat") - action.lat)
                + (F("lon") - action.lon) * (F("lon") - action.lon)
            )
            .order_by("d")
            .values_list("municipality_id", flat=True)
            .first()
        )
        Action.objects.filter(pk=action.pk).update(tips_counted=action.n, municipality_id=nearest)


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0012_outcome_and_municipality"),
    ]

    operations = [
        migrations.AddField(
            model_name="action",
            name="tips_counted",
            field=models.PositiveIntegerField(
                default=0, editable=False, verbose_name="ontvangen tips"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
