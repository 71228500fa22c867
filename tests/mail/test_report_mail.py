"""The report's mail figures: mailings, recipients and responses per kind, counted on the
local day of sending, where the sending organisation works, and the same after retention."""

import datetime as dt
import importlib

import pytest
from django.utils import timezone

from apps.governance import reporting, retention
from apps.governance.models import DailyFigure, StaleDay
from apps.mail import report
from apps.mail.models import Mailing, Response

from .report_data import local, respond, sent_mailing

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)
NEXT = DAY + dt.timedelta(days=1)


@pytest.fixture
def mail_data(org_woerden, org_utrecht, org_police_team, org_control_room_mn, org_management):
    """On DAY: Woerden an inquiry (10 recipients, 2 responses) and a preventive one (5),
    the police team an informative one (7), Utrecht a crisis message (20), the control room
    an inquiry (3, 1 response), management an informative one (100, country only).
    Not counted on DAY: a draft, and a Woerden inquiry sent at 00:30 local time on NEXT
    (23:30 UTC on DAY; 4 recipients, 1 response)."""
    inquiry = sent_mailing(org_woerden, sent_at=local(DAY, 9), recipients=10)
    respond(inquiry)
    respond(inquiry)
    sent_mailing(org_woerden, sent_at=local(DAY, 10), kind="preventive", recipients=5)
    sent_mailing(org_police_team, sent_at=local(DAY, 11), kind="informative", recipients=7)
    sent_mailing(org_utrecht, sent_at=local(DAY, 12), kind="crisis", recipients=20)
    control = sent_mailing(org_control_room_mn, sent_at=local(DAY, 13), recipients=3)
    respond(control)
    sent_mailing(org_management, sent_at=local(DAY, 14), kind="informative", recipients=100)
    sent_mailing(org_woerden, sent_at=local(DAY, 15), state="draft", recipients=0)
    late = sent_mailing(org_woerden, sent_at=local(NEXT, 0, 30), recipients=4)
    respond(late)
    return {"inquiry": inquiry, "late": late}


def stored(day) -> dict[tuple[str, str, str], int]:
    return {
        (f.scope, f.metric, f.key): f.value
        for f in DailyFigure.objects.filter(day=day, metric__in=report.METRICS)
    }


def test_a_response_is_counted_on_its_mailing_once(mail_data):
    inquiry = mail_data["inquiry"]
    inquiry.refresh_from_db()
    assert inquiry.responses_counted == 2
    who = Response.objects.filter(mailing=inquiry).first().participant
    respond(inquiry, who)  # an addition to an earlier answer: no new response
    inquiry.refresh_from_db()
    assert inquiry.responses_counted == 2


def test_mail_figures_per_kind_and_scope(mail_data, woerden, utrecht):
    reporting.refresh([DAY, NEXT], only=["mail"], today=NEXT)
    unit = f"u{woerden.police_unit_id}"
    assert utrecht.police_unit_id == woerden.police_unit_id
    mw, mu = f"m{woerden.pk}", f"m{utrecht.pk}"
    assert stored(DAY) == {
        ("nl", "mailings", "inquiry"): 2,
        ("nl", "mail_recipients", "inquiry"): 13,
        ("nl", "mail_responses", "inquiry"): 3,
        ("nl", "mailings", "preventive"): 1,
        ("nl", "mail_recipients", "preventive"): 5,
        ("nl", "mailings", "informative"): 2,
        ("nl", "mail_recipients", "informative"): 107,
        ("nl", "mailings", "crisis"): 1,
        ("nl", "mail_recipients", "crisis"): 20,
        (unit, "mailings", "inquiry"): 2,
        (unit, "mail_recipients", "inquiry"): 13,
        (unit, "mail_responses", "inquiry"): 3,
        (unit, "mailings", "preventive"): 1,
        (unit, "mail_recipients", "preventive"): 5,
        (unit, "mailings", "informative"): 1,
        (unit, "mail_recipients", "informative"): 7,
        (unit, "mailings", "crisis"): 1,
        (unit, "mail_recipients", "crisis"): 20,
        (mw, "mailings", "inquiry"): 1,
        (mw, "mail_recipients", "inquiry"): 10,
        (mw, "mail_responses", "inquiry"): 2,
        (mw, "mailings", "preventive"): 1,
        (mw, "mail_recipients", "preventive"): 5,
        (mu, "mailings", "crisis"): 1,
        (mu, "mail_recipients", "crisis"): 20,
    }
    assert stored(NEXT) == {
        (scope, metric, "inquiry"): value
        for scope in ("nl", unit, mw)
        for metric, value in (("mailings", 1), ("mail_recipients", 4), ("mail_responses", 1))
    }


def test_mail_figures_stay_after_retention_deleted_the_responses(mail_data, settings):
    reporting.refresh([DAY], only=["mail"], today=DAY)
    before = stored(DAY)
    period = dt.timedelta(days=settings.RETENTION_DAYS["mail_responses"])
    later = local(DAY, 23) + period  # DAY's mailings are due, NEXT's not yet
    assert retention.run(now=later)["mail_responses"] == 3
    assert not Response.objects.filter(mailing__sent_at__lt=local(NEXT, 0)).exists()
    assert Response.objects.count() == 1
    reporting.refresh([DAY], only=["mail"], today=timezone.localdate(later))
    assert stored(DAY) == before


def test_a_late_response_marks_the_day_of_its_mailing_to_be_counted_again(org_woerden, settings):
    settings.REPORT_REFRESH_DAYS = 7
    mailing = sent_mailing(org_woerden, sent_at=local(DAY), recipients=3, response_days=30)
    reporting.refresh([DAY], only=["mail"], today=DAY)
    later = DAY + dt.timedelta(days=20)
    respond(mailing)
    assert StaleDay.objects.filter(day=DAY, collector="mail").exists()
    reporting.refresh(only=["mail"], today=later)
    assert stored(DAY)["nl", "mail_responses", "inquiry"] == 1


def test_the_migration_counts_the_responses_received_before_it(mail_data):
    from django.apps import apps

    migration = importlib.import_module("apps.mail.migrations.0006_report_and_retention")
    Mailing.objects.update(responses_counted=0)
    migration.count_responses(apps, None)
    counted = dict(Mailing.objects.values_list("pk", "responses_counted"))
    assert counted[mail_data["inquiry"].pk] == 2 and counted[mail_data["late"].pk] == 1
    assert sum(counted.values()) == Response.objects.count() == 4
