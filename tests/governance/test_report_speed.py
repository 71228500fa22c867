"""The annual report renders quickly on three years of national figures."""

import datetime as dt
import time

import pytest
from django.urls import reverse

from apps.governance.models import DailyFigure, Municipality, PoliceUnit

pytestmark = pytest.mark.django_db

KINDS = ("missing_person", "missing_child", "robbery", "burglary", "other")
CHANNELS = ("webpush", "sms", "voice", "email")


def _national_day(day):
    rows = [
        (day, "participants", k, 1000 + day.toordinal() % 50)
        for k in ("registered", "sms", "voice", "email", "app")
    ]
    for kind in KINDS:
        rows += [(day, "actions", kind, 3), (day, "actions_tc", kind, 1)]
        rows += [(day, "actions_result", f"{kind}:arrested", 1)]
    for channel in CHANNELS:
        rows += [(day, "messages", channel, 500), (day, "messages_delivered", channel, 450)]
        rows += [(day, "sends", channel, 900), (day, "sends_largest", channel, 400)]
    rows += [(day, "reactions", "tips", 4), (day, "mailings", "inquiry", 1)]
    return rows


def test_three_years_of_national_figures_render_well_under_two_seconds(manager, staff_client):
    first = dt.date(2021, 1, 1)
    days = [first + dt.timedelta(days=n) for n in range(3 * 365)]
    units = list(PoliceUnit.objects.filter(is_national=False).values_list("pk", flat=True))
    towns = list(Municipality.objects.values_list("pk", flat=True))
    batch = []
    for day in days:
        for d, m, k, v in _national_day(day):
            batch.append(DailyFigure(day=d, scope="nl", metric=m, key=k, value=v))
            for unit in units[:4]:
                batch.append(DailyFigure(day=d, scope=f"u{unit}", metric=m, key=k, value=v))
        # municipalities' participants, once a week
        if day.weekday() == 6 or day == days[-1]:
            batch += [
                DailyFigure(day=day, scope=f"m{pk}", metric="participants", key=k, value=50)
                for pk in towns
                for k in ("registered", "app")
            ]
    DailyFigure.objects.bulk_create(batch, batch_size=5000)
    assert DailyFigure.objects.count() > 200_000
    client = staff_client(manager)
    client.get(reverse("governance:report"), {"jaar": 2022, "gebied": "nl"})  # map cached
    started = time.perf_counter()
    response = client.get(reverse("governance:report"), {"jaar": 2023, "gebied": "nl"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    print(f"report in {elapsed:.2f} s on {DailyFigure.objects.count()} rows")
    assert elapsed < 2.0
