"""What actions add to the annual report (jaarverslag): the collectors of their figures.

Both collectors count an action, and everything of it, on the local day it was released
(governance/reporting.py), in the scopes of its incident point: the country, the action's
police unit and the municipality of the point (Action.municipality).

Which actions count: released ones (released_at set) that are not exercises. A withdrawn
action (ingetrokken) went out, so it counts among the actions, its reactions and its
messages; it has no outcome, so it never counts among the results or the actions where
participants' information contributed. A draft never counts.

"actions": the actions per kind, the time-critical ones, those with a reaction (a tip
received or a telephone reaction registered), those where participants' information
contributed, the result per "kind:result" (ended actions), and the reactions ("tips",
"calls"). Tips are counted on the action when they come in (Action.tips_counted), so these
figures never depend on Tip rows, which retention deletes: the collector has no horizon,
and an outcome corrected long after the end (services.action_outcome_set marks the day
stale) is counted again correctly. The end and the withdrawal mark the release day stale
for both collectors, and so does a tip once the release day has left the hourly window:
an action that ran for longer than REPORT_REFRESH_DAYS is still counted in full.

"action_messages": the deliveries of every message of the action (the release, each
update, the end message, the correction), per channel: sent (every row not stopped),
delivered and opened. Delivered is what the channel can tell:
  - sms, voice, email: the service's receipt says "delivered" (the SMS and voice
    gateways' delivery reports, the e-mail service's tracking webhooks; an answered call
    is delivered);
  - webpush, webhook: no receipts come back; a row sent (the push service or the
    partner's endpoint accepted it) counts as delivered.
Opened: the web app reported the push opened. Delivery rows are deleted by retention
("action_delivery_rows"), so this collector's days are counted again only within that
period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Q

from apps.channels.models import CHANNELS_WITH_RECEIPTS, Delivery
from apps.governance import reporting

from .models import Action, ActionUpdate, EndMessage

ACTIONS = "actions"
MESSAGES = "action_messages"

ACTION_METRICS = (
    "actions",
    "actions_tc",
    "actions_reacted",
    "actions_tc_reacted",
    "actions_contributed",
    "actions_tc_contributed",
    "actions_result",
    "reactions",
)
MESSAGE_METRICS = ("messages", "messages_delivered", "messages_opened")


# Message ids per query: few enough that PostgreSQL reads their rows along the (message,
# state) index (at 500 it planned a scan of the whole table: 5 s a query on 60 million
# rows, against 50 ms; docs/benchmarks.md), and below SQLite's 999 parameters.
ID_BATCH = 100


def counted_actions(first: dt.date, last: dt.date):
    """The actions the report counts on the days first..last: released then, not exercises."""
    start, end = reporting.day_bounds(first, last)
    return Action.objects.filter(
        released_at__gte=start,
        released_at__lt=end,
        is_exercise=False,
        state__in=[Action.State.RELEASED, Action.State.ENDED, Action.State.CANCELLED],
    )


def _where(row: dict) -> tuple[dt.date, list[str]]:
    day = reporting.local_day(row["released_at"])
    scopes = reporting.scopes(municipality_id=row["municipality_id"], unit_id=row["police_unit_id"])
    return day, scopes


def count_actions(first: dt.date, last: dt.date) -> Iterator[reporting.Row]:
    rows = counted_actions(first, last).values(
        "released_at",
        "municipality_id",
        "police_unit_id",
        "kind",
        "state",
        "is_time_critical",
        "result",
        "information_contributed",
        "calls_registered",
        "tips_counted",
    )
    for row in rows:
        day, scopes = _where(row)
        kind = row["kind"]
        urgent = row["is_time_critical"]
        reacted = row["tips_counted"] > 0 or row["calls_registered"] > 0
        ended = row["state"] == Action.State.ENDED
        contributed = ended and row["information_contributed"] is True
        figures = [("actions", kind, 1)]
        if urgent:
            figures.append(("actions_tc", kind, 1))
        if reacted:
            figures.append(("actions_reacted", kind, 1))
            if urgent:
                figures.append(("actions_tc_reacted", kind, 1))
        if contributed:
            figures.append(("actions_contributed", kind, 1))
            if urgent:
                figures.append(("actions_tc_contributed", kind, 1))
        if ended and row["result"]:
            figures.append(("actions_result", f"{kind}:{row['result']}", 1))
        figures.append(("reactions", "tips", row["tips_counted"]))
        figures.append(("reactions", "calls", row["calls_registered"]))
        for scope in scopes:
            for metric, key, value in figures:
                yield day, scope, metric, key, value


def _message_places(first: dt.date, last: dt.date) -> dict[int, tuple[dt.date, list[str]]]:
    """Every message of the actions counted on first..last → the day and scopes it counts in."""
    actions = counted_actions(first, last)
    places: dict[int, tuple[dt.date, list[str]]] = {}
    where: dict[int, tuple[dt.date, list[str]]] = {}
    for row in actions.values(
        "pk",
        "released_at",
        "municipality_id",
        "police_unit_id",
        "release_message_id",
        "cancel_message_id",
    ):
        where[row["pk"]] = _where(row)
        for message_id in (row["release_message_id"], row["cancel_message_id"]):
            if message_id:
                places[message_id] = where[row["pk"]]
    for model in (ActionUpdate, EndMessage):
        pairs = (
            model.objects.filter(action__in=actions)
            .exclude(message=None)
            .values_list("action_id", "message_id")
        )
        for action_id, message_id in pairs:
            places[message_id] = where[action_id]
    return places


def count_messages(first: dt.date, last: dt.date) -> Iterator[reporting.Row]:
    places = _message_places(first, last)
    ids = sorted(places)
    for n in range(0, len(ids), ID_BATCH):
        # Along the (message, state) index: per message, channel, state and receipt.
        rows = (
            Delivery.objects.filter(message_id__in=ids[n : n + ID_BATCH])
            .values("message_id", "channel", "state", "receipt")
            .annotate(n=Count("pk"), opened=Count("pk", filter=Q(opened_at__isnull=False)))
            .order_by()
        )
        for row in rows:
            if row["state"] == Delivery.State.CANCELLED:
                continue
            day, scopes = places[row["message_id"]]
            channel = row["channel"]
            if channel in CHANNELS_WITH_RECEIPTS:
                delivered = row["receipt"] == Delivery.Receipt.DELIVERED
            else:
                delivered = row["state"] == Delivery.State.SENT
            for scope in scopes:
                yield day, scope, "messages", channel, row["n"]
                if delivered:
                    yield day, scope, "messages_delivered", channel, row["n"]
                yield day, scope, "messages_opened", channel, row["opened"]


def register() -> None:
    """Called from ActionsConfig.ready()."""
    reporting.register(reporting.Collector(ACTIONS, ACTION_METRICS, count_actions))
    reporting.register(
        reporting.Collector(
            MESSAGES,
            MESSAGE_METRICS,
            count_messages,
            horizon_days=settings.RETENTION_DAYS["action_delivery_rows"] - 1,
        )
    )
