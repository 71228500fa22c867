"""The annual report's figures of actions (actions/report.py), on a fixed data set with
known figures (report_data.py)."""

import datetime as dt

import pytest

from apps.actions import report, services
from apps.governance import reporting
from apps.governance.models import DailyFigure, StaleDay

from .report_data import DAY_1, DAY_2, EXPECTED, build

pytestmark = pytest.mark.django_db
TODAY = DAY_2 + dt.timedelta(days=3)


@pytest.fixture
def data(operator_mn, operator_ams):
    return build(operator_mn, operator_ams)


def figures_of(day, scope) -> dict:
    return {
        (metric, key): value
        for _day, metric, key, value in reporting.figures(scope, day, day)
        if metric in report.ACTION_METRICS + report.MESSAGE_METRICS
    }


def test_the_collectors_are_registered():
    collectors = reporting.collectors()
    assert collectors["actions"].metrics == report.ACTION_METRICS
    assert collectors["actions"].horizon_days is None  # tips are counted on the action
    assert collectors["action_messages"].horizon_days == 399


def test_the_report_counts_the_known_figures_per_scope(data):
    reporting.refresh([DAY_1, DAY_2], today=TODAY)

    for (day, name), expected in EXPECTED.items():
        assert figures_of(day, data.scope(name)) == expected, (day, name)


def test_an_action_counts_on_its_local_release_day(data):
    # The robbery went out at 00:30 Dutch time on DAY_2: 23:30 UTC on DAY_1.
    assert data.robbery.released_at.astimezone(dt.UTC).date() == DAY_1
    reporting.refresh([DAY_1, DAY_2], today=TODAY)

    assert figures_of(DAY_2, data.scope("nl"))[("actions", "robbery")] == 1
    assert ("actions", "robbery") not in figures_of(DAY_1, data.scope("nl"))


def test_exercises_and_drafts_are_never_counted(data):
    reporting.refresh([DAY_1, DAY_2], today=TODAY)

    # The exercise's calls (4) and tip, and its 5 push rows, would show.
    nl = figures_of(DAY_1, "nl")
    assert nl[("reactions", "calls")] == 3
    assert nl[("messages", "webpush")] == 6
    assert ("actions", "missing_child") not in nl


def test_a_corrected_outcome_is_counted_again_on_the_next_refresh(data, operator_mn):
    reporting.refresh([DAY_1, DAY_2], today=TODAY)

    services.action_outcome_set(
        action=data.found,
        by=operator_mn,
        result="arrested",
        information_contributed=False,
        calls_registered=7,
    )
    assert StaleDay.objects.filter(day=DAY_1, collector="actions").exists()
    # The hourly run: the last days and the stale ones (DAY_1 is long past its window).
    reporting.refresh(today=DAY_1 + dt.timedelta(days=500))

    nl = figures_of(DAY_1, "nl")
    assert nl[("actions_result", "missing_person:arrested")] == 1
    assert ("actions_result", "missing_person:found_safe") not in nl
    assert ("actions_contributed", "missing_person") not in nl
    assert nl[("reactions", "calls")] == 7
    assert not StaleDay.objects.filter(day=DAY_1, collector="actions").exists()


def test_tips_count_from_the_action_not_from_the_tip_rows(data):
    data.found.tips.all().delete()
    reporting.refresh([DAY_1], today=TODAY)

    assert figures_of(DAY_1, "nl")[("reactions", "tips")] == 3


def test_a_refresh_writes_only_the_metrics_of_actions(data):
    reporting.refresh([DAY_1, DAY_2], today=TODAY, only=["actions", "action_messages"])

    metrics = set(DailyFigure.objects.values_list("metric", flat=True))
    assert metrics <= set(report.ACTION_METRICS + report.MESSAGE_METRICS)
