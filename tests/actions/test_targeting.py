"""Targeting: who is in the circle, when an address counts, on which channel, and which devices.

Every query here runs in SQL; where a Python rule exists (geo.distance_m,
schedule.is_active_at, Participant.is_quiet_at) the tests check the SQL against it, so a
run on SQLite and one on PostgreSQL prove both give the same answers.
"""

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from apps.actions import targeting
from apps.actions.targeting import Target
from apps.channels.models import Channel
from apps.governance.geo import distance_m
from apps.participants import geohash, schedule
from tests.fakes import point_at

from .conftest import (
    AMS_TZ,
    BAARLE_NASSAU,
    FRI,
    MAASTRICHT,
    MON,
    SAT,
    SUN,
    THU,
    TUE,
    UTRECHT,
    WED,
    days,
    local,
)

RADIUS = 2000
MONDAY_EVENING = local(MON, 20)


def in_circle(at=MONDAY_EVENING, channel=Channel.SMS, centre=UTRECHT, radius_m=RADIUS):
    return set(
        targeting.in_area(
            Target(lat=centre[0], lon=centre[1], radius_m=radius_m), channel=channel, at=at
        )
    )


# The circle ------------------------------------------------------------------------------


@pytest.mark.parametrize("bearing", [0, 90, 180, 270, 45])
def test_it_includes_a_point_just_inside_the_radius_and_not_one_just_outside(
    make_participant, bearing
):
    inside_point = point_at(UTRECHT, RADIUS - 1, bearing)
    outside_point = point_at(UTRECHT, RADIUS + 1, bearing)
    assert distance_m(*UTRECHT, *inside_point) < RADIUS < distance_m(*UTRECHT, *outside_point)
    inside = make_participant(inside_point)
    outside = make_participant(outside_point)
    found = in_circle()
    assert inside.pk in found
    assert outside.pk not in found


def test_it_agrees_with_the_python_distance_for_many_points_near_the_edge(make_participant):
    rng = random.Random(20240101)
    radius = 5_000
    expected = set()
    for _ in range(150):
        point = point_at(UTRECHT, rng.uniform(0.97, 1.03) * radius, rng.uniform(0, 360))
        participant = make_participant(point)
        if distance_m(*UTRECHT, *point) <= radius:
            expected.add(participant.pk)
    assert 0 < len(expected) < 150
    assert in_circle(radius_m=radius) == expected


def test_it_counts_a_participant_once_however_many_addresses_are_in_the_circle(
    make_participant,
):
    both = make_participant(UTRECHT, point_at(UTRECHT, 500, 90), point_at(UTRECHT, 900, 200))
    ids = list(
        targeting.in_area(
            Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS),
            channel="sms",
            at=MONDAY_EVENING,
        )
    )
    assert ids == [both.pk]
    estimate = _estimate(at=MONDAY_EVENING, time_critical=True)
    assert estimate[Channel.SMS] == 1


def test_it_reaches_a_participant_by_one_address_in_the_circle_and_one_far_away(
    make_participant,
):
    participant = make_participant(point_at(UTRECHT, 40_000, 0), point_at(UTRECHT, 300, 0))
    assert in_circle() == {participant.pk}


def test_it_includes_belgian_addresses_in_a_circle_around_baarle_nassau(make_participant):
    # Baarle-Hertog (Belgium) lies in and around Baarle-Nassau.
    hertog = make_participant((51.4397, 4.9329), country="BE")
    turnhout = make_participant((51.3225, 4.9447), country="BE")  # 14 km south
    found = in_circle(centre=BAARLE_NASSAU, radius_m=3000)
    assert found == {hertog.pk}
    assert turnhout.pk not in found


def test_it_includes_belgian_and_not_far_german_addresses_near_maastricht(make_participant):
    lanaken = make_participant((50.8936, 5.6475), country="BE")  # 6 km north-west
    riemst = make_participant((50.8080, 5.6030), country="BE")  # 7.4 km south-west
    aachen = make_participant((50.7753, 6.0839), country="DE")  # 29 km east
    found = in_circle(centre=MAASTRICHT, radius_m=10_000)
    assert found == {lanaken.pk, riemst.pk}
    assert aachen.pk in in_circle(centre=MAASTRICHT, radius_m=30_000)


# Time windows ----------------------------------------------------------------------------


def test_it_counts_an_address_only_within_its_time_window(make_participant):
    evenings = make_participant(UTRECHT, windows=[(days(MON, TUE), time(18), time(23))])
    assert in_circle(local(MON, 20)) == {evenings.pk}
    assert in_circle(local(MON, 18, 0)) == {evenings.pk}  # the start counts
    assert in_circle(local(MON, 23, 0)) == set()  # the end does not
    assert in_circle(local(MON, 17, 59)) == set()
    assert in_circle(local(WED, 20)) == set()


def test_it_counts_a_window_over_midnight_on_the_day_it_started(make_participant):
    nights = make_participant(UTRECHT, windows=[(days(FRI), time(22), time(6))])
    assert in_circle(local(FRI, 23)) == {nights.pk}
    assert in_circle(local(SAT, 5, 59)) == {nights.pk}  # Friday's night, on Saturday
    assert in_circle(local(SAT, 6)) == set()
    assert in_circle(local(FRI, 5)) == set()  # Thursday's night was not chosen
    assert in_circle(local(SAT, 23)) == set()


def test_it_runs_a_sunday_night_window_into_monday_morning(make_participant):
    sunday_night = make_participant(UTRECHT, windows=[(days(SUN), time(23), time(7))])
    assert in_circle(local(SUN, 23, 30)) == {sunday_night.pk}
    # Monday 1 January 03:00 belongs to the Sunday of the week before: the week wraps.
    assert in_circle(local(MON, 3)) == {sunday_night.pk}
    assert in_circle(local(MON, 7)) == set()
    assert in_circle(local(MON, 23, 30)) == set()


def test_it_counts_weekend_windows_only_in_the_weekend(make_participant):
    weekend = make_participant(UTRECHT, windows=[(days(SAT, SUN), time(0), time(0))])
    # start == end: the whole day
    assert in_circle(local(SAT, 0)) == {weekend.pk}
    assert in_circle(local(SUN, 23, 59)) == {weekend.pk}
    assert in_circle(local(FRI, 23, 59)) == set()
    assert in_circle(local(MON, 0, 0) + timedelta(days=7)) == set()


def test_it_reads_windows_in_dutch_time_whatever_the_zone_of_the_moment(make_participant):
    evenings = make_participant(UTRECHT, windows=[(days(MON), time(0), time(1))])
    # Sunday 31 December 23:30 UTC is Monday 1 January 00:30 in Amsterdam.
    assert in_circle(datetime(2023, 12, 31, 23, 30, tzinfo=UTC)) == {evenings.pk}
    # Summer time: 22:30 UTC on Sunday 30 June is Monday 1 July 00:30 (UTC+2).
    assert in_circle(datetime(2024, 6, 30, 22, 30, tzinfo=UTC)) == {evenings.pk}
    assert in_circle(datetime(2024, 6, 30, 21, 30, tzinfo=UTC)) == set()


def test_it_counts_an_address_when_any_of_its_windows_is_active(make_participant):
    participant = make_participant(
        UTRECHT,
        windows=[(days(MON), time(8), time(9)), (days(THU), time(20), time(2))],
    )
    assert in_circle(local(MON, 8, 30)) == {participant.pk}
    assert in_circle(local(FRI, 1)) == {participant.pk}
    assert in_circle(local(MON, 12)) == set()


def test_it_agrees_with_schedule_py_for_many_windows_and_moments(make_participant):
    """The SQL of the time windows against apps/participants/schedule.py, exhaustively
    enough: random windows (over midnight, whole days, the week's end) at random minutes."""
    rng = random.Random(7)
    participants = []
    for _ in range(60):
        mask = rng.randint(1, schedule.ALL_DAYS)
        start = time(rng.randrange(24), rng.choice([0, 15, 30, 59]))
        end = rng.choice([time(rng.randrange(24), rng.choice([0, 30, 45])), start])
        participants.append(
            (make_participant(UTRECHT, windows=[(mask, start, end)]), (mask, start, end))
        )
    moments = [local(rng.randrange(7), rng.randrange(24), rng.randrange(60)) for _ in range(40)]
    moments += [local(SUN, 23, 59), local(MON, 0, 0), local(SAT, 12)]
    sizes = []
    for at in moments:
        expected = {p.pk for p, window in participants if schedule.is_active_at(*window, at)}
        assert in_circle(at) == expected, at
        sizes.append(len(expected))
    assert min(sizes) > 0 and max(sizes) < len(participants)  # the test tells something


# Channels, confirmation and quiet hours ---------------------------------------------------


def test_it_leaves_out_participants_whose_phone_is_not_confirmed(make_participant):
    confirmed = make_participant(UTRECHT)
    make_participant(UTRECHT, confirmed=False)
    make_participant(UTRECHT, confirmed=False, wants_voice=True)
    assert in_circle(channel=Channel.SMS) == {confirmed.pk}
    assert in_circle(channel=Channel.VOICE) == set()


def test_it_follows_each_participants_choice_of_channels(make_participant):
    sms_only = make_participant(UTRECHT)
    voice_only = make_participant(UTRECHT, wants_sms=False, wants_voice=True)
    both = make_participant(UTRECHT, wants_voice=True)
    mail = make_participant(UTRECHT, wants_sms=False, wants_email=True, email_confirmed=True)
    make_participant(UTRECHT, wants_sms=False, wants_email=True)  # e-mail not confirmed
    assert in_circle(channel=Channel.SMS) == {sms_only.pk, both.pk}
    assert in_circle(channel=Channel.VOICE) == {voice_only.pk, both.pk}
    assert in_circle(channel=Channel.EMAIL) == {mail.pk}


def test_it_reaches_nobody_by_address_on_web_push(make_participant):
    make_participant(UTRECHT)  # an address in the circle, but no app device
    assert in_circle(channel=Channel.WEBPUSH) == set()


def test_it_holds_off_sms_and_voice_in_quiet_hours_but_not_email(make_participant):
    night_quiet = make_participant(
        UTRECHT,
        wants_voice=True,
        wants_email=True,
        email_confirmed=True,
        quiet=(time(23), time(7)),
    )
    day_quiet = make_participant(UTRECHT, wants_voice=True, quiet=(time(9), time(17)))
    always = make_participant(UTRECHT, wants_voice=True)
    at_night = local(TUE, 2)
    assert in_circle(at_night, Channel.SMS) == {day_quiet.pk, always.pk}
    assert in_circle(at_night, Channel.VOICE) == {day_quiet.pk, always.pk}
    assert in_circle(at_night, Channel.EMAIL) == {night_quiet.pk}
    at_noon = local(TUE, 12)
    assert in_circle(at_noon, Channel.SMS) == {night_quiet.pk, always.pk}
    # the edges, as Participant.is_quiet_at has them
    for at in (local(TUE, 7), local(TUE, 6, 59), local(MON, 23), local(MON, 22, 59)):
        expected = not night_quiet.is_quiet_at(at.time())
        assert (night_quiet.pk in in_circle(at, Channel.SMS)) is expected, at


def test_it_agrees_with_is_quiet_at_for_many_quiet_hours_and_moments(make_participant):
    rng = random.Random(11)
    participants = [
        make_participant(
            UTRECHT, quiet=(time(rng.randrange(24), rng.choice([0, 30])), time(rng.randrange(24)))
        )
        for _ in range(40)
    ]
    participants.append(make_participant(UTRECHT))  # no quiet hours
    for _ in range(25):
        at = local(rng.randrange(7), rng.randrange(24), rng.randrange(60))
        expected = {p.pk for p in participants if not p.is_quiet_at(at.time())}
        assert in_circle(at, Channel.SMS) == expected, at


# Devices ---------------------------------------------------------------------------------

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=AMS_TZ)


def devices(now=NOW, centre=UTRECHT, radius_m=RADIUS, exercise=False):
    return set(
        targeting.devices_in_circle(
            lat=centre[0], lon=centre[1], radius_m=radius_m, now=now, exercise=exercise
        )
    )


def test_it_reaches_devices_whose_cell_touches_the_circle(make_device):
    fresh = NOW - timedelta(minutes=5)
    inside = make_device(UTRECHT, updated=fresh)
    # A 5-character cell reaches some 2.9 km from its centre here: a centre 1.5 km outside
    # the circle still overlaps it; one 4 km outside does not.
    touching = make_device(point_at(UTRECHT, RADIUS + 1_500, 90), updated=fresh)
    far = make_device(point_at(UTRECHT, RADIUS + 4_000, 90), updated=fresh)
    finer = make_device(point_at(UTRECHT, RADIUS + 1_500, 90), updated=fresh, cell="u178kmv")
    coarse = make_device(point_at(UTRECHT, 500, 0), updated=fresh, cell="u17")
    found = devices()
    assert {inside.pk, touching.pk} <= found
    assert not {far.pk, finer.pk, coarse.pk} & found


def test_it_reaches_a_device_by_the_cell_the_web_app_reports(make_device):
    cell = geohash.encode(*UTRECHT, 5)
    device = make_device(geohash.decode(cell), updated=NOW, cell=cell)
    assert devices(radius_m=100) == {device.pk}


def test_it_leaves_out_devices_with_a_stale_or_no_cell(make_device):
    fresh = make_device(UTRECHT, updated=NOW - timedelta(hours=23, minutes=59))
    make_device(UTRECHT, updated=NOW - targeting.STALE_AFTER - timedelta(seconds=1))
    make_device(None, updated=None, cell="")
    assert devices() == {fresh.pk}


def test_it_sends_exercises_only_to_test_devices_and_real_actions_never(make_device):
    citizen = make_device(UTRECHT, updated=NOW)
    staff = make_device(UTRECHT, updated=NOW, test=True)
    make_device(UTRECHT, updated=NOW - timedelta(days=2), test=True)  # stale
    assert devices(exercise=False) == {citizen.pk}
    assert devices(exercise=True) == {staff.pk}


def test_it_never_reaches_participants_in_an_exercise(make_participant, make_device):
    make_participant(UTRECHT, wants_voice=True, wants_email=True, email_confirmed=True)
    staff = make_device(UTRECHT, updated=NOW, test=True)
    target = Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS, exercise=True)
    assert target.plan(NOW).channels == (Channel.WEBPUSH,)
    for channel in (Channel.SMS, Channel.VOICE, Channel.EMAIL):
        assert list(targeting.in_area(target, channel=channel, at=NOW)) == []
    assert list(targeting.in_area(target, channel=Channel.WEBPUSH, at=NOW)) == [staff.pk]


# The estimate ----------------------------------------------------------------------------


def test_it_estimates_the_reach_per_channel_by_urgency(make_participant, make_device):
    make_participant(UTRECHT)
    make_participant(UTRECHT, wants_voice=True, wants_email=True, email_confirmed=True)
    make_participant(point_at(UTRECHT, 10_000, 0))
    make_device(UTRECHT, updated=NOW)
    make_device(UTRECHT, updated=NOW, test=True)
    assert _estimate(time_critical=True) == {
        "webpush": 1,
        "sms": 2,
        "voice": 1,
    }
    assert _estimate(time_critical=False) == {"webpush": 1, "email": 1}
    assert _estimate(time_critical=True, exercise=True) == {"webpush": 1}
    # An AMBER Alert reaches the whole country on every channel.
    assert _estimate(time_critical=True, nationwide=True, kind="amber_alert") == {
        "webpush": 1,
        "sms": 3,
        "voice": 1,
        "email": 1,
    }


def test_it_estimates_without_fetching_rows(make_participant, django_assert_max_num_queries):
    for n in range(5):
        make_participant(point_at(UTRECHT, 100 * n, 10 * n))
    # The channel settings, the ceilings of the day, the participants, the devices.
    with django_assert_max_num_queries(4):
        estimate = _estimate(time_critical=True)
    assert estimate["sms"] == 5


def _estimate(*, at=NOW, **target) -> dict[str, int]:
    """The estimated reach around UTRECHT per channel: how many would get the message."""
    estimate = targeting.estimate_reach(
        Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS, **target), at=at
    )
    return {channel: row.sent for channel, row in estimate.items()}


def test_it_refuses_a_naive_moment(make_participant):
    with pytest.raises(ValueError):
        in_circle(datetime(2024, 1, 1, 20, 0))


def test_it_selects_every_channel_by_address_at_once_as_it_does_one_by_one(make_participant):
    make_participant(UTRECHT)
    make_participant(UTRECHT, wants_sms=False, wants_voice=True)
    make_participant(UTRECHT, wants_voice=True, quiet=(time(19), time(23)))
    make_participant(UTRECHT, wants_sms=False, wants_email=True, email_confirmed=True)
    make_participant(UTRECHT, wants_voice=True, wants_email=True, email_confirmed=True)
    make_participant(UTRECHT, wants_sms=False)  # no channel by address
    make_participant(point_at(UTRECHT, 2500, 0), wants_voice=True)  # outside
    target = Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS, time_critical=True)
    channels = [Channel.SMS, Channel.VOICE, Channel.EMAIL]
    rows = targeting.in_area_by_channel(target, channels=channels, at=MONDAY_EVENING)
    for channel in channels:
        one_by_one = set(targeting.in_area(target, channel=channel, at=MONDAY_EVENING))
        assert one_by_one  # every channel has someone, so the comparison means something
        assert {row["pk"] for row in rows if row[f"to_{channel}"]} == one_by_one, channel
    assert all(any(row[f"to_{c}"] for c in channels) for row in rows)
