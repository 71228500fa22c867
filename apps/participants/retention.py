"""How long the registration site keeps personal data (bewaartermijnen; governance/retention.py
runs the rules every night).

- "phone_codes": a confirmation code (its keyed hash) goes once it expired longer ago than
  the period. Confirming or asking a new code deletes it earlier (services).
- "manage_links": a manage link's row goes once the link was used, or expired
  (created + tokens.MANAGE_MAX_AGE_S), longer ago than the period.
- "unconfirmed_registrations": a registration whose number was never confirmed goes, with
  its addresses, windows, codes and links (cascades), once it was made longer ago than the
  period. Only whoever holds the phone could have confirmed it.
- "service_messages": the service SMS (channels' Notice: a code, a manage link, "already
  registered") go with their Delivery rows once they expired longer ago than the period. The
  outbox wipes their text at once; what stays tied them to a participant.

Not here: the service SMS budget's counts (ServiceSms) hold no number, only a keyed hash of
it and a moment, and sms_budget.forget_old deletes them after a day (tasks.py); web-app
devices forget their live cell (devices.cells_forget_stale).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.channels.models import Delivery, Notice
from apps.governance import retention

from . import tokens
from .models import ManageLink, Participant, PhoneCode

MANAGE_LINK_VALID_FOR = dt.timedelta(seconds=tokens.MANAGE_MAX_AGE_S)


def purge_phone_codes(cutoff: dt.datetime) -> int:
    return retention.delete_in_batches(PhoneCode.objects.filter(expires_at__lt=cutoff))


def purge_manage_links(cutoff: dt.datetime) -> int:
    """Links used before `cutoff`, or that expired before it (made before cutoff minus
    their validity); a link is used within its validity, so whichever came first."""
    due = ManageLink.objects.filter(
        Q(used_at__lt=cutoff) | Q(created_at__lt=cutoff - MANAGE_LINK_VALID_FOR)
    )
    return retention.delete_in_batches(due)


def purge_unconfirmed_registrations(cutoff: dt.datetime) -> int:
    """Registrations never confirmed, made before `cutoff`, with everything that cascades.

    Not services.participant_delete one by one: that writes an audit entry per deletion (a
    participant's own or staff's act); retention's run writes one entry with the count."""
    return retention.delete_in_batches(
        Participant.objects.filter(phone_confirmed_at__isnull=True, created_at__lt=cutoff)
    )


def purge_service_messages(cutoff: dt.datetime) -> int:
    """Notices that expired before `cutoff`, each with its delivery row; returns the number
    of notices deleted. Rows still in flight are left: the outbox fails them first."""
    in_flight = Delivery.objects.filter(
        message__isnull=True, state__in=(Delivery.State.QUEUED, Delivery.State.SENDING)
    )
    due = Notice.objects.filter(expires_at__lt=cutoff).exclude(
        pk__in=in_flight.filter(notice__expires_at__lt=cutoff).values("notice_id")
    )
    total = 0
    while True:
        ids = list(due.values_list("pk", flat=True).order_by()[: retention.BATCH])
        if not ids:
            return total
        with transaction.atomic():
            # A notice's delivery is the only kind without a message: found through the
            # (message, state) index by `message IS NULL`, not by a scan of every delivery
            # (Delivery.notice has an index for queued rows only).
            Delivery.objects.filter(message__isnull=True, notice_id__in=ids).delete()
            # Their deliveries are gone: the notices need no cascade, which would look for
            # deliveries by notice again, through no index.
            total += Notice.objects.filter(pk__in=ids)._raw_delete(Notice.objects.db)


RULES = (
    retention.Rule(
        name="phone_codes",
        label=_("Bevestigingscodes voor telefoonnummers"),
        after=_("na het verlopen van de code"),
        purge=purge_phone_codes,
        order=50,
    ),
    retention.Rule(
        name="manage_links",
        label=_("Links om een aanmelding te beheren"),
        after=_("na gebruik of verlopen van de link"),
        purge=purge_manage_links,
        order=51,
    ),
    retention.Rule(
        name="unconfirmed_registrations",
        label=_("Aanmeldingen waarvan het nummer nooit is bevestigd"),
        after=_("na de aanmelding"),
        purge=purge_unconfirmed_registrations,
        order=52,
    ),
    retention.Rule(
        name="service_messages",
        label=_("Service-sms'jes (codes en links) en hun bezorging"),
        after=_("na het verlopen van het bericht"),
        purge=purge_service_messages,
        order=53,
    ),
)
