"""Targeting by a device's fixed places (vaste plekken): a place in the circle reaches the
device whatever its live cell says, a place outside does not, test devices stay
exercise-only, and a device is reached (and counted, and sent to) once."""

from datetime import timedelta

from apps.actions import services, targeting
from apps.actions.targeting import Target
from apps.channels.models import Channel, Delivery
from apps.participants import devices as device_services
from apps.participants import geohash
from tests.fakes import point_at

from .conftest import AMSTERDAM, UTRECHT, local

RADIUS = 2000
NOW = local(2, 14)  # Wednesday 14:00
FRESH = NOW - timedelta(minutes=5)
STALE = NOW - targeting.STALE_AFTER - timedelta(minutes=1)


def cell_of(point) -> str:
    return geohash.encode(*point, device_services.CELL_PRECISION)


def add_place(device, point):
    return device_services.device_place_add(ref=device.ref, cell=cell_of(point))


def reached(centre=UTRECHT, radius_m=RADIUS, exercise=False, nationwide=False) -> list[int]:
    target = Target(
        lat=centre[0], lon=centre[1], radius_m=radius_m, exercise=exercise, nationwide=nationwide
    )
    return sorted(targeting.in_area(target, channel=Channel.WEBPUSH, at=NOW))


def test_it_reaches_a_device_by_its_place_when_it_has_no_live_cell(make_device):
    device = make_device(None, updated=None, cell="")
    add_place(device, UTRECHT)
    assert reached() == [device.pk]


def test_it_reaches_a_device_by_its_place_when_its_live_cell_is_stale(make_device):
    device = make_device(UTRECHT, updated=STALE)
    assert reached() == []
    add_place(device, UTRECHT)
    assert reached() == [device.pk]


def test_it_reaches_a_device_by_its_place_when_its_live_cell_is_elsewhere(make_device):
    device = make_device(AMSTERDAM, updated=FRESH, cell=cell_of(AMSTERDAM))
    add_place(device, UTRECHT)
    assert reached() == [device.pk]
    assert reached(centre=AMSTERDAM) == [device.pk]


def test_it_does_not_reach_a_device_whose_places_are_outside_the_circle(make_device):
    device = make_device(None, updated=None, cell="")
    add_place(device, AMSTERDAM)
    add_place(device, point_at(UTRECHT, RADIUS + 6_000, 90))  # beyond a cell's reach
    assert reached() == []
    assert reached(centre=AMSTERDAM) == [device.pk]


def test_it_reaches_a_device_once_however_many_of_its_cells_touch_the_circle(make_device):
    device = make_device(UTRECHT, updated=FRESH, cell=cell_of(UTRECHT))
    add_place(device, UTRECHT)
    add_place(device, point_at(UTRECHT, 2_500, 90))  # the next cell east
    other = make_device(UTRECHT, updated=FRESH, cell=cell_of(UTRECHT))
    assert device.places.count() == 2
    assert reached() == sorted([device.pk, other.pk])
    assert reached(nationwide=True) == sorted([device.pk, other.pk])
    target = targeting.Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS, time_critical=False)
    assert targeting.estimate_reach(target, at=NOW)["webpush"].sent == 2
    assert set(
        targeting.devices_in_circle(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS, now=NOW)
    ) == {device.pk, other.pk}


def test_it_reaches_devices_with_only_a_place_in_a_nationwide_alert(make_device):
    placed = make_device(None, updated=None, cell="")
    add_place(placed, AMSTERDAM)
    make_device(None, updated=None, cell="")  # no cell, no place: nowhere
    live = make_device(UTRECHT, updated=FRESH)
    assert reached(nationwide=True) == sorted([placed.pk, live.pk])


def test_it_keeps_test_devices_exercise_only_by_their_places_too(make_device, manager):
    citizen = make_device(None, updated=None, cell="")
    staff = make_device(None, updated=None, cell="", test=True)
    add_place(citizen, UTRECHT)
    add_place(staff, UTRECHT)
    assert reached() == [citizen.pk]
    assert reached(exercise=True) == [staff.pk]
    assert reached(nationwide=True) == [citizen.pk]
    # Marking a device a test device after it chose its places moves them with it.
    device_services.device_set_test(device=citizen, is_test_device=True, by=manager)
    assert reached() == []
    assert reached(exercise=True) == sorted([citizen.pk, staff.pk])


def test_an_update_reaches_a_newcomer_by_its_place_and_the_reached_once(make_device):
    before = make_device(UTRECHT, updated=FRESH)
    newcomer = make_device(None, updated=None, cell="")
    add_place(newcomer, UTRECHT)
    add_place(before, UTRECHT)
    target = Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS)
    ids = targeting.in_area_or_alerted(target, channel=Channel.WEBPUSH, at=NOW, message_ids=[])
    assert sorted(ids) == sorted([before.pk, newcomer.pk])


def test_a_release_sends_one_push_to_a_device_in_the_circle_by_cell_and_place(
    make_device, draft_mn, operator_mn
):
    both = make_device(UTRECHT, updated=FRESH, cell=cell_of(UTRECHT))
    add_place(both, UTRECHT)
    only_place = make_device(UTRECHT, updated=STALE, cell=cell_of(UTRECHT))
    add_place(only_place, point_at(UTRECHT, 1_000, 180))
    outside = make_device(None, updated=None, cell="")
    add_place(outside, AMSTERDAM)
    sent = services.action_release(action=draft_mn, by=operator_mn, at=NOW)
    pushes = Delivery.objects.filter(message=sent.message, channel=Channel.WEBPUSH)
    assert sorted(pushes.values_list("device_id", flat=True)) == sorted([both.pk, only_place.pk])
    assert sent.queued["webpush"] == 2


def test_a_push_ceiling_keeps_the_devices_nearest_by_live_cell_or_place(make_device, db):
    from datetime import date

    from apps.channels.models import CeilingStep

    far_live = make_device(point_at(UTRECHT, 1_800, 0), updated=FRESH)
    near_place = make_device(None, updated=None, cell="")
    add_place(near_place, UTRECHT)
    stale_near = make_device(UTRECHT, updated=NOW - timedelta(days=3))
    add_place(stale_near, point_at(UTRECHT, 1_000, 180))  # its place counts, not its old cell
    CeilingStep.objects.create(channel="webpush", starts_on=date(2020, 1, 1), max_recipients=2)
    target = targeting.Target(lat=UTRECHT[0], lon=UTRECHT[1], radius_m=RADIUS)
    kept = list(targeting.nearest_in_area(target, channel="webpush", at=NOW, limit=2))
    assert kept == [near_place.pk, stale_near.pk]
    assert far_live.pk not in kept
