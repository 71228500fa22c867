"""What the e-mail services and the SMS and voice gateways report after sending.

The SMS and voice gateways post signed delivery reports (`gateway_report`, below): each
finds its delivery by the gateway's message id and writes down the gateway's word on it.

The e-mail services report through anymail's tracking webhooks.

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

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason
from anymail.utils import get_anymail_setting
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.web.client import client_key, declared_length
from apps.web.json import nesting_depth

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


# --- the SMS and voice gateways' delivery reports -------------------------------------------

# POST /kanalen/rapport/<sms|voice>/ with a JSON object {provider_id, status, at} (or a
# list of up to MAX_REPORTS of them), headers X-Burgernet-Timestamp (Unix seconds) and
# X-Burgernet-Signature: hex HMAC-SHA256(secret, timestamp + "." + body).
REPORT_SECRETS = {
    Channel.SMS: "SMS_GATEWAY_WEBHOOK_SECRET",
    Channel.VOICE: "VOICE_GATEWAY_WEBHOOK_SECRET",
}
GATEWAY_RECEIPTS = {
    "delivered": Receipt.DELIVERED,
    "answered": Receipt.DELIVERED,
    "failed": Receipt.BOUNCED,
    "expired": Receipt.BOUNCED,
    "rejected": Receipt.REJECTED,
    "no_answer": Receipt.UNANSWERED,
    "busy": Receipt.UNANSWERED,
}
# A call not picked up may be tried again by the gateway and answered after all.
RANK[Receipt.UNANSWERED] = 1
TIMESTAMP_HEADER = "X-Burgernet-Timestamp"
SIGNATURE_HEADER = "X-Burgernet-Signature"
MAX_SKEW_S = 300  # a report signed longer ago (or ahead) is refused: a replay
MAX_REPORT_BYTES = 256 * 1024
MAX_REPORTS = 500
# Refused reports per client address and minute before it is refused without a look.
MAX_REFUSED_PER_MINUTE = 30


class ReportRefused(Exception):
    """A report that is not taken: `status` is the answer's HTTP status, the message its
    reason (no secret, no personal data)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class GatewayReport:
    provider_id: str
    receipt: str
    at: datetime


def report_secret(channel: str) -> str:
    """The secret the gateway of `channel` signs its reports with; "" when none is set."""
    setting = REPORT_SECRETS.get(channel)
    return (getattr(settings, setting, "") or "") if setting else ""


def report_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a gateway sends: hex HMAC-SHA256(secret, timestamp + "." + body)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def report_verify(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> None:
    """ReportRefused (401) unless `signature` is the gateway's for `timestamp` and `body`
    and `timestamp` lies within MAX_SKEW_S of now; compared in constant time."""
    now = time.time() if now is None else now
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        raise ReportRefused(401, "no timestamp") from None
    signature = (signature or "").strip().lower().removeprefix("sha256=")
    expected = report_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
        raise ReportRefused(401, "bad signature")
    if abs(now - stamp) > MAX_SKEW_S:
        raise ReportRefused(401, "timestamp too old or ahead")


def report_parse(body: bytes) -> list[GatewayReport]:
    """The reports in a request body; ReportRefused (400) for anything else, before any
    is taken."""
    if nesting_depth(body.decode("utf-8", "replace")) > 3:
        raise ReportRefused(400, "too deeply nested")
    try:
        data = json.loads(body)
    except ValueError:
        raise ReportRefused(400, "not JSON") from None
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_REPORTS:
        raise ReportRefused(400, f"1 to {MAX_REPORTS} reports")
    return [_report(item) for item in items]


def _report(item) -> GatewayReport:
    if not isinstance(item, dict):
        raise ReportRefused(400, "a report is an object")
    provider_id, status, at = item.get("provider_id"), item.get("status"), item.get("at")
    if not isinstance(provider_id, str) or not 0 < len(provider_id.strip()) <= 200:
        raise ReportRefused(400, "provider_id")
    if status not in GATEWAY_RECEIPTS:
        raise ReportRefused(400, "status")
    when = timezone.now()
    if isinstance(at, str) and at:
        try:
            when = parse_datetime(at)
        except ValueError:
            when = None
        if when is None:
            raise ReportRefused(400, "at")
        if timezone.is_naive(when):
            when = timezone.make_aware(when, UTC)
    elif isinstance(at, int | float) and not isinstance(at, bool):
        try:
            when = datetime.fromtimestamp(at, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ReportRefused(400, "at") from None
    elif at is not None:
        raise ReportRefused(400, "at")
    return GatewayReport(provider_id.strip(), GATEWAY_RECEIPTS[status], when)


def gateway_reports_record(*, channel: str, reports: list[GatewayReport]) -> Counter:
    """Write the gateway's word on each delivery of `channel` its reports name (by the
    message id the sender stored); a weaker word does not replace a stronger one (RANK).
    Counts "updated", "kept" (a stronger word stood) and "unknown"."""
    counts: Counter = Counter()
    ids = {r.provider_id for r in reports}
    rows = (
        Delivery.objects.filter(channel=channel, provider_id__in=ids)
        .exclude(provider_id="")
        .values_list("pk", "provider_id", "receipt")
    )
    found: dict[str, list] = {}
    for pk, provider_id, receipt in rows:
        found.setdefault(provider_id, []).append([pk, receipt])
    with transaction.atomic():
        for report in reports:
            matches = found.get(report.provider_id, [])
            if len(matches) != 1:  # unknown, or an id the gateway gave twice
                counts["unknown"] += 1
                continue
            row = matches[0]
            if RANK[report.receipt] < RANK[row[1]]:
                counts["kept"] += 1
                continue
            Delivery.objects.filter(pk=row[0]).update(receipt=report.receipt, receipt_at=report.at)
            row[1] = report.receipt
            counts["updated"] += 1
    logger.info("%s reports: %s", channel, dict(counts))
    return counts


def _refused_key(request) -> str:
    digest = hashlib.sha256(client_key(request).encode()).hexdigest()[:32]
    return f"channels:report-refused:{digest}"


@login_not_required
@csrf_exempt
@require_POST
def gateway_report(request, channel: str):
    """A gateway's signed delivery report (404 while its secret is not set). A bad
    signature, an old timestamp or a body that is no report changes nothing (4xx); a
    client refused too often in a minute is refused without a look (429)."""
    secret = report_secret(channel)
    if not secret:
        raise Http404("no such webhook")
    refused_key = _refused_key(request)
    if (cache.get(refused_key) or 0) >= MAX_REFUSED_PER_MINUTE:
        return JsonResponse({"error": "too many refused reports"}, status=429)
    try:
        if declared_length(request) > MAX_REPORT_BYTES:
            raise ReportRefused(413, "too large")
        body = request.read(MAX_REPORT_BYTES + 1)
        if len(body) > MAX_REPORT_BYTES:
            raise ReportRefused(413, "too large")
        report_verify(
            secret=secret,
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
            signature=request.headers.get(SIGNATURE_HEADER, ""),
            body=body,
        )
        reports = report_parse(body)
    except ReportRefused as exc:
        if not cache.add(refused_key, 1, timeout=60):
            with contextlib.suppress(ValueError):  # expired meanwhile
                cache.incr(refused_key)
        logger.warning("%s report refused: %s", channel, exc)
        return JsonResponse({"error": str(exc)}, status=exc.status)
    counts = gateway_reports_record(channel=channel, reports=reports)
    return JsonResponse(dict(counts))
