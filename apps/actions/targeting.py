"""Who an action reaches: id querysets of participants and devices for the outbox's INSERT … SELECT.

Participants are reached by their registered addresses: an address inside the circle whose
time window is active at the moment of sending, on a channel they chose. Web-app devices are
reached by their area cell. Geometry is plain latitude/longitude: an indexed bounding box
narrows the rows, the haversine formula in SQL decides — the same on SQLite and PostgreSQL
(SQLite 3.35+ has SIN, COS, RADIANS and POWER built in; Django adds them where it has not).

Two choices, for whoever reads the numbers:

- Time windows are read in Europe/Amsterdam local time, to the minute, exactly as
  apps/participants/schedule.py does: a window belongs to the day it starts on, so a Sunday
  22:00–06:00 window is active on Monday at 05:59.
- Quiet hours (stille uren) hold off SMS and voice calls, also for time-critical actions:
  that is what the citizen was promised when setting them ("tussen deze tijden sturen wij u
  geen sms en bellen wij u niet"). E-mail and web push are not held off. Follow-up messages
  (updates, end messages, corrections) keep to the quiet hours too.

Who may be reached on a channel at a moment (registration, choice, a blocked e-mail
address, quiet hours, active windows) is participants' rule: apps/participants/reach.py.
Here: where, and which messages reached whom.
"""

import math
import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, Length
from django.db.models.lookups import Exact, LessThanOrEqual

from apps.channels import plan as channel_plan
from apps.channels.models import Channel, Delivery
from apps.governance.geo import (
    EARTH_RADIUS_M,
    box_q,
    haversine_expr,
    haversine_limit,
    in_circle_q,
)
from apps.participants import cells, reach
from apps.participants.devices import CELL_MAX_AGE
from apps.participants.models import Address, Device, DevicePlace, Participant

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
# A device's cell older than this no longer says where the device is (the web app's own
# rule: such cells are also forgotten by a periodic task).
STALE_AFTER = CELL_MAX_AGE
# Deliveries that did not reach their recipient: stopped before sending, or failed for good.
NOT_DELIVERED = (Delivery.State.CANCELLED, Delivery.State.FAILED)


@dataclass(frozen=True)
class Target:
    """Where and how an action reaches people: its circle (or the whole country) and mode."""

    lat: float
    lon: float
    radius_m: float
    time_critical: bool = True
    nationwide: bool = False
    exercise: bool = False
    kind: str = ""

    @classmethod
    def of(cls, action) -> "Target":
        return cls(
            lat=action.lat,
            lon=action.lon,
            radius_m=action.radius_m,
            time_critical=action.is_time_critical,
            nationwide=action.is_nationwide,
            exercise=action.is_exercise,
            kind=action.kind,
        )

    def plan(self, at: datetime) -> channel_plan.ChannelPlan:
        """The channels a message sent at `at` goes on, and their ceilings (the channel
        settings: apps/channels/plan.py). A nationwide alert goes on every channel that
        carries its kind."""
        return channel_plan.plan_for(
            kind=self.kind,
            urgent=self.time_critical,
            at=at,
            everywhere=self.nationwide,
            amber=self.nationwide,
            exercise=self.exercise,
        )


# Public querysets --------------------------------------------------------------------------


def devices_in_circle(
    *, lat: float, lon: float, radius_m: float, now: datetime, exercise: bool = False
) -> QuerySet:
    """Ids of the devices whose fresh area cell or one of whose fixed places touches the
    circle. Test devices of staff get exercises and only exercises."""
    target = Target(lat=lat, lon=lon, radius_m=radius_m, exercise=exercise)
    return _devices_in_area(target, now)


def in_area(target: Target, *, channel: str, at: datetime) -> QuerySet:
    """Ids of who is in the target's area now on `channel` (devices for web push)."""
    if channel == Channel.WEBPUSH:
        return _devices_in_area(target, at)
    return _participants_in(target, channel, at)


def in_area_by_channel(target: Target, *, channels, at: datetime) -> QuerySet:
    """The participants in the target's area who get the message on at least one of
    `channels` (SMS, voice, e-mail), as `in_area` decides per channel: their ids and one
    boolean column per channel, `to_<channel>`, for outbox.enqueue_by_choice. One address
    query for all channels instead of one per channel."""
    local = _local(at)
    wanted = {channel: reach.alertable(channel, local) for channel in channels}
    return (
        Participant.objects.filter(
            reduce(operator.or_, wanted.values()) & _participant_in_area(target, local)
        )
        .order_by()
        .annotate(
            **{
                f"to_{channel}": ExpressionWrapper(condition, output_field=BooleanField())
                for channel, condition in wanted.items()
            }
        )
        .values("pk", *(f"to_{channel}" for channel in channels))
    )


def alerted(*, message_ids, channel: str, at: datetime) -> QuerySet:
    """Ids of the recipients that earlier messages (`message_ids`) reached or are reaching
    on `channel`, as far as they still want that channel (a citizen who has since turned
    SMS off gets no follow-up by SMS). Quiet hours do not leave anyone out: the follow-up
    waits for their end (see quiet_hours_ends)."""
    reached = _reached(message_ids, channel)
    if channel == Channel.WEBPUSH:
        return _devices(Q(pk__in=reached))
    return _participants(reach.reachable(channel) & Q(pk__in=reached))


def quiet_hours_ends(participant_ids, *, at: datetime) -> dict[datetime, QuerySet]:
    """Of `participant_ids`, those in their quiet hours at `at`, by the moment (aware) their
    quiet hours end: {end: ids} (participants' rule, reach.quiet_hours_ends)."""
    return reach.quiet_hours_ends(participant_ids, _local(at))


def in_area_or_alerted(target: Target, *, channel: str, at: datetime, message_ids) -> QuerySet:
    """Everyone `alerted` by earlier messages, and newcomers now in the area (an update)."""
    reached = Q(pk__in=_reached(message_ids, channel))
    if channel == Channel.WEBPUSH:
        return _devices(reached | _device_in_area(target, at))
    local = _local(at)
    return _participants(
        reach.alertable(channel, local) & (reached | _participant_in_area(target, local))
    )


@dataclass(frozen=True)
class ChannelReach:
    """What a release would do on one channel: how many are in the area on it (`found`),
    its ceiling that day, and so how many get the message and how many the ceiling cuts
    (the farthest from the incident point)."""

    channel: str
    found: int
    ceiling: int | None = None

    @property
    def sent(self) -> int:
        return self.found if self.ceiling is None else min(self.found, self.ceiling)

    @property
    def cut(self) -> int:
        return self.found - self.sent


def estimate_reach(target: Target, *, at: datetime) -> dict[str, ChannelReach]:
    """What a release of `target` at `at` would reach, per channel it would use (the
    channel settings and the ceilings of that day: Target.plan).

    Counts only, over the same conditions as the release: one query over the addresses (a
    count of participants per channel), one for the devices.
    """
    plan = target.plan(at)
    local = _local(at)
    by_address = [channel for channel in plan.channels if channel != Channel.WEBPUSH]
    counts = {}
    if by_address:
        # Counted on the addresses alone: each carries its participant's reachability
        # (reach.address_alertable), so no participant row is read.
        counts = (
            _addresses_in_area(target, local)
            .order_by()
            .aggregate(
                **{
                    str(channel): Count(
                        "participant_id",
                        distinct=True,
                        filter=reach.address_alertable(channel, local),
                    )
                    for channel in by_address
                }
            )
        )
    if Channel.WEBPUSH in plan.channels:
        counts[str(Channel.WEBPUSH)] = in_area(target, channel=Channel.WEBPUSH, at=at).count()
    return {
        str(channel): ChannelReach(str(channel), counts[str(channel)], plan.ceiling(channel))
        for channel in plan.channels
    }


def nearest_in_area(target: Target, *, channel: str, at: datetime, limit: int) -> QuerySet:
    """Ids of at most `limit` of those in the target's area on `channel` (as `in_area`),
    the nearest to the incident point first: a ceiling's cut. A participant is as near as
    the nearest of their addresses that counts; a device as its area cell."""
    point = (target.lat, target.lon)
    if channel == Channel.WEBPUSH:
        return (
            Device.objects.filter(pk__in=_devices_in_area(target, at))
            .annotate(distance=_device_distance(target, at))
            .order_by("distance", "pk")
            .values_list("pk", flat=True)[:limit]
        )
    local = _local(at)
    return (
        _addresses_in_area(target, local)
        .filter(reach.address_alertable(channel, local))
        .values("participant_id")
        .annotate(distance=Min(haversine_expr("lat", "lon", *point)))
        .order_by("distance", "participant_id")
        .values_list("participant_id", flat=True)[:limit]
    )


def nearest_first(
    ids: QuerySet, target: Target, *, channel: str, limit: int, at: datetime
) -> QuerySet:
    """Of the recipients `ids` (participants, or devices for web push), at most `limit`,
    the nearest to the incident point first (a participant by their nearest address, a
    device by its fresh live cell or its nearest fixed place)."""
    point = (target.lat, target.lon)
    if channel == Channel.WEBPUSH:
        return (
            Device.objects.filter(pk__in=ids)
            .annotate(distance=_device_distance(target, at))
            .order_by(F("distance").asc(nulls_last=True), "pk")
            .values_list("pk", flat=True)[:limit]
        )
    return (
        Address.objects.filter(participant_id__in=ids)
        .values("participant_id")
        .annotate(distance=Min(haversine_expr("lat", "lon", *point)))
        .order_by("distance", "participant_id")
        .values_list("participant_id", flat=True)[:limit]
    )


# Participants ------------------------------------------------------------------------------


def _participants_in(target: Target, channel: str, at: datetime) -> QuerySet:
    local = _local(at)
    return _participants(reach.alertable(channel, local) & _participant_in_area(target, local))


def _participants(condition: Q) -> QuerySet:
    # Unordered: the outbox inserts from it and the estimate counts it.
    return Participant.objects.filter(condition).order_by().values_list("pk", flat=True)


def _participant_in_area(target: Target, local: datetime) -> Q:
    """Has an address in the target's area that is active at `local`."""
    return Q(pk__in=_addresses_in_area(target, local).values("participant_id"))


def _addresses_in_area(target: Target, local: datetime) -> QuerySet:
    """The addresses in the target's area that are active at `local` (an address with two
    windows may come twice)."""
    if target.exercise:
        return Address.objects.none()  # exercises never reach citizens
    addresses = Address.objects.all()
    if not target.nationwide:
        addresses = addresses.filter(
            in_circle_q("lat", "lon", target.lat, target.lon, target.radius_m)
        )
    return reach.active_addresses(addresses, local)


# Devices -----------------------------------------------------------------------------------


def _devices(condition: Q) -> QuerySet:
    return Device.objects.filter(condition).order_by().values_list("pk", flat=True)


def _devices_in_area(target: Target, at: datetime) -> QuerySet:
    """Ids of the devices in the target's area (as _device_in_area decides), each once.

    The devices whose fresh live cell is in the area, read by the devices' covering index
    alone as before fixed places, UNION the devices of the places in the area, read by the
    places' covering index alone; the UNION counts a device once. Not one condition
    `live OR id IN (places)` on the devices: PostgreSQL then no longer uses the box on the
    devices' index and reads all of it. Measured on 2M devices and 433k places
    (PostgreSQL 15, 2 CPUs): a 7.2 km circle 9 ms before places, 15–18 ms this way, 0.4 s
    as one condition; 25 km 45 → 85–110 ms; the whole country 0.4 → 1.1 s."""
    places = DevicePlace.objects.filter(is_test_device=target.exercise)
    fresh = _fresh_device(at, target.exercise)
    if not target.nationwide:
        touches = _cell_touches(target.lat, target.lon, target.radius_m)
        places, fresh = places.filter(touches), fresh & touches
    return _devices(fresh).union(places.order_by().values_list("device_id", flat=True))


def _device_in_area(target: Target, at: datetime) -> Q:
    """A device whose fresh live cell is in the target's area, or one of whose fixed places
    is (a place does not go stale, so it counts also when the live cell is stale or gone).
    Test devices of staff get exercises and only exercises.

    As a condition on the devices, for where it is combined with others (an update's
    "reached before, or in the area now"); in_area and devices_in_circle select by
    _devices_in_area, which is faster."""
    kind = Q(is_test_device=target.exercise)
    if target.nationwide:
        # Every device is read anyway. EXISTS, not IN: a hashed IN list that outgrows
        # work_mem is scanned once per device; the EXISTS probes the (device, cell) index,
        # and only for devices without a fresh cell.
        places = DevicePlace.objects.filter(device=OuterRef("pk"))
        return kind & (_fresh_device(at, target.exercise) | Q(Exists(places)))
    touches = _cell_touches(target.lat, target.lon, target.radius_m)
    placed = DevicePlace.objects.filter(touches, is_test_device=target.exercise)
    return kind & (
        (_fresh_device(at, target.exercise) & touches) | Q(pk__in=placed.values("device_id"))
    )


def _device_distance(target: Target, at: datetime):
    """How near a device is to the incident point (haversine_expr's term, which orders as
    the distance does): the nearer of its fresh live cell and its nearest fixed place."""
    point = (target.lat, target.lon)
    live = Case(
        When(
            _fresh_device(at, target.exercise), then=haversine_expr("cell_lat", "cell_lon", *point)
        ),
        default=None,
        output_field=FloatField(),
    )
    place = Subquery(
        DevicePlace.objects.filter(device=OuterRef("pk"))
        .annotate(distance=haversine_expr("cell_lat", "cell_lon", *point))
        .order_by("distance")
        .values("distance")[:1],
        output_field=FloatField(),
    )
    # Least of two: on SQLite MIN(x, NULL) is NULL, so each side falls back to the other.
    return Least(Coalesce(live, place), Coalesce(place, live))


def _fresh_device(now: datetime, exercise: bool) -> Q:
    return Q(
        cell_lat__isnull=False,
        cell_lon__isnull=False,
        cell_updated_at__gte=now - STALE_AFTER,
        is_test_device=exercise,
    )


def _cell_touches(lat: float, lon: float, radius_m: float) -> Q:
    """The cell's centre within the radius plus half the cell's diagonal (per precision).

    On a device's live cell and on a fixed place alike: both name their fields `cell`,
    `cell_lat` and `cell_lon`."""
    # Cells are widest on the side of the circle nearest the equator.
    edge_lat = abs(lat) - math.degrees(radius_m / EARTH_RADIUS_M)
    reach = {
        precision: radius_m + cells.cell_half_diagonal_m(precision, edge_lat)
        for precision in range(cells.MIN_PRECISION, cells.MAX_PRECISION + 1)
    }
    limit = Case(
        *(
            When(Exact(Length("cell"), precision), then=Value(haversine_limit(reach_m)))
            for precision, reach_m in reach.items()
        ),
        default=Value(-1.0),  # other precisions: never
        output_field=FloatField(),
    )
    within = LessThanOrEqual(haversine_expr("cell_lat", "cell_lon", lat, lon), limit)
    return box_q("cell_lat", "cell_lon", lat, lon, max(reach.values())) & Q(within)


# Geometry and time -------------------------------------------------------------------------


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("targeting needs an aware datetime")
    return at.astimezone(LOCAL_TZ)


def _reached(message_ids, channel: str) -> QuerySet:
    field = "device_id" if channel == Channel.WEBPUSH else "participant_id"
    return (
        Delivery.objects.filter(message_id__in=message_ids, channel=channel)
        .exclude(state__in=NOT_DELIVERED)
        .values(field)
    )
