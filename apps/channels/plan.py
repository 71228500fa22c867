"""Which channels a message goes on, and how many recipients each may reach: the channel
settings and the ceiling schedules (models.ChannelSetting, models.CeilingStep), read in
this one place by every path that sends — a release, an update, an end message, a crisis
message.

- A channel is used when it is in use (not paused, not retired) and carries the message's
  kind and urgency. A national alert (AMBER) and a crisis message go on every channel in
  use that carries their kind, whatever urgencies it carries.
- An exercise goes only to staff test devices: web push, when in use.
- A channel's ceiling is the step of its schedule in force on the day (Europe/Amsterdam)
  of sending. A ceiling of 0 leaves the channel out; another caps its recipients, the
  nearest to the incident point first (apps/actions/targeting.py cuts). An AMBER Alert is
  capped too unless the step exempts it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .models import (
    PUBLIC_CHANNELS,
    RECIPIENT_CHANNELS,
    CeilingStep,
    Channel,
    ChannelSetting,
    OutgoingMessage,
)

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
HIGH = OutgoingMessage.Urgency.HIGH.value
NORMAL = OutgoingMessage.Urgency.NORMAL.value

# What a channel does when no manager has set it (and what the migrations write):
# time-critical messages by push, SMS and voice; the others by push and e-mail; webhooks
# and feeds carry every action; displays only missing persons ("fine for missing persons,
# not for in-progress crime").
MISSING_PERSONS = ["amber_alert", "missing_child", "missing_person"]
DEFAULTS: dict[str, dict] = {
    Channel.WEBPUSH.value: {"urgencies": [HIGH, NORMAL]},
    Channel.SMS.value: {"urgencies": [HIGH]},
    Channel.VOICE.value: {"urgencies": [HIGH]},
    Channel.EMAIL.value: {"urgencies": [NORMAL]},
    Channel.WEBHOOK.value: {"urgencies": [HIGH, NORMAL]},
    Channel.DISPLAY.value: {"urgencies": [HIGH, NORMAL], "kinds": MISSING_PERSONS},
    Channel.FEED.value: {"urgencies": [HIGH, NORMAL]},
}

# The 2023 phase-out (annual report 2023): the default schedule, loaded by a migration.
PHASE_OUT_2023 = (
    (Channel.SMS.value, date(2023, 3, 1), 3000, "Afbouw sms: 3.000 per actie"),
    (Channel.SMS.value, date(2023, 6, 1), 1500, "Afbouw sms: 1.500 per actie"),
    (Channel.SMS.value, date(2023, 9, 1), 0, "Sms gestopt"),
    (Channel.VOICE.value, date(2023, 9, 1), 0, "Spraakberichten gestopt"),
)


@dataclass(frozen=True)
class ChannelPlan:
    """The channels a message goes on (in Channel order) and the ceilings of those capped."""

    channels: tuple[str, ...]
    ceilings: dict[str, int] = field(default_factory=dict)

    def ceiling(self, channel: str) -> int | None:
        return self.ceilings.get(str(channel))


def plan_for(
    *,
    kind: str,
    urgent: bool,
    at: datetime,
    everywhere: bool = False,
    amber: bool = False,
    exercise: bool = False,
) -> ChannelPlan:
    """The plan for a message of `kind` sent at `at`. `everywhere`: every channel that
    carries the kind, whatever its urgencies (a national alert, a crisis message);
    `amber`: held to the ceilings only where a step does not exempt AMBER Alerts."""
    settings = settings_by_channel()
    if exercise:
        push = settings[Channel.WEBPUSH.value]
        return ChannelPlan((Channel.WEBPUSH.value,) if push.in_use else ())
    urgency = None if everywhere else (HIGH if urgent else NORMAL)
    steps = steps_in_force(local_date(at))
    channels, ceilings = [], {}
    for channel in (c.value for c in RECIPIENT_CHANNELS):
        if not settings[channel].carries(kind=kind, urgency=urgency):
            continue
        step = steps.get(channel)
        if step is not None and step.applies_to(amber=amber):
            if step.max_recipients == 0:
                continue
            ceilings[channel] = step.max_recipients
        channels.append(channel)
    return ChannelPlan(tuple(channels), ceilings)


def publishes(channel: str, *, kind: str, urgent: bool) -> bool:
    """Whether a public channel (webhooks, displays, feeds) carries an action of `kind`
    now: in use, and for its kind and urgency. (No ceilings: nobody is reached one by one.)"""
    if channel not in PUBLIC_CHANNELS:
        raise ValueError(f"{channel!r} is not a public channel")
    return settings_by_channel()[channel].carries(kind=kind, urgency=HIGH if urgent else NORMAL)


def published_kinds(channel: str) -> list[str] | None:
    """The kinds a public channel carries now: None for every kind, [] when not in use
    (for a query: displays list only the actions of these kinds)."""
    setting = settings_by_channel()[channel]
    if not setting.in_use:
        return []
    return list(setting.kinds) or None


def settings_by_channel() -> dict[str, ChannelSetting]:
    """Every channel's setting; a channel without a row has its default (unsaved)."""
    found = {setting.channel: setting for setting in ChannelSetting.objects.all()}
    return {
        channel: found.get(channel) or ChannelSetting(channel=channel, **DEFAULTS[channel])
        for channel in Channel.values
    }


def steps_in_force(day: date) -> dict[str, CeilingStep]:
    """Per channel, the step of its schedule in force on `day` (channels without: none)."""
    steps = {}
    for step in CeilingStep.objects.filter(starts_on__lte=day).order_by("channel", "starts_on"):
        steps[step.channel] = step  # the latest start wins
    return steps


def local_date(at: datetime) -> date:
    if at.tzinfo is None:
        raise ValueError("the channel plan needs an aware datetime")
    return at.astimezone(LOCAL_TZ).date()
