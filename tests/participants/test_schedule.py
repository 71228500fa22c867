"""Time windows: overlap on minutes of the week, over midnight and over the week's end."""

from datetime import datetime, time

import pytest

from apps.participants import schedule

MON, TUE, SAT, SUN = 0, 1, 5, 6


def mask(*days):
    return schedule.days_to_mask(days)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ((mask(MON), time(8), time(18)), (mask(MON), time(17), time(20)), True),
        ((mask(MON), time(8), time(18)), (mask(MON), time(18), time(20)), False),  # touching
        ((mask(MON), time(8), time(18)), (mask(TUE), time(8), time(18)), False),
        # Monday 22:00 → Tuesday 06:00 overlaps Tuesday morning
        ((mask(MON), time(22), time(6)), (mask(TUE), time(5), time(9)), True),
        ((mask(MON), time(22), time(6)), (mask(TUE), time(6), time(9)), False),
        # Sunday night runs into Monday morning
        ((mask(SUN), time(23), time(2)), (mask(MON), time(1), time(3)), True),
        ((mask(SAT, SUN), time(9), time(23)), (mask(MON, TUE), time(18), time(23)), False),
    ],
)
def test_it_finds_overlapping_windows(a, b, overlap):
    assert schedule.windows_overlap(a, b) is overlap
    assert schedule.windows_overlap(b, a) is overlap


def test_it_names_the_first_overlapping_pair():
    windows = [
        (mask(MON), time(8), time(12)),
        (mask(TUE), time(8), time(12)),
        (mask(TUE), time(11), time(13)),
    ]
    assert schedule.first_overlap(windows) == (1, 2)
    assert schedule.first_overlap(windows[:2]) is None


def test_it_knows_when_a_window_over_midnight_is_active():
    window = (mask(MON), time(22), time(6))
    assert schedule.is_active_at(*window, datetime(2024, 1, 1, 23, 0))  # Monday
    assert schedule.is_active_at(*window, datetime(2024, 1, 2, 5, 59))  # Tuesday
    assert not schedule.is_active_at(*window, datetime(2024, 1, 2, 6, 0))
    assert not schedule.is_active_at(*window, datetime(2024, 1, 1, 5, 0))  # Monday morning


def test_it_describes_a_window_in_dutch():
    assert schedule.describe(mask(MON, TUE), time(8), time(18)) == "maandag, dinsdag 08:00–18:00"
    assert schedule.describe(schedule.ALL_DAYS, time(22), time(7)) == "elke dag 22:00–07:00"


def test_it_refuses_a_day_outside_the_week():
    with pytest.raises(ValueError):
        schedule.days_to_mask([7])
