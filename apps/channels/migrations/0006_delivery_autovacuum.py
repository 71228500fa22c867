"""Vacuum and analyse the delivery table after a fixed number of changed rows, not after a
fifth of the table (PostgreSQL's default).

The table keeps every delivery ever made, and every claim and write-back leaves a dead row
version behind: with the default, a table of ten million rows waits for two million dead
rows before autovacuum comes, and meanwhile each claim's index scan steps over the dead
versions of a 100,000-recipient release. Other databases have no such settings.
"""

from django.db import migrations

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "50000",
    "autovacuum_analyze_scale_factor": "0",
    "autovacuum_analyze_threshold": "50000",
}


def set_autovacuum(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    options = ", ".join(f"{name} = {value}" for name, value in SETTINGS.items())
    schema_editor.execute(f"ALTER TABLE channels_delivery SET ({options})")


def reset_autovacuum(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE channels_delivery RESET ({', '.join(SETTINGS)})")


class Migration(migrations.Migration):
    dependencies = [("channels", "0005_fewer_delivery_indexes")]

    operations = [migrations.RunPython(set_autovacuum, reset_autovacuum, elidable=False)]
