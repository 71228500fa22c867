"""The report's participant figures: per channel, in the country, each police unit and each
municipality of an address (a participant once per scope), web-app devices by their first
fixed place or else their live cell, test devices left out, counted as of each day's end."""

import datetime as dt

import pytest

from apps.governance import reporting
from apps.governance.models import DailyFigure
from apps.participants import report

from .report_data import area, device, local, participant

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)
BEFORE = DAY - dt.timedelta(days=1)
AFTER = DAY + dt.timedelta(days=1)


@pytest.fixture
def places(woerden, utrecht, amsterdam):
    assert woerden.police_unit_id == utrecht.police_unit_id != amsterdam.police_unit_id
    return {
        "nl": "nl",
        "mn": f"u{woerden.police_unit_id}",
        "ams_unit": f"u{amsterdam.police_unit_id}",
        "woerden": f"m{woerden.pk}",
        "utrecht": f"m{utrecht.pk}",
        "amsterdam": f"m{amsterdam.pk}",
    }


@pytest.fixture
def data(places):
    """Created BEFORE:
        A: SMS, addresses in Woerden (3441) and Utrecht (3511): one unit, two municipalities
        B: SMS, voice, open e-mail, two addresses in Woerden (3441, 3443)
        device 1: live cell in Utrecht
        a test device in Woerden (never counted)
    Created on DAY:
        C: never confirmed, e-mail not chosen, address in Amsterdam (1011): counted nowhere
        D: no SMS, e-mail chosen but blocked, address in Amsterdam
        E: e-mail only (chosen, open) and a number never confirmed, address in Woerden
        device 2: live cell in Woerden, fixed places in Amsterdam (first) and Utrecht
        device 3: no cell, no place (the country only)
    Created AFTER: F, SMS, Woerden; device 4 in Utrecht (not counted on DAY)."""
    participant("3441", "3511", created=local(BEFORE, 9))
    participant(
        "3441",
        "3443",
        created=local(BEFORE, 10),
        voice=True,
        email="b@example.org",
        wants_email=True,
    )
    device(created=local(BEFORE, 11), at="3511")
    device(created=local(BEFORE, 12), at="3441", test=True)
    participant("1011", created=local(DAY, 0, 5), confirmed=False)
    participant(
        "1011",
        created=local(DAY, 9),
        sms=False,
        email="d@example.org",
        wants_email=True,
        suppressed=True,
    )
    participant(
        "3441",
        created=local(DAY, 23, 50),
        confirmed=False,
        email="e@example.org",
        wants_email=True,
    )
    device(created=local(DAY, 10), at="3441", places=("1011", "3511"))
    device(created=local(DAY, 11))
    participant("3441", created=local(AFTER, 0, 1))
    device(created=local(AFTER, 1), at="3511")


def figures(day) -> dict[tuple[str, str], int]:
    return {
        (f.scope, f.key): f.value
        for f in DailyFigure.objects.filter(day=day, metric="participants")
    }


def expected(places, table: dict[str, dict[str, int]]) -> dict[tuple[str, str], int]:
    return {(places[scope], key): n for scope, keys in table.items() for key, n in keys.items()}


def test_participants_and_devices_per_scope_as_of_each_day(data, places):
    reporting.refresh([BEFORE, DAY], only=["participants"], today=AFTER)
    assert figures(BEFORE) == expected(
        places,
        {
            "nl": {"registered": 2, "sms": 2, "voice": 1, "email": 1, "app": 1},
            "mn": {"registered": 2, "sms": 2, "voice": 1, "email": 1, "app": 1},
            "woerden": {"registered": 2, "sms": 2, "voice": 1, "email": 1},
            "utrecht": {"registered": 1, "sms": 1, "app": 1},
        },
    )
    assert figures(DAY) == expected(
        places,
        {
            "nl": {"registered": 3, "sms": 2, "voice": 1, "email": 2, "app": 3},
            "mn": {"registered": 2, "sms": 2, "voice": 1, "email": 2, "app": 1},
            "ams_unit": {"registered": 1, "app": 1},
            "woerden": {"registered": 2, "sms": 2, "voice": 1, "email": 2},
            "utrecht": {"registered": 1, "sms": 1, "app": 1},
            "amsterdam": {"registered": 1, "app": 1},
        },
    )


def test_one_day_counted_alone_gives_the_same_figures(data, places):
    """Whatever range is asked, a day's figures are those of the participants created by
    its end: the days before the range are summed in one group."""
    both = {row for row in report.count(BEFORE, DAY) if row[0] == DAY}
    alone = set(report.count(DAY, DAY))
    assert both == alone


def test_the_hourly_run_counts_today_only(data, places, settings):
    reporting.refresh(only=["participants"], today=DAY)
    assert set(DailyFigure.objects.filter(metric="participants").values_list("day", flat=True)) == {
        DAY
    }
    assert figures(DAY)[places["nl"], "registered"] == 3


def test_a_point_belongs_to_the_municipality_of_the_nearest_postcode_area(woerden, amsterdam):
    nearest = report.Nearest.build()
    centre = area("3441")
    assert nearest.municipality(centre.lat, centre.lon) == woerden.pk
    near_dam = area("1012")
    assert nearest.municipality(near_dam.lat + 0.001, near_dam.lon - 0.001) == amsterdam.pk
    # Off the coast: still the nearest, not nothing.
    assert nearest.municipality(52.5, 3.5) is not None
    assert report.Nearest([]).municipality(52.0, 5.0) is None
