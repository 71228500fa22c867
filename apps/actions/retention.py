"""Retention (bewaartermijnen) of what actions keep about people: the rules of this app.

Every period runs from the end of the action: the moment it was ended (ended_at) or
withdrawn (cancelled_at). A running action keeps everything. The report's figures do not
depend on what goes here: tips are counted on the action (Action.tips_counted), and the
figures of the deliveries are kept in governance.DailyFigure (actions/report.py).

- "tips": a citizen's tips on the action, with their photos (the files too).
- "action_photos": the action's photo (the file; the field is cleared). The public page,
  the share card and the displays show a photo only while an action runs.
- "action_delivery_links": the deliveries of the action's messages lose the device and the
  participant they went to (rows still queued or being sent keep them until done).
- "action_delivery_rows": the delivery rows themselves.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from apps.channels.models import Delivery
from apps.governance import retention
from apps.governance.retention import BATCH, delete_in_batches, update_in_batches
from apps.web import photos

from .models import Action, ActionUpdate, EndMessage, Tip

AFTER_END = _("na het einde van de actie (beëindigd of ingetrokken)")


def ended_before(cutoff: dt.datetime) -> QuerySet:
    """The actions that ended (or were withdrawn) before `cutoff`."""
    return Action.objects.filter(Q(ended_at__lt=cutoff) | Q(cancelled_at__lt=cutoff))


def _message_ids_q(actions: QuerySet) -> Q:
    """Deliveries of any message of `actions`: the release, the updates, the end message,
    the correction (as subqueries: no list of ids leaves the database)."""
    return (
        Q(message_id__in=actions.exclude(release_message=None).values("release_message_id"))
        | Q(message_id__in=actions.exclude(cancel_message=None).values("cancel_message_id"))
        | Q(
            message_id__in=ActionUpdate.objects.filter(action__in=actions)
            .exclude(message=None)
            .values("message_id")
        )
        | Q(
            message_id__in=EndMessage.objects.filter(action__in=actions)
            .exclude(message=None)
            .values("message_id")
        )
    )


def purge_tips(cutoff: dt.datetime) -> int:
    """Delete the tips of actions that ended before `cutoff`, their photo files first."""
    tips = Tip.objects.filter(action__in=ended_before(cutoff))
    field = Tip._meta.get_field("photo")
    total = 0
    while True:
        batch = list(tips.values_list("pk", "photo")[:BATCH])
        if not batch:
            return total
        photos.delete_stored(field.storage, [photo for _pk, photo in batch])
        total += delete_in_batches(Tip.objects.filter(pk__in=[pk for pk, _photo in batch]))


def purge_action_photos(cutoff: dt.datetime) -> int:
    """Delete the photo of actions that ended before `cutoff` and clear the field."""
    actions = ended_before(cutoff).exclude(photo="")
    field = Action._meta.get_field("photo")
    total = 0
    while True:
        batch = list(actions.values_list("pk", "photo")[:BATCH])
        if not batch:
            return total
        photos.delete_stored(field.storage, [photo for _pk, photo in batch])
        total += Action.objects.filter(pk__in=[pk for pk, _photo in batch]).update(photo="")


def purge_delivery_links(cutoff: dt.datetime) -> int:
    """The deliveries of actions that ended before `cutoff` lose device and participant."""
    rows = (
        Delivery.objects.filter(_message_ids_q(ended_before(cutoff)))
        .filter(Q(device__isnull=False) | Q(participant__isnull=False))
        .exclude(state__in=[Delivery.State.QUEUED, Delivery.State.SENDING])
    )
    return update_in_batches(rows, device=None, participant=None)


def purge_delivery_rows(cutoff: dt.datetime) -> int:
    """Delete the delivery rows of actions that ended before `cutoff`."""
    return delete_in_batches(Delivery.objects.filter(_message_ids_q(ended_before(cutoff))))


RULES = (
    retention.Rule(
        name="tips",
        label=_("Tips op acties, met hun foto's"),
        after=AFTER_END,
        purge=purge_tips,
        order=10,
    ),
    retention.Rule(
        name="action_photos",
        label=_("Foto's bij acties"),
        after=AFTER_END,
        purge=purge_action_photos,
        order=11,
    ),
    retention.Rule(
        name="action_delivery_links",
        label=_("Koppeling van bezorgingen van acties aan deelnemers en apparaten"),
        after=AFTER_END,
        purge=purge_delivery_links,
        order=12,
    ),
    retention.Rule(
        name="action_delivery_rows",
        label=_("Bezorgingen van acties (de cijfers blijven in het jaarverslag)"),
        after=AFTER_END,
        purge=purge_delivery_rows,
        order=13,
    ),
)


def register() -> None:
    """Called from ActionsConfig.ready()."""
    for rule in RULES:
        retention.register(rule)
