"""Schedule the report's figures (every hour) and retention (every night) in django-q2
(idempotent)."""

import datetime as dt

from django.db import migrations
from django.utils import timezone

SCHEDULES = {
    "governance.refresh_figures": {
        "func": "apps.governance.tasks.refresh_figures",
        "schedule_type": "H",
    },
    "governance.apply_retention": {
        "func": "apps.governance.tasks.apply_retention",
        "schedule_type": "D",
    },
}


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    # Retention runs at night (03:30 local time), when nothing else is busy.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    night = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time(3, 30)))
    for name, fields in SCHEDULES.items():
        fields = {**fields, "repeats": -1}
        if name.endswith("retention"):
            fields["next_run"] = night
        if not Schedule.objects.filter(name=name).update(**fields):
            Schedule.objects.create(name=name, **fields)


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=list(SCHEDULES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_daily_figures"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
