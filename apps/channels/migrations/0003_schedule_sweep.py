"""Schedule the outbox sweep every minute in django-q2 (idempotent)."""

from django.db import migrations

NAME = "channels.sweep_outbox"
FUNC = "apps.channels.tasks.sweep_outbox"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    fields = {"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1}
    if not Schedule.objects.filter(name=NAME).update(**fields):
        Schedule.objects.create(name=NAME, **fields)


def unschedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0002_outbox_claims"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
