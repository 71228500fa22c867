"""The webhook sender: every message of a matching action POSTed as signed JSON to the
partners' bridges (models.WebhookSubscription), one delivery per subscription.

A request carries three headers besides its JSON:

    X-Burgernet-Delivery    the delivery's id (a repeat after a lost answer has the same)
    X-Burgernet-Timestamp   seconds since 1970 when it was signed
    X-Burgernet-Signature   "sha256=" + hex HMAC-SHA256(secret, f"{timestamp}.{body}")

The receiver recomputes the signature over the timestamp, a dot and the raw body, compares
it in constant time, and refuses an old timestamp (a replay).

Where it may go is the one rule of endpoints.py, asked again here (the URL) and when
connecting (each address the name resolves to: a name that now points into our network
fails the delivery for good). Redirects are never followed: a 3xx fails the delivery.
2xx is sent ("http-204" is kept as the answer); 408, 429 and 5xx, timeouts and lost
connections are tried again after Retry-After or the outbox's backoff; any other answer
fails for good. The partner's answer (its status, the start of its text) is kept with the
row; the secret and the URL never reach a log.
"""

import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from .. import endpoints
from .base import Outcome, Reporter
from .webpush import retry_after_seconds

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0  # to connect, and then between bytes of the answer
MAX_ANSWER_BYTES = 4096  # of the partner's answer read (the rest is not wanted)
ANSWER_KEPT_CHARS = 120
USER_AGENT = "Burgernet-Webhooks/1"


class AddressRefused(OSError):
    """The name resolves only to addresses we may not connect to."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Burgernet-Signature of `body` signed at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _absolute(url: str) -> str:
    return settings.SITE_URL + url if url.startswith("/") else url


def message_payload(message) -> dict:
    """What a partner gets of an outgoing message: its Dutch title and text, its link, and
    what it is (the action's reference, kind and step: release, update, end, cancel)."""
    data = message.data or {}
    payload = {
        "title": message.title,
        "body": message.body,
        "url": _absolute(message.url) if message.url else "",
        "urgency": message.urgency,
        "created_at": message.created_at.isoformat() if message.created_at else None,
        "kind": data.get("kind", ""),
        "action": data.get("action", ""),
        "what": data.get("what", ""),
        "exercise": bool(data.get("exercise", False)),
    }
    if data.get("image"):
        payload["image"] = _absolute(data["image"])
    return payload


# The domains that can say a message in CAP 1.2 register how (apps.actions: its CAP
# builder), by the prefix of the message's source; channels knows no action.
_CAP_BUILDERS: dict[str, object] = {}


def register_cap_builder(source_prefix: str, build) -> None:
    """`build(message) -> bytes` makes the (signed) CAP 1.2 alert of a message whose
    source starts with `source_prefix`."""
    _CAP_BUILDERS[source_prefix] = build


def cap_body(message) -> bytes | None:
    for prefix, build in _CAP_BUILDERS.items():
        if message.source.startswith(prefix):
            return build(message)
    return None


def encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def post(
    *,
    url: str,
    secret: str,
    body: bytes,
    delivery_id: str,
    content_type: str = "application/json; charset=utf-8",
) -> Outcome:
    """POST `body` signed with `secret` to `url` once, and say how it went."""
    problem = endpoints.webhook_url_problem(url)
    if problem:
        return Outcome.permanent(f"webhook refused: {problem}")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "User-Agent": USER_AGENT,
        "X-Burgernet-Delivery": delivery_id,
        "X-Burgernet-Timestamp": timestamp,
        "X-Burgernet-Signature": sign(secret, timestamp, body),
    }
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=TIMEOUT_S, context=ssl.create_default_context()
        )
    else:  # loopback where insecure endpoints are allowed (webhook_url_problem said so)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
    connection._create_connection = _connect_checked  # the SSRF check at connect time
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES)
        return outcome_for(response.status, response.getheader("Retry-After"), answer)
    except AddressRefused:
        return Outcome.permanent("webhook address not public")
    except TimeoutError:
        return Outcome.transient(f"webhook timed out after {TIMEOUT_S:g}s")
    except (OSError, http.client.HTTPException) as exc:
        # The exception text may carry the host: keep only its type.
        return Outcome.transient(f"webhook unreachable ({type(exc).__name__})")
    finally:
        connection.close()


def _connect_checked(address, timeout=TIMEOUT_S, source_address=None):
    """socket.create_connection, to the allowed addresses of the name only."""
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    allowed = [info for info in infos if endpoints.address_allowed(info[4][0])]
    if not allowed:
        raise AddressRefused("no allowed address")
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in allowed:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address")


def outcome_for(status: int, retry_after: str | None, answer: bytes = b"") -> Outcome:
    """What a partner's answer means for the delivery."""
    if 200 <= status < 300:
        return Outcome.sent(f"http-{status}")
    said = _answer_text(answer)
    error = f"HTTP {status}" + (f": {said}" if said else "")
    if 300 <= status < 400:
        return Outcome.permanent(f"redirect not followed ({error})")
    if status in (408, 429) or status >= 500:
        return Outcome.transient(error, retry_after=retry_after_seconds(retry_after))
    return Outcome.permanent(error)


def _answer_text(answer: bytes) -> str:
    text = answer.decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text[:ANSWER_KEPT_CHARS]


def send_test(subscription) -> Outcome:
    """The admin's test button: a signed test message to `subscription`, at once (not
    through the outbox), whatever its filters and whether it is active."""
    delivery_id = f"test-{uuid.uuid4().hex}"
    payload = {
        "delivery": delivery_id,
        "test": True,
        "message": {
            "title": "Burgernet testbericht",
            "body": "Dit is een test van de webhook. Er is geen actie.",
            "url": _absolute("/"),
            "urgency": "normal",
            "created_at": timezone.now().isoformat(),
            "kind": "",
            "action": "",
            "what": "test",
            "exercise": True,
        },
    }
    outcome = post(
        url=subscription.url,
        secret=subscription.secret,
        body=encode(payload),
        delivery_id=delivery_id,
    )
    logger.info("webhook: test to subscription %s: %s", subscription.pk, outcome.status)
    return outcome


class WebhookSender:
    kind = "webhook"

    def deliver(
        self, deliveries: Sequence, *, deadline: float | None = None, report=None
    ) -> list[Outcome]:
        from ..models import Delivery, WebhookSubscription

        # A claimed row does not carry its subscription: one query for the chunk's.
        subscription_ids = dict(
            Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).values_list(
                "pk", "subscription_id"
            )
        )
        subscriptions = WebhookSubscription.objects.in_bulk(
            {pk for pk in subscription_ids.values() if pk is not None}
        )
        outcomes: list[Outcome] = []
        reporter = Reporter(report)
        for delivery in deliveries:
            subscription = subscriptions.get(subscription_ids.get(delivery.pk))
            outcomes.append(self._deliver_one(delivery, subscription, deadline))
            reporter.add(len(outcomes) - 1, outcomes[-1])
        reporter.flush()
        return outcomes

    def _deliver_one(self, delivery, subscription, deadline: float | None) -> Outcome:
        if deadline is not None and time.monotonic() > deadline:
            return Outcome.skipped()
        if subscription is None:
            return Outcome.permanent("no subscription")
        if not subscription.is_active:
            return Outcome.permanent("subscription inactive")
        body, content_type = (
            encode({"delivery": delivery.pk, "message": message_payload(delivery.message)}),
            "application/json; charset=utf-8",
        )
        if subscription.format == subscription.Format.CAP:
            body = cap_body(delivery.message)
            if body is None:
                return Outcome.permanent("no CAP for this message")
            content_type = "application/cap+xml"
        outcome = post(
            url=subscription.url,
            secret=subscription.secret,
            body=body,
            delivery_id=str(delivery.pk),
            content_type=content_type,
        )
        logger.info(
            "webhook: delivery %s to subscription %s: %s",
            delivery.pk,
            subscription.pk,
            outcome.provider_id or outcome.status,
        )
        return outcome
