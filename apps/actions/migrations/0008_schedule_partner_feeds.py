"""Schedule the reading of the partners' alert feeds every two minutes in django-q2
(idempotent)."""

from django.db import migrations

NAME = "actions.read_partner_feeds"
FUNC = "apps.actions.partners.read_partner_feeds"


def schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    fields = {"func": FUNC, "schedule_type": "I", "minutes": 2, "repeats": -1}
    if not Schedule.objects.filter(name=NAME).update(**fields):
        Schedule.objects.create(name=NAME, **fields)


def unschedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0007_partner_feeds"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
