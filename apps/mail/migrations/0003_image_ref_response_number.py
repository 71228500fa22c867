"""A mailing's image is addressed by a random reference instead of the mailing's id, and a
response is numbered within its mailing (1, 2, 3…) instead of by its id."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    Mailing = apps.get_model("mail", "Mailing")
    Response = apps.get_model("mail", "Response")
    for mailing in Mailing.objects.only("pk").iterator():
        Mailing.objects.filter(pk=mailing.pk).update(image_ref=uuid.uuid4())
    numbers: dict[int, int] = {}
    for pk, mailing_id in Response.objects.order_by("created_at", "id").values_list(
        "pk", "mailing_id"
    ):
        numbers[mailing_id] = numbers.get(mailing_id, 0) + 1
        Response.objects.filter(pk=pk).update(number=numbers[mailing_id])


class Migration(migrations.Migration):
    dependencies = [("mail", "0002_mail_approval_and_limits")]

    operations = [
        migrations.AddField(
            model_name="mailing",
            name="image_ref",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="response",
            name="number",
            field=models.PositiveIntegerField(null=True, verbose_name="nummer"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="mailing",
            name="image_ref",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="response",
            name="number",
            field=models.PositiveIntegerField(verbose_name="nummer"),
        ),
        migrations.AddConstraint(
            model_name="response",
            constraint=models.UniqueConstraint(
                fields=("mailing", "number"), name="response_number_unique"
            ),
        ),
    ]
