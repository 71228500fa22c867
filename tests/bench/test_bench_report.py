"""`manage.py bench_report`: makes three years of data, counts the report's figures from
it, times the report pages, and removes exactly what it made."""

import io

import pytest
from django.core.management import CommandError, call_command

from apps.actions.models import Action
from apps.bench import report
from apps.channels.models import Delivery
from apps.governance.models import DailyFigure
from apps.participants.models import Address, Device, Participant
from tests.actions.conftest import action_fields

SMALL = {
    "actions": 40,
    "registered": 60,
    "devices": 80,
    "deliveries": 2_000,
    "mailings": 12,
    "repeat": 1,
}


@pytest.mark.django_db
def test_the_generated_data_is_counted_into_the_figures(geography):
    options = report.Options(**SMALL)
    made = report.generate(options, say=lambda text: None)
    assert made["participants"] == 60 and made["addresses"] == 60 and made["devices"] == 80
    assert made["actions"] == 40 and made["messages"] == 80 and made["mailings"] == 12
    assert Delivery.objects.count() == made["deliveries"] >= 2_000 - 80
    # Past actions' deliveries carry no device or participant, as retention leaves them.
    assert not Delivery.objects.exclude(device=None, participant=None).exists()
    report.count_figures(options, say=lambda text: None)
    figure = DailyFigure.objects.filter(scope="nl")
    assert sum(figure.filter(metric="actions").values_list("value", flat=True)) == 40
    assert sum(figure.filter(metric="mailings").values_list("value", flat=True)) == 12
    sent = Delivery.objects.exclude(state=Delivery.State.CANCELLED).count()
    assert sum(figure.filter(metric="messages").values_list("value", flat=True)) == sent
    assert sum(figure.filter(metric="sends").values_list("value", flat=True)) == sent


@pytest.mark.django_db
def test_it_measures_the_report_pages_and_cleans_up(geography, operator_mn):
    from apps.actions import services

    real = services.action_create(by=operator_mn, **action_fields())
    out = io.StringIO()

    call_command("bench_report", allow_existing_data=True, stdout=out, **SMALL)

    text = out.getvalue()
    assert "Made: 60 participants" in text
    assert text.count(" queries, ") == len(report.report_pages())
    assert "TOO SLOW" not in text or "OK" in text  # figures printed either way
    assert "Removed the generated rows" in text
    assert not report.bench_actions().exists()
    assert not Participant.objects.filter(phone__startswith=report.PHONE_PREFIX).exists()
    assert not Address.objects.exists() and not Device.objects.exists()
    assert Action.objects.filter(pk=real.pk).exists()


@pytest.mark.django_db
def test_it_refuses_a_database_with_real_people(geography):
    Participant.objects.create(phone="+31612345678")
    with pytest.raises(CommandError, match="database of its own"):
        call_command("bench_report", stdout=io.StringIO(), **SMALL)
