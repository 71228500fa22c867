"""Retention of what actions keep about people (actions/retention.py): exactly what is due
goes, the files with it, and the report's figures of the past stay the same."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from apps.actions import retention as action_retention
from apps.actions.models import Action, Tip
from apps.channels.models import Delivery
from apps.governance import reporting, retention
from apps.governance.models import DailyFigure

from .report_data import DAY_1, DAY_2, at, build

pytestmark = pytest.mark.django_db

# found ended DAY_1 14:00, robbery was withdrawn DAY_2 01:00, quiet ended DAY_2 08:00.
BETWEEN = at(DAY_2, 0)  # after found's end, before the others'


@pytest.fixture
def data(operator_mn, operator_ams):
    return build(operator_mn, operator_ams)


def media_file(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def deliveries(action: Action):
    ids = [pk for _what, pk in action.sent_messages()]
    return Delivery.objects.filter(message_id__in=ids)


def test_the_rules_are_registered_with_their_periods():
    names = {rule.name for rule in retention.rules()}
    assert {"tips", "action_photos", "action_delivery_links", "action_delivery_rows"} <= names


def test_tips_of_ended_actions_go_with_their_photo_files(data):
    photo = data.found.tips.exclude(photo="").get().photo.name
    running_photo = data.running.tips.get().photo.name
    assert media_file(photo).exists()

    handled = action_retention.purge_tips(BETWEEN)

    assert handled == 3  # found's 2, and the exercise's (ended too)
    assert not data.found.tips.exists()
    assert not data.exercise.tips.exists()
    assert not media_file(photo).exists()
    # A withdrawn action's tips and a running action's stay until their time.
    assert data.robbery.tips.count() == 1
    assert data.running.tips.count() == 1
    assert media_file(running_photo).exists()
    data.found.refresh_from_db()
    assert data.found.tips_counted == 2

    assert action_retention.purge_tips(at(DAY_2, 2)) == 1  # now the withdrawn one's
    assert not data.robbery.tips.exists()


def test_an_ended_actions_photo_goes_and_the_field_is_cleared(data, client):
    name = data.found.photo.name
    running = data.running.photo.name

    assert action_retention.purge_action_photos(BETWEEN) == 1

    data.found.refresh_from_db()
    assert not data.found.photo
    assert not media_file(name).exists()
    assert media_file(running).exists()
    # The public page and the share card cope with an action without its photo.
    page = client.get(data.found.page_url().replace(settings.SITE_URL, ""))
    assert page.status_code == 200


def test_deliveries_of_ended_actions_lose_device_and_participant(data):
    linked = deliveries(data.found).filter(device__isnull=False) | deliveries(data.found).filter(
        participant__isnull=False
    )
    assert linked.count() == 7
    rows_before = deliveries(data.found).count()

    assert action_retention.purge_delivery_links(BETWEEN) == 7

    assert not deliveries(data.found).filter(device__isnull=False).exists()
    assert not deliveries(data.found).filter(participant__isnull=False).exists()
    assert deliveries(data.found).count() == rows_before
    assert action_retention.purge_delivery_links(BETWEEN) == 0


def test_a_queued_delivery_keeps_its_recipient_until_it_is_done(data):
    row = deliveries(data.found).filter(device__isnull=False).first()
    Delivery.objects.filter(pk=row.pk).update(state=Delivery.State.QUEUED)

    action_retention.purge_delivery_links(BETWEEN)

    row.refresh_from_db()
    assert row.device_id is not None


def test_delivery_rows_of_ended_actions_are_deleted(data):
    robbery_rows = deliveries(data.robbery).count()
    assert robbery_rows == 2

    handled = action_retention.purge_delivery_rows(BETWEEN)

    # found's release (11), update (1) and end message (2); the exercise's release (5).
    assert handled == 19
    assert not deliveries(data.found).exists()
    assert not deliveries(data.exercise).exists()
    assert deliveries(data.robbery).count() == robbery_rows


def test_the_nightly_run_applies_the_periods(data):
    # Long after all of them ended: every rule of the app finds its rows.
    now = at(DAY_2, 12) + dt.timedelta(days=settings.RETENTION_DAYS["action_delivery_rows"])
    counts = retention.run(now=now)

    assert counts["tips"] == 4  # found 2, robbery 1, exercise 1; the running one keeps its tip
    assert counts["action_photos"] == 1
    assert counts["action_delivery_rows"] > 0
    assert Tip.objects.filter(action=data.running).count() == 1
    assert not Delivery.objects.filter(message_id=data.found.release_message_id).exists()


def snapshot() -> dict:
    return {
        (day, scope, metric, key): value
        for day, scope, metric, key, value in DailyFigure.objects.filter(
            metric__in=["actions", "actions_reacted", "reactions", "messages", "messages_opened"]
            + ["messages_delivered", "actions_result", "actions_contributed"]
        ).values_list("day", "scope", "metric", "key", "value")
    }


def test_the_report_still_counts_the_past_after_retention(data):
    # Figures of DAY_1 and DAY_2 counted a few days later.
    reporting.refresh([DAY_1, DAY_2], today=DAY_2 + dt.timedelta(days=3))
    before = snapshot()
    assert before[(DAY_1, "nl", "reactions", "tips")] == 3
    assert before[(DAY_1, "nl", "messages", "sms")] == 5

    # A few days on: links gone; the same days counted again within every horizon.
    retention.run(now=at(DAY_2, 12) + dt.timedelta(days=30))
    reporting.refresh([DAY_1, DAY_2], today=DAY_2 + dt.timedelta(days=30))
    assert snapshot() == before

    # Past the period of the tips: tips and photos gone, counted again.
    retention.run(now=at(DAY_2, 12) + dt.timedelta(days=settings.RETENTION_DAYS["tips"] + 1))
    assert not Tip.objects.filter(action=data.found).exists()
    reporting.refresh([DAY_1, DAY_2], today=DAY_2 + dt.timedelta(days=100))
    assert snapshot() == before

    # Past the period of the delivery rows: the rows are gone, their days no longer
    # counted (the message collector's horizon), the figures kept.
    later = at(DAY_2, 12) + dt.timedelta(days=settings.RETENTION_DAYS["action_delivery_rows"] + 1)
    retention.run(now=later)
    assert not Delivery.objects.filter(message_id=data.found.release_message_id).exists()
    reporting.refresh([DAY_1, DAY_2], today=later.date())
    assert snapshot() == before
