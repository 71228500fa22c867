"""Which channels an action's messages go on, and how many each reaches: the channel
settings (in use, paused, retired; urgencies; kinds) and the dated ceilings, with the
nearest-first cut — through the real release, update and end."""

from datetime import date, datetime

import pytest

from apps.actions import services, targeting
from apps.channels import plan
from apps.channels.models import CeilingStep, Channel, ChannelSetting, Delivery
from tests.fakes import point_at

from .conftest import AMS_TZ, UTRECHT, action_fields, local

AT = local(2, 14)  # Wednesday 3 January 2024, 14:00


def recipients(message, channel):
    field = "device_id" if channel == "webpush" else "participant_id"
    return set(
        Delivery.objects.filter(message=message, channel=channel).values_list(field, flat=True)
    )


def set_channel(channel, **fields):
    ChannelSetting.objects.filter(channel=channel).update(**fields)


def channels_at(moment, kind="missing_person", urgent=True, **flags):
    return plan.plan_for(kind=kind, urgent=urgent, at=moment, **flags)


# The schedule on its date boundaries ------------------------------------------------------


@pytest.mark.parametrize(
    "moment, sms, voice",
    [
        # The evening before 1 March 2023 in Amsterdam is already 1 March in UTC: the day
        # is Dutch time.
        (datetime(2023, 2, 28, 23, 59, tzinfo=AMS_TZ), None, None),
        (datetime(2023, 3, 1, 0, 0, tzinfo=AMS_TZ), 3000, None),
        (datetime(2023, 5, 31, 23, 59, tzinfo=AMS_TZ), 3000, None),
        (datetime(2023, 6, 1, 0, 0, tzinfo=AMS_TZ), 1500, None),
        (datetime(2023, 8, 31, 23, 59, tzinfo=AMS_TZ), 1500, None),
        (datetime(2023, 9, 1, 0, 0, tzinfo=AMS_TZ), "off", "off"),
        (datetime(2026, 12, 4, 12, 0, tzinfo=AMS_TZ), "off", "off"),
    ],
)
def test_the_2023_phase_out_holds_from_each_step_s_first_local_day(
    phase_out_2023, moment, sms, voice
):
    chosen = channels_at(moment)
    for channel, expected in (("sms", sms), ("voice", voice)):
        if expected == "off":
            assert channel not in chosen.channels
        else:
            assert channel in chosen.channels
            assert chosen.ceiling(channel) == expected


def test_the_migrations_load_the_phase_out_as_the_default_schedule(django_db_blocker):
    # tests/conftest.py takes the schedule out of the test database; the migration that
    # loads it is checked against the code's own copy of the history here.
    import importlib

    migration = importlib.import_module("apps.channels.migrations.0010_default_channel_settings")
    public = importlib.import_module("apps.channels.migrations.0012_public_channels")
    assert tuple(migration.PHASE_OUT_2023) == plan.PHASE_OUT_2023
    loaded = {**migration.DEFAULTS, **public.PUBLIC_DEFAULTS}
    assert {c: {"kinds": [], **v} for c, v in loaded.items()} == {
        c: {"kinds": [], **v} for c, v in plan.DEFAULTS.items()
    }


def test_an_amber_alert_is_held_to_a_ceiling_unless_the_step_exempts_it(db):
    CeilingStep.objects.create(channel="sms", starts_on=date(2024, 1, 1), max_recipients=10)
    amber = {"kind": "amber_alert", "everywhere": True, "amber": True}
    assert channels_at(AT, **amber).ceiling("sms") == 10
    CeilingStep.objects.filter(channel="sms").update(amber_exempt=True)
    assert channels_at(AT, **amber).ceiling("sms") is None
    assert channels_at(AT).ceiling("sms") == 10  # other kinds still are


# Settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ChannelSetting.State.PAUSED, ChannelSetting.State.RETIRED])
def test_a_paused_or_retired_channel_is_never_used(
    state, make_participant, make_device, operator_mn, national_operator
):
    make_participant(UTRECHT, wants_voice=True)
    make_device(UTRECHT, updated=AT)
    set_channel("sms", state=state)
    action = services.action_create(by=operator_mn, **action_fields())
    sent = services.action_release(action=action, by=operator_mn, at=AT)
    assert "sms" not in sent.queued
    assert not recipients(sent.message, "sms")
    assert recipients(sent.message, "voice") and recipients(sent.message, "webpush")
    # Nor for an AMBER Alert, which goes on every channel in use.
    assert "sms" not in channels_at(AT, kind="amber_alert", everywhere=True).channels


def test_a_channel_paused_after_the_release_carries_no_end_message(make_participant, operator_mn):
    make_participant(UTRECHT)
    action = services.action_create(by=operator_mn, **action_fields())
    released = services.action_release(action=action, by=operator_mn, at=AT)
    assert recipients(released.message, "sms")
    set_channel("sms", state=ChannelSetting.State.PAUSED)
    ended = services.action_end(
        action=action,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Terecht.",
        at=AT,
    )
    assert not recipients(ended.message, "sms")


def test_a_channel_carries_only_its_kinds(make_participant, operator_mn):
    make_participant(UTRECHT)
    set_channel("sms", kinds=["missing_person", "missing_child"])
    assert "sms" in channels_at(AT, kind="missing_person").channels
    assert "sms" not in channels_at(AT, kind="robbery").channels
    robbery = services.action_create(by=operator_mn, **action_fields(kind="robbery"))
    sent = services.action_release(action=robbery, by=operator_mn, at=AT)
    assert "sms" not in sent.queued


def test_a_channel_carries_only_its_urgencies(db):
    set_channel("webpush", urgencies=["high"])
    assert "webpush" in channels_at(AT, urgent=True).channels
    assert "webpush" not in channels_at(AT, urgent=False).channels


def test_an_exercise_goes_only_by_push_and_not_when_push_is_paused(db):
    assert channels_at(AT, exercise=True).channels == ("webpush",)
    set_channel("webpush", state=ChannelSetting.State.PAUSED)
    assert channels_at(AT, exercise=True).channels == ()


def test_a_missing_setting_row_means_the_default(db):
    ChannelSetting.objects.all().delete()
    assert channels_at(AT, urgent=True).channels == ("webpush", "sms", "voice")
    assert channels_at(AT, urgent=False).channels == ("webpush", "email")


def test_a_setting_refuses_unknown_kinds_and_urgencies(db):
    from django.core.exceptions import ValidationError

    setting = ChannelSetting.objects.get(channel="sms")
    setting.kinds = ["no_such_kind"]
    with pytest.raises(ValidationError) as error:
        setting.full_clean()
    assert "kinds" in error.value.error_dict
    setting.kinds, setting.urgencies = [], ["sometimes"]
    with pytest.raises(ValidationError) as error:
        setting.full_clean()
    assert "urgencies" in error.value.error_dict


# The nearest-first cut ---------------------------------------------------------------------


def test_a_ceiling_keeps_the_nearest_and_the_release_screen_counts_the_cut(
    make_participant, operator_mn
):
    near = [make_participant(point_at(UTRECHT, 100 * n, 0)) for n in range(1, 4)]
    far = [make_participant(point_at(UTRECHT, 1500 + 50 * n, 90)) for n in range(1, 3)]
    CeilingStep.objects.create(channel="sms", starts_on=date(2024, 1, 1), max_recipients=3)
    action = services.action_create(by=operator_mn, **action_fields())

    estimate = targeting.estimate_reach(targeting.Target.of(action), at=AT)
    assert (estimate["sms"].found, estimate["sms"].sent, estimate["sms"].cut) == (5, 3, 2)
    assert estimate["sms"].ceiling == 3

    sent = services.action_release(action=action, by=operator_mn, at=AT)
    assert sent.queued["sms"] == 3
    assert recipients(sent.message, "sms") == {p.pk for p in near}
    assert not recipients(sent.message, "sms") & {p.pk for p in far}


def test_a_participant_is_as_near_as_their_nearest_address(make_participant, operator_mn):
    two_places = make_participant(point_at(UTRECHT, 1900, 0), point_at(UTRECHT, 50, 180))
    one_place = make_participant(point_at(UTRECHT, 500, 0))
    CeilingStep.objects.create(channel="sms", starts_on=date(2024, 1, 1), max_recipients=1)
    action = services.action_create(by=operator_mn, **action_fields())
    sent = services.action_release(action=action, by=operator_mn, at=AT)
    assert recipients(sent.message, "sms") == {two_places.pk}
    assert one_place.pk not in recipients(sent.message, "sms")


def test_an_update_reaches_those_alerted_and_newcomers_only_up_to_the_ceiling(
    make_participant, operator_mn
):
    first = [make_participant(point_at(UTRECHT, 200 * n, 0)) for n in range(1, 3)]
    CeilingStep.objects.create(channel="sms", starts_on=date(2024, 1, 1), max_recipients=3)
    action = services.action_create(by=operator_mn, **action_fields())
    services.action_release(action=action, by=operator_mn, at=AT)
    newcomers = [make_participant(point_at(UTRECHT, 300 * n, 270)) for n in range(1, 4)]
    update = services.action_update(action=action, by=operator_mn, text="Nieuws.", at=AT)
    reached = recipients(update.message, "sms")
    assert {p.pk for p in first} <= reached
    assert reached & {p.pk for p in newcomers} == {newcomers[0].pk}  # the nearest one


def test_a_ceiling_of_zero_leaves_the_channel_out_of_the_release(make_participant, operator_mn):
    make_participant(UTRECHT)
    CeilingStep.objects.create(channel="sms", starts_on=date(2024, 1, 1), max_recipients=0)
    action = services.action_create(by=operator_mn, **action_fields())
    assert "sms" not in targeting.estimate_reach(targeting.Target.of(action), at=AT)
    sent = services.action_release(action=action, by=operator_mn, at=AT)
    assert "sms" not in sent.queued
    assert not Delivery.objects.filter(message=sent.message, channel=Channel.SMS).exists()
