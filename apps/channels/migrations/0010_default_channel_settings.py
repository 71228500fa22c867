"""The channel settings as they were before managers could set them, and the 2023
phase-out of SMS and voice as the default ceiling schedule (apps/channels/plan.py)."""

from datetime import date

from django.db import migrations

# Frozen here (the code's own copy is apps/channels/plan.py): a migration does not change.
DEFAULTS = {
    "webpush": {"urgencies": ["high", "normal"]},
    "sms": {"urgencies": ["high"]},
    "voice": {"urgencies": ["high"]},
    "email": {"urgencies": ["normal"]},
}
PHASE_OUT_2023 = (
    ("sms", date(2023, 3, 1), 3000, "Afbouw sms: 3.000 per actie"),
    ("sms", date(2023, 6, 1), 1500, "Afbouw sms: 1.500 per actie"),
    ("sms", date(2023, 9, 1), 0, "Sms gestopt"),
    ("voice", date(2023, 9, 1), 0, "Spraakberichten gestopt"),
)


def load(apps, schema_editor):
    ChannelSetting = apps.get_model("channels", "ChannelSetting")
    CeilingStep = apps.get_model("channels", "CeilingStep")
    for channel, values in DEFAULTS.items():
        ChannelSetting.objects.get_or_create(channel=channel, defaults=values)
    for channel, starts_on, max_recipients, note in PHASE_OUT_2023:
        CeilingStep.objects.get_or_create(
            channel=channel,
            starts_on=starts_on,
            defaults={"max_recipients": max_recipients, "note": note},
        )


def unload(apps, schema_editor):
    apps.get_model("channels", "ChannelSetting").objects.all().delete()
    apps.get_model("channels", "CeilingStep").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("channels", "0009_channel_settings")]
    operations = [migrations.RunPython(load, unload)]
