"""The retention page (bewaartermijnen): every rule with its period, what it deleted this
year and last year, and when retention last ran. Read-only, for managers."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.governance import manager_pages, reporting, retention
from apps.governance.models import AuditEntry
from apps.governance.roles import Role

URL = reverse("governance:retention")


@pytest.fixture
def woerden_manager(make_staff_user, org_woerden):
    return make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])


def test_it_keeps_the_page_from_staff_without_the_manager_role(staff_client, operator_mn):
    assert staff_client(operator_mn).get(URL).status_code == 403


def test_it_lists_every_rule_with_its_period_and_setting(staff_client, manager, settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "audit": 730}

    response = staff_client(manager).get(URL)

    assert response.status_code == 200
    rows = {row.name: row for row in response.context["rows"]}
    assert set(rows) == {rule.name for rule in retention.rules()}
    audit_row = rows["audit"]
    assert (audit_row.days, audit_row.in_words) == (730, "2 jaar")
    assert audit_row.setting == "RETENTION_AUDIT_DAYS"
    assert "RETENTION_AUDIT_DAYS" in response.text
    assert "Auditregels" in response.text
    assert "<form" not in response.text.split('id="retention-table"')[1]  # read-only


def test_it_counts_what_each_rule_deleted_this_year_and_last_year(staff_client, manager):
    year = timezone.localdate().year
    reporting.add(dt.date(year, 1, 2), "deleted", "audit", 7)
    reporting.add(dt.date(year, 1, 3), "deleted", "audit", 5)
    reporting.add(dt.date(year - 1, 6, 1), "deleted", "audit", 40)
    reporting.add(dt.date(year - 2, 6, 1), "deleted", "audit", 999)

    response = staff_client(manager).get(URL)

    row = next(r for r in response.context["rows"] if r.name == "audit")
    assert (row.this_year, row.last_year) == (12, 40)


def test_it_says_when_retention_last_ran_and_what_it_did(staff_client, woerden_manager):
    retention.run()
    latest = AuditEntry.objects.filter(verb="retention.run").latest("at")

    response = staff_client(woerden_manager).get(URL)

    last_run = response.context["last_run"]
    assert last_run.at == latest.at
    assert ("Auditregels", 0) in last_run.counts
    assert "het laatst toegepast op" in response.text


def test_it_says_when_retention_never_ran(staff_client, manager):
    response = staff_client(manager).get(URL)

    assert response.context["last_run"] is None
    assert "nog niet toegepast" in response.text


@pytest.mark.parametrize(
    ("days", "words"),
    [(1, "1 dag"), (90, "ongeveer 3 maanden"), (7, "1 week"), (1825, "5 jaar"), (400, "400 dagen")],
)
def test_it_puts_a_period_in_words(days, words):
    assert manager_pages.period_in_words(days) == words
