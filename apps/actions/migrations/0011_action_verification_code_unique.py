"""Action.verification_code, filled for every action by 0007, made required and unique."""

from django.db import migrations, models

import apps.actions.models


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0010_action_verification_code"),
    ]

    operations = [
        migrations.AlterField(
            model_name="action",
            name="verification_code",
            field=models.CharField(
                default=apps.actions.models.new_verification_code,
                editable=False,
                max_length=12,
                unique=True,
                verbose_name="controlecode",
            ),
        ),
    ]
