"""When an address is active: weekly windows of days and hours, on minutes of the week.

A window starts at `start` on each of its days and ends at `end`; an end at or before the
start means the window runs over midnight into the next day (Sunday's runs into Monday).
Days are a bitmask, Monday = bit 0 … Sunday = bit 6, so a query can test a day with `&`.
"""

from collections.abc import Iterable
from datetime import datetime, time

from django.utils.translation import gettext_lazy as _

DAY_NAMES = [
    _("maandag"),
    _("dinsdag"),
    _("woensdag"),
    _("donderdag"),
    _("vrijdag"),
    _("zaterdag"),
    _("zondag"),
]
ALL_DAYS = 0b1111111
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


def days_to_mask(days: Iterable[int]) -> int:
    mask = 0
    for day in days:
        if not 0 <= int(day) <= 6:
            raise ValueError(f"day {day} is not 0 (Monday) … 6 (Sunday)")
        mask |= 1 << int(day)
    return mask


def mask_to_days(mask: int) -> list[int]:
    return [day for day in range(7) if mask & (1 << day)]


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


def week_intervals(days_mask: int, start: time, end: time) -> list[tuple[int, int]]:
    """The window as half-open [from, to) minute ranges within one week, split at the
    week's end so none wraps."""
    begin, finish = _minute(start), _minute(end)
    length = finish - begin if finish > begin else finish + MINUTES_PER_DAY - begin
    intervals = []
    for day in mask_to_days(days_mask):
        lo = day * MINUTES_PER_DAY + begin
        hi = lo + length
        if hi <= MINUTES_PER_WEEK:
            intervals.append((lo, hi))
        else:
            intervals.append((lo, MINUTES_PER_WEEK))
            intervals.append((0, hi - MINUTES_PER_WEEK))
    return intervals


def windows_overlap(a: tuple[int, time, time], b: tuple[int, time, time]) -> bool:
    """True when two (days_mask, start, end) windows share at least one minute."""
    return any(
        lo1 < hi2 and lo2 < hi1
        for lo1, hi1 in week_intervals(*a)
        for lo2, hi2 in week_intervals(*b)
    )


def first_overlap(windows: list[tuple[int, time, time]]) -> tuple[int, int] | None:
    """The indexes of the first two overlapping windows, or None."""
    for i, first in enumerate(windows):
        for j in range(i + 1, len(windows)):
            if windows_overlap(first, windows[j]):
                return i, j
    return None


def is_active_at(days_mask: int, start: time, end: time, at: datetime) -> bool:
    """Whether the window covers the local (naive or already localised) moment `at`."""
    minute = at.weekday() * MINUTES_PER_DAY + at.hour * 60 + at.minute
    return any(lo <= minute < hi for lo, hi in week_intervals(days_mask, start, end))


def describe(days_mask: int, start: time, end: time) -> str:
    """A short Dutch description: "maandag, dinsdag 08:00–18:00"."""
    if days_mask == ALL_DAYS:
        days = str(_("elke dag"))
    else:
        days = ", ".join(str(DAY_NAMES[d]) for d in mask_to_days(days_mask))
    return f"{days} {start:%H:%M}–{end:%H:%M}"
