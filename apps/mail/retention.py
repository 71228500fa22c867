"""How long Burgernetmail keeps personal data (bewaartermijnen; governance/retention.py runs
the rules every night).

- "mail_responses": the responses to a mailing (who answered, their contact details, what
  they saw, their photos) go once the mailing was sent longer ago than the period. The
  photo files go with them. The report's figure stays: it is counted on the mailing
  (`Mailing.responses_counted`).
- "mail_delivery_links": the deliveries of a mailing's messages (the mailing's own and a
  crisis message's end message) lose their recipient, participant or device, once the
  mailing ended longer ago than the period. The rows stay, anonymous, so the counts of the
  messages stay right.

When a mailing has ended (`ended`): the outbox sends a delivery to its recipient until the
message expires; a bounce or complaint about an e-mail (channels' webhooks) finds the
participant through the delivery, most likely while a buurtonderzoek can still be answered;
a crisis message's end message goes to exactly those its deliveries reached. So a mailing
ends at the latest of: the expiry of its message (sent + its TTL: three days for e-mail),
for a buurtonderzoek its respond deadline (sent + `response_days`,
links.respond_closes_at), and for a crisis message its end and the expiry of the end
message. A crisis message not yet ended has not ended: its deliveries keep their recipients
until it is (its end message needs them).
"""

from __future__ import annotations

import datetime as dt

from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.channels.models import Delivery
from apps.governance import retention
from apps.web.photos import delete_stored

from .links import respond_closes_at
from .models import Mailing, Response, ResponseEntry

# Rows still in flight are left alone: the outbox needs their recipient to send them (it
# fails them once their message expires, and the next night takes them).
IN_FLIGHT = (Delivery.State.QUEUED, Delivery.State.SENDING)


# Responses ----------------------------------------------------------------------------


def purge_responses(cutoff: dt.datetime) -> int:
    """Delete the responses (with their entries and photo files) of the mailings sent before
    `cutoff`; returns the number of responses deleted."""
    due = Response.objects.filter(mailing__sent_at__lt=cutoff).order_by()
    total = 0
    while True:
        ids = list(due.values_list("pk", flat=True)[: retention.BATCH])
        if not ids:
            return total
        photos = [
            name
            for name in ResponseEntry.objects.filter(response_id__in=ids)
            .exclude(photo="")
            .values_list("photo", flat=True)
            if name
        ]
        total += Response.objects.filter(pk__in=ids).delete()[1].get(Response._meta.label, 0)
        # The rows first: a file left behind by a failure is an orphan, never a row whose
        # photo is missing.
        delete_stored(default_storage, photos)


# Delivery links -----------------------------------------------------------------------


def ended(mailing: Mailing) -> dt.datetime | None:
    """The moment a sent mailing has ended for retention (see the module's docstring);
    None while a crisis message has not been ended."""
    if mailing.sent_at is None:
        return None
    moments = [mailing.sent_at]
    if mailing.is_inquiry:
        moments.append(respond_closes_at(mailing))
    if mailing.message is not None:
        moments.append(mailing.message.expires_at)
    if mailing.is_crisis:
        if mailing.ended_at is None:
            return None
        moments.append(mailing.ended_at)
        if mailing.end_message is not None:
            moments.append(mailing.end_message.expires_at)
    return max(moments)


def purge_delivery_links(cutoff: dt.datetime) -> int:
    """Take the recipient off the deliveries of every mailing that ended before `cutoff`;
    returns the number of deliveries stripped. A mailing done is marked and not looked at
    again; one with rows still in flight is looked at again the next night."""
    # A mailing ends no earlier than it was sent: only those sent before the cutoff, and
    # not yet done, can be due (a few: the ones of the last weeks).
    candidates = Mailing.objects.filter(
        state=Mailing.State.SENT, sent_at__lt=cutoff, delivery_links_removed_at__isnull=True
    ).select_related("message", "end_message")
    total = 0
    for mailing in candidates.iterator(chunk_size=200):
        moment = ended(mailing)
        if moment is None or moment >= cutoff:
            continue
        message_ids = [m for m in (mailing.message_id, mailing.end_message_id) if m]
        rows = (
            Delivery.objects.filter(message_id__in=message_ids)
            .exclude(state__in=IN_FLIGHT)
            .filter(Q(participant__isnull=False) | Q(device__isnull=False))
        )
        total += retention.update_in_batches(rows, participant=None, device=None)
        in_flight = Delivery.objects.filter(message_id__in=message_ids, state__in=IN_FLIGHT)
        if not in_flight.exists():
            Mailing.objects.filter(pk=mailing.pk).update(delivery_links_removed_at=timezone.now())
    return total


RULES = (
    retention.Rule(
        name="mail_responses",
        label=_("Reacties op mailings (met foto's en contactgegevens)"),
        after=_("na het versturen van de mailing"),
        purge=purge_responses,
        order=30,
    ),
    retention.Rule(
        name="mail_delivery_links",
        label=_("Koppeling van bezorgde mailings aan deelnemers en apparaten"),
        after=_(
            "na het einde van de mailing: als de verzending is afgelopen, bij een "
            "buurtonderzoek na de reactietermijn, bij een crisismelding na het beëindigen"
        ),
        purge=purge_delivery_links,
        order=40,
    ),
)
