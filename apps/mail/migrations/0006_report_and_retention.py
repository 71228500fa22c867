"""The report's mail figures and retention: a mailing counts its responses as they come in
(the Response rows are deleted after a while), and remembers when its deliveries lost their
recipients. The responses received so far are counted once here."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_responses(apps, schema_editor):
    Mailing = apps.get_model("mail", "Mailing")
    Response = apps.get_model("mail", "Response")
    counted = (
        Response.objects.filter(mailing=OuterRef("pk"))
        .order_by()
        .values("mailing")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Mailing.objects.update(responses_counted=Coalesce(Subquery(counted), 0))


class Migration(migrations.Migration):

    dependencies = [
        ('channels', '0014_webhook_format'),
        ('governance', '0004_schedule_report_and_retention'),
        ('mail', '0005_crisis_messages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='mailing',
            name='delivery_links_removed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='mailing',
            name='responses_counted',
            field=models.PositiveIntegerField(default=0, verbose_name='aantal reacties'),
        ),
        migrations.AddIndex(
            model_name='mailing',
            index=models.Index(fields=['sent_at'], name='mailing_sent_at'),
        ),
        migrations.RunPython(count_responses, migrations.RunPython.noop),
    ]
