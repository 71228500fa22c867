"""The outbox workers claim rows from the database themselves (apps/channels/worker.py):
no chunk tasks in django-q2, so no count of them per message and no q2 schedule for the
sweep (the workers sweep every few seconds)."""

from django.db import migrations

NAME = "channels.sweep_outbox"


def unschedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0006_delivery_autovacuum"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(unschedule, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="outgoingmessage", name="tasks_in_flight"),
        migrations.RemoveField(model_name="outgoingmessage", name="tasks_seen_at"),
    ]
