"""Action.verification_code: a random code per action that its texts show; existing
actions get one each (added empty and filled here, made unique in the next migration: in
its own transaction, so PostgreSQL has no pending trigger events when it alters the
table)."""

import secrets

from django.db import migrations, models


ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def fill_codes(apps, schema_editor):
    Action = apps.get_model("actions", "Action")
    used = set()
    actions = list(Action.objects.filter(verification_code=None).only("id"))
    for action in actions:
        code = None
        while code is None or code in used:
            code = "BN-" + "".join(secrets.choice(ALPHABET) for _ in range(6))
        used.add(code)
        action.verification_code = code
    Action.objects.bulk_update(actions, ["verification_code"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0009_feed_and_display_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="action",
            name="verification_code",
            field=models.CharField(editable=False, max_length=12, null=True),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
    ]
