"""Notices: one text to one participant (an SMS with a confirmation code or a manage
link), sent by the outbox workers as a Delivery that points at a Notice instead of a
message.

On PostgreSQL, making `message` nullable and adding the `notice` column change the
table's description only. The new partial index and the check read the table once, as
any new index does; a release writes neither (its rows have no notice).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels", "0007_outbox_workers"),
        ("participants", "0007_address_reach"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="message",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="channels.outgoingmessage",
            ),
        ),
        migrations.CreateModel(
            name="Notice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("source", models.CharField(max_length=80)),
                ("text", models.TextField(blank=True)),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("text", ""), _negated=True),
                        fields=["expires_at"],
                        name="notice_unwiped",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="delivery",
            name="notice",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="channels.notice",
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("notice__isnull", False), ("state", "queued")),
                fields=["notice"],
                name="delivery_notice_queued",
            ),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("message__isnull", False), ("notice__isnull", True)),
                    models.Q(("message__isnull", True), ("notice__isnull", False)),
                    _connector="OR",
                ),
                name="delivery_message_or_notice",
            ),
        ),
    ]
