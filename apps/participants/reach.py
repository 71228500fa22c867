"""Who may be reached, on which channel, at a moment: the rules of reachability, each
written once as a query condition here, beside its Python twin on the model.

Actions' targeting, the reach estimate and Burgernetmail's selection build their queries
from these conditions; a sender's last check before sending asks the model (for e-mail,
Participant.may_receive_email). The tests hold each condition and its twin to the same
answer over the same participants (tests/participants/test_reach.py).

| rule | condition | Python twin |
|---|---|---|
| registration complete | `registered()` | `Participant.is_confirmed` |
| chose the channel | `chose(channel)` | `Participant.chose(channel)` |
| e-mail may be sent | `email_open()` | `Participant.may_receive_email` |
| quiet hours | `quiet(local)` | `Participant.is_quiet_at(time)` |
| when they end | `quiet_hours_ends(ids, local)` | — |
| address active | `active_addresses(qs, local)` | `Address.is_active_at(local)` |
| alerted by an action | `alertable(channel, local)` | `Participant.may_be_alerted(…)` |

`address_alertable` asks `alertable` of an address instead of its participant: the
database copies each participant's reachability onto its addresses (triggers of migration
participants/0007), so a reach estimate counts addresses alone.
"""

from datetime import datetime, time, timedelta

from django.db.models import F, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractMinute

from apps.channels.models import Channel

from . import schedule

PHONE_CHANNELS = (Channel.SMS, Channel.VOICE)
# What a participant chooses to be alerted by, per channel (the app's devices are reached
# by where they are, not by a choice stored here).
CHOICE_FIELDS = {
    Channel.SMS: "wants_sms",
    Channel.VOICE: "wants_voice",
    Channel.EMAIL: "wants_email",
}


def registered() -> Q:
    """The registration is complete: the phone number is confirmed."""
    return Q(phone_confirmed_at__isnull=False)


def chose(channel: str) -> Q:
    """The participant chose `channel` (SMS, voice or e-mail)."""
    try:
        return Q(**{CHOICE_FIELDS[channel]: True})
    except KeyError:
        raise ValueError(f"participants are not reached on channel {channel!r}") from None


def email_open() -> Q:
    """A confirmed e-mail address that no bounce, complaint or unsubscribe has blocked."""
    return ~Q(email="") & Q(email_confirmed_at__isnull=False, email_suppressed_at__isnull=True)


def quiet(local: datetime) -> Q:
    """Within the participant's quiet hours at `local` (to the minute); an end at or before
    the start runs over midnight."""
    now = minute_of(local)
    return Q(quiet_start__isnull=False, quiet_end__isnull=False) & (
        Q(quiet_start__lte=F("quiet_end")) & Q(quiet_start__lte=now, quiet_end__gt=now)
        | Q(quiet_start__gt=F("quiet_end")) & (Q(quiet_start__lte=now) | Q(quiet_end__gt=now))
    )


def reachable(channel: str) -> Q:
    """May be sent to on `channel`, whatever the hour: registered, chose it, and for
    e-mail an open address."""
    condition = registered() & chose(channel)
    if channel == Channel.EMAIL:
        condition &= email_open()
    return condition


def alertable(channel: str, local: datetime) -> Q:
    """May be alerted on `channel` at `local`: reachable, and for SMS and voice not in the
    quiet hours (the app and e-mail do not ring)."""
    condition = reachable(channel)
    if channel in PHONE_CHANNELS:
        condition &= ~quiet(local)
    return condition


ADDRESS_REACH_FIELDS = {
    Channel.SMS: "reach_sms",
    Channel.VOICE: "reach_voice",
    Channel.EMAIL: "reach_email",
}


def address_alertable(channel: str, local: datetime) -> Q:
    """alertable(channel, local), asked of Address rows: reachable() as the database copied
    it onto the address, and the participant's quiet hours, copied too."""
    try:
        condition = Q(**{ADDRESS_REACH_FIELDS[channel]: True})
    except KeyError:
        raise ValueError(f"participants are not reached on channel {channel!r}") from None
    if channel in PHONE_CHANNELS:
        condition &= ~quiet(local)
    return condition


def active_addresses(addresses: QuerySet, local: datetime) -> QuerySet:
    """Of `addresses`, those active at `local`: always, or by a window that covers it, as
    schedule.is_active_at counts on minutes: a window started today and not ended yet, or
    one started yesterday that runs over midnight and has not ended yet.

    The windows are joined rather than asked with EXISTS, so the database reads only the
    windows of the addresses asked about (an address with two windows may come twice; the
    callers want participant ids, where that does not matter).
    """
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    return addresses.alias(
        w_start=ExtractHour("windows__start") * 60 + ExtractMinute("windows__start"),
        w_end=ExtractHour("windows__end") * 60 + ExtractMinute("windows__end"),
        w_today=F("windows__days").bitand(schedule.days_to_mask([weekday])),
        w_yesterday=F("windows__days").bitand(schedule.days_to_mask([(weekday - 1) % 7])),
    ).filter(
        Q(always_active=True)
        | Q(w_today__gt=0, w_start__lte=minute) & (Q(w_end__gt=minute) | Q(w_end__lte=F("w_start")))
        | Q(w_yesterday__gt=0, w_end__lte=F("w_start"), w_end__gt=minute)
    )


def minute_of(local: datetime) -> time:
    """The time of day to the minute: windows and quiet hours are kept in whole minutes."""
    return time(local.hour, local.minute)


def quiet_hours_ends(participant_ids, local: datetime) -> dict[datetime, QuerySet]:
    """Of `participant_ids`, those in their quiet hours at `local` (an aware local moment),
    by the moment their quiet hours end: {end: ids}. A follow-up by SMS or voice (an end
    message) waits until then rather than ringing in them."""
    now = minute_of(local)
    from .models import Participant  # the models import this module's rules

    quiet_ones = Participant.objects.filter(quiet(local), pk__in=participant_ids)
    ends = {}
    for end in quiet_ones.order_by().values_list("quiet_end", flat=True).distinct():
        day = local.date() if end > now else local.date() + timedelta(days=1)
        ends[datetime.combine(day, end, tzinfo=local.tzinfo)] = quiet_ones.filter(
            quiet_end=end
        ).values_list("pk", flat=True)
    return ends
