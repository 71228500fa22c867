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

import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from zoneinfo import ZoneInfo

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Min,
    Q,
    QuerySet,
)

from apps.channels import plan as channel_plan
from apps.channels.models import Channel, Delivery
from apps.governance.geo import (
    haversine_expr,
    in_circle_q,
)
from apps.participants import device_areas, reach
from apps.participants.models import Address, Device, Participant

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
# A device's cell older than this no longer says where the device is.
STALE_AFTER = device_areas.STALE_AFTER
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


# Devices: where they are is participants' rule (participants/device_areas.py) ----------------


def _devices(condition: Q) -> QuerySet:
    return device_areas.devices(condition)


def _area(target: Target) -> dict:
    return {
        "lat": target.lat,
        "lon": target.lon,
        "radius_m": target.radius_m,
        "exercise": target.exercise,
        "nationwide": target.nationwide,
    }


def _devices_in_area(target: Target, at: datetime) -> QuerySet:
    """Ids of the devices in the target's area, each once (device_areas.in_circle)."""
    return device_areas.in_circle(**_area(target), at=at)


def _device_in_area(target: Target, at: datetime) -> Q:
    """The same as a condition on the devices (device_areas.in_circle_q)."""
    return device_areas.in_circle_q(**_area(target), at=at)


def _device_distance(target: Target, at: datetime):
    return device_areas.distance(target.lat, target.lon, at=at, exercise=target.exercise)


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
