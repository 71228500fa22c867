"""The language a participant reads alerts in.

SQLite adds a NOT NULL column by making the table again (a copy, a drop, a rename), which
the reach triggers of 0007 stand in the way of (they name the participant table); they
are dropped around it and made again, with the copies filled in once more. PostgreSQL
adds the column in place and keeps its triggers.
"""

import importlib

from django.db import migrations, models

reach = importlib.import_module("apps.participants.migrations.0007_address_reach")


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        reach.drop_triggers(apps, schema_editor)


def create_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        reach.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0008_sms_budget"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, create_sqlite_triggers, elidable=False),
        migrations.AddField(
            model_name="participant",
            name="language",
            field=models.CharField(
                choices=[
                    ("nl", "Nederlands"),
                    ("en", "English"),
                    ("de", "Deutsch"),
                    ("fr", "Français"),
                ],
                default="nl",
                db_default="nl",
                max_length=2,
                verbose_name="taal",
            ),
        ),
        migrations.RunPython(create_sqlite_triggers, drop_sqlite_triggers, elidable=False),
    ]
