"""The report's daily figures: how collectors fill them, counted again, kept, guarded."""

import datetime as dt

import pytest

from apps.governance import reporting, retention
from apps.governance.models import AuditEntry, DailyFigure, StaleDay

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def counted(monkeypatch):
    """A collector that counts whatever `source` holds: {day: value}."""
    source: dict[dt.date, int] = {}
    asked: list[tuple[dt.date, dt.date]] = []

    def count(first, last):
        asked.append((first, last))
        for day, value in source.items():
            if first <= day <= last:
                yield day, "nl", "actions", "robbery", value
                yield day, "nl", "actions", "robbery", 1  # counted twice: summed
                yield day, "u1", "actions", "robbery", value

    monkeypatch.setattr(reporting, "_collectors", {})
    reporting.register(
        reporting.Collector(name="test", metrics=("actions",), count=count, horizon_days=30)
    )
    return source, asked


def value(day, scope="nl"):
    return DailyFigure.objects.get(day=day, scope=scope, metric="actions").value


def test_refresh_counts_the_recent_days_and_sums_duplicate_rows(counted, settings):
    settings.REPORT_REFRESH_DAYS = 3
    source, asked = counted
    source[TODAY] = 4
    source[TODAY - dt.timedelta(days=2)] = 2
    source[TODAY - dt.timedelta(days=5)] = 9  # outside the window
    reporting.refresh(today=TODAY)
    assert asked == [(TODAY - dt.timedelta(days=2), TODAY)]
    assert value(TODAY) == 5 and value(TODAY, "u1") == 4
    assert value(TODAY - dt.timedelta(days=2)) == 3
    assert not DailyFigure.objects.filter(day=TODAY - dt.timedelta(days=5)).exists()


def test_refresh_replaces_what_it_counted_before(counted, settings):
    source, _asked = counted
    source[TODAY] = 4
    reporting.refresh(today=TODAY)
    source[TODAY] = -1  # the collector now counts 0 for the country: a zero is not stored
    reporting.refresh(today=TODAY)
    assert not DailyFigure.objects.filter(day=TODAY, scope="nl").exists()
    assert value(TODAY, "u1") == -1
    del source[TODAY]
    reporting.refresh(today=TODAY)
    assert not DailyFigure.objects.filter(day=TODAY).exists()


def test_a_stale_day_is_counted_again_once_and_the_horizon_is_kept(counted, settings):
    settings.REPORT_REFRESH_DAYS = 1
    source, asked = counted
    old, too_old = TODAY - dt.timedelta(days=20), TODAY - dt.timedelta(days=40)
    source[old] = 7
    source[too_old] = 7
    reporting.mark_stale(old, "test")
    reporting.mark_stale(too_old, "test")
    reporting.refresh(today=TODAY)
    assert value(old) == 8
    assert not DailyFigure.objects.filter(day=too_old).exists()
    assert not StaleDay.objects.filter(day=old).exists()
    asked.clear()
    reporting.refresh(today=TODAY)
    assert asked == [(TODAY, TODAY)]


def test_a_collector_may_write_only_its_own_metrics_inside_its_days(monkeypatch):
    monkeypatch.setattr(reporting, "_collectors", {})
    with pytest.raises(KeyError):
        reporting.register(reporting.Collector("x", ("no such",), lambda a, b: []))
    reporting.register(
        reporting.Collector("x", ("actions",), lambda a, b: [(a, "nl", "mailings", "", 1)])
    )
    with pytest.raises(ValueError, match="already counted"):
        reporting.register(reporting.Collector("y", ("actions",), lambda a, b: []))
    with pytest.raises(ValueError, match="may not write"):
        reporting.refresh([TODAY], today=TODAY)
    assert not DailyFigure.objects.exists()


def test_scopes_name_the_country_the_unit_and_the_municipality(geography):
    from apps.governance.models import Municipality

    woerden = Municipality.objects.get(code="GM0632")
    assert reporting.scopes(municipality_id=woerden.pk) == [
        "nl",
        f"u{woerden.police_unit_id}",
        f"m{woerden.pk}",
    ]
    assert reporting.scopes(unit_id=5) == ["nl", "u5"]
    assert reporting.scopes() == ["nl"]


def test_a_day_is_a_local_day():
    # 23:30 UTC on 31 December is already 1 January in Amsterdam.
    moment = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert reporting.local_day(moment) == dt.date(2026, 1, 1)
    start, end = reporting.day_bounds(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert start == dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)


def test_retention_deletes_old_audit_entries_and_counts_them(settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "audit": 30}
    old = AuditEntry.objects.create(verb="old.thing")
    AuditEntry.objects.filter(pk=old.pk).update(at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    recent = AuditEntry.objects.create(verb="recent.thing")
    counts = retention.run()
    assert counts["audit"] == 1
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()
    run_entry = AuditEntry.objects.get(verb="retention.run")
    assert run_entry.detail["counts"]["audit"] == 1
    assert retention.deleted_in(dt.date.today().year)["audit"] == 1
    # The figure is added to, never counted again by a refresh.
    retention.run()
    assert retention.deleted_in(dt.date.today().year)["audit"] == 1
    reporting.refresh()
    assert retention.deleted_in(dt.date.today().year)["audit"] == 1


def test_every_rule_has_a_period_in_the_settings(settings):
    for rule in retention.rules():
        assert rule.days >= 0
        assert str(rule.label) and str(rule.after)


def test_a_first_backfill_may_count_beyond_the_horizon(counted):
    source, _asked = counted
    too_old = TODAY - dt.timedelta(days=40)
    source[too_old] = 2
    reporting.refresh([too_old], today=TODAY)
    assert not DailyFigure.objects.filter(day=too_old).exists()
    reporting.refresh([too_old], today=TODAY, beyond_horizon=True)
    assert value(too_old) == 3


def test_a_stock_is_counted_on_the_first_run_of_a_day_and_in_its_last_hour(monkeypatch):
    from django.utils import timezone

    asked = []
    monkeypatch.setattr(reporting, "_collectors", {})
    reporting.register(
        reporting.Collector(
            "stock",
            ("participants",),
            lambda first, last: asked.append(first) or [(first, "nl", "participants", "", 5)],
            snapshot=True,
        )
    )
    moment = {"now": timezone.make_aware(dt.datetime(2026, 3, 10, 9, 0))}
    monkeypatch.setattr(timezone, "localtime", lambda *a, **k: moment["now"])
    reporting.refresh(today=TODAY)
    reporting.refresh(today=TODAY)  # 09:00 again: already counted today
    assert asked == [TODAY]
    moment["now"] = timezone.make_aware(dt.datetime(2026, 3, 10, 23, 5))
    reporting.refresh(today=TODAY)
    assert asked == [TODAY, TODAY]
