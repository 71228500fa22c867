"""What the e-mail services report after sending, through anymail's tracking webhooks.

anymail checks each webhook's basic auth or signature (ANYMAIL WEBHOOK_SECRET, or the
service's signing key) and sends its `tracking` signal; `record_tracking_event` finds the
delivery by the message id the sender stored and writes down the service's word on it. A
hard bounce, a spam complaint or an unsubscribe at the service stops all mail to the
address (Participant.email_suppressed_at) until the participant confirms it again.

Only the configured service's tracking webhook answers (`configured_service`, from
EMAIL_BACKEND), and only while its secret is set (`webhook_secret`): anymail would
otherwise take an unauthenticated report (with a warning) and a forged bounce would stop
someone's mail, and the other services' views, unconfigured, fail on any request. The
rest of anymail's webhook URLs answer 404 (`only_when_configured`, urls.py).
"""

import functools
import logging
from collections.abc import Callable

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from .models import Channel, Delivery

logger = logging.getLogger(__name__)

Receipt = Delivery.Receipt

# anymail's event types that say something about delivery; opens and clicks do not count.
RECEIPTS = {
    EventType.DEFERRED: Receipt.DEFERRED,
    EventType.DELIVERED: Receipt.DELIVERED,
    EventType.BOUNCED: Receipt.BOUNCED,
    EventType.REJECTED: Receipt.REJECTED,
    EventType.FAILED: Receipt.REJECTED,
    EventType.UNSUBSCRIBED: Receipt.UNSUBSCRIBED,
    EventType.COMPLAINED: Receipt.COMPLAINED,
}
# A later, weaker report does not overwrite a stronger one (webhooks arrive in any order):
# "delivered" after a complaint keeps the complaint; a bounce after "delayed" replaces it.
RANK = {
    "": 0,
    Receipt.DEFERRED: 1,
    Receipt.DELIVERED: 2,
    Receipt.BOUNCED: 3,
    Receipt.REJECTED: 3,
    Receipt.UNSUBSCRIBED: 4,
    Receipt.COMPLAINED: 5,
}
# Bounces the service itself calls temporary, which anymail still reports as "bounced"
# (Mailgun's temporary failures it already reports as "deferred").
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError"}  # Postmark's Type


def is_soft_bounce(event: AnymailTrackingEvent) -> bool:
    raw = event.esp_event
    if not isinstance(raw, dict):
        return False
    if raw.get("Type") in SOFT_BOUNCE_TYPES:  # Postmark
        return True
    bounce = raw.get("bounce")
    return isinstance(bounce, dict) and bounce.get("bounceType") == "Transient"  # Amazon SES


def suppression_reason(event: AnymailTrackingEvent, receipt: str) -> str:
    """Why no more mail should go to the address ("" when it still may)."""
    if receipt == Receipt.COMPLAINED:
        return "complained"
    if receipt == Receipt.UNSUBSCRIBED:
        return "unsubscribed"
    if receipt == Receipt.BOUNCED and not is_soft_bounce(event):
        return "bounced"
    if receipt == Receipt.REJECTED and event.reject_reason in (
        RejectReason.BOUNCED,
        RejectReason.INVALID,
    ):
        return "bounced"  # the service refuses the address after earlier bounces
    return ""


def record_tracking_event(sender=None, *, event: AnymailTrackingEvent, esp_name: str = "", **_):
    """The `tracking` signal's receiver: update the delivery the event is about."""
    receipt = RECEIPTS.get(event.event_type)
    if receipt is None or not event.message_id:
        return
    if receipt == Receipt.BOUNCED and is_soft_bounce(event):
        receipt = Receipt.DEFERRED
    rows = Delivery.objects.filter(channel=Channel.EMAIL, provider_id=str(event.message_id))
    # The partial index holds only non-empty ids; saying so lets the database use it.
    rows = rows.exclude(provider_id="").select_related("participant")
    deliveries = list(rows[:2])
    if len(deliveries) > 1 and event.recipient:
        # Some services (Mailgun) give a whole batch one id: the address tells them apart.
        deliveries = [
            d
            for d in rows.filter(participant__email__iexact=event.recipient)[:2]
            if d.participant is not None
        ]
    if len(deliveries) != 1:
        logger.info(
            "email tracking (%s): %s event for an unknown message id", esp_name, event.event_type
        )
        return
    [delivery] = deliveries
    when = event.timestamp or timezone.now()
    with transaction.atomic():
        if RANK[receipt] >= RANK[delivery.receipt]:
            Delivery.objects.filter(pk=delivery.pk).update(receipt=receipt, receipt_at=when)
        reason = suppression_reason(event, receipt)
        if reason and delivery.participant_id is not None:
            _suppress(delivery, reason, event)
    logger.info("email tracking (%s): delivery %s %s", esp_name, delivery.pk, receipt)


Suppressor = Callable[..., bool]
_suppressor: Suppressor | None = None


def register_suppressor(suppressor: Suppressor) -> None:
    """Let participants block an address: suppressor(participant_id=, reason=, address=)
    (participants.services.email_suppress, registered by its app config)."""
    global _suppressor
    _suppressor = suppressor


def _suppress(delivery: Delivery, reason: str, event: AnymailTrackingEvent) -> None:
    """Stop mail to the address the report was about, through participants' service."""
    if _suppressor is None:
        logger.error("email tracking: no suppressor registered; address not blocked")
        return
    _suppressor(
        participant_id=delivery.participant_id,
        reason=reason,
        address=(event.recipient or "").strip() or None,
    )


# --- which webhook answers -----------------------------------------------------------------


def configured_service() -> str:
    """The anymail service EMAIL_BACKEND sends through ("postmark" for
    anymail.backends.postmark.EmailBackend), "" for any other backend."""
    parts = settings.EMAIL_BACKEND.split(".")
    if len(parts) == 4 and parts[:2] == ["anymail", "backends"] and parts[2] != "test":
        return parts[2]
    return ""


def webhook_secret() -> str:
    """The basic-auth "user:password" the service's webhooks must send (anymail's
    WEBHOOK_SECRET, set from ANYMAIL_WEBHOOK_SECRET); "" when none is set."""
    secret = get_anymail_setting("webhook_secret", default="")
    return secret if isinstance(secret, str) else ",".join(secret or ())


def only_when_configured(service: str, view):
    """`view`, the webhook of `service`, answering only while `service` is the one mail
    goes through and the webhook's secret is set; 404 otherwise (in development too)."""

    @functools.wraps(view)  # keeps csrf_exempt and login_not_required
    def webhook(request, *args, **kwargs):
        if service != configured_service() or not webhook_secret():
            raise Http404("no such webhook")
        return view(request, *args, **kwargs)

    return webhook
