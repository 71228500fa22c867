"""Alerts from across the border: reading the partners' CAP feeds (Belgium, Germany), the
alerts near the Dutch border the console shows, and adopting one into a draft action.

A feed is an Atom index whose entries link to CAP messages (<link rel="alternate"
type="application/cap+xml">, or the CAP alert inline in <content>), or one plain CAP URL.
Every request the server makes here is to a URL a manager typed: it goes only to an https
URL on a public host (the same rule as web push, channels/endpoints.py), to the address
checked when connecting (the connection is made to that address, so a name cannot point
elsewhere between the check and the request), with a short timeout, at most MAX_BYTES, and
no redirect to another host. PARTNER_FEEDS_ALLOW_LOOPBACK (tests only) lets http on
127.0.0.1 through.

Each CAP message is read with the safe parser and checked against the schema
(cap_read.read_alert); one that fails is refused and logged (the feed, never its text),
and named in the feed's last_error. Each message is stored in a transaction of its own,
so a bad one neither stops the good ones nor leaves anything half-saved.
"""

import ipaddress
import logging
import math
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from lxml import etree

from apps.channels import endpoints
from apps.channels.endpoints import is_public_address
from apps.governance import audit, policy
from apps.governance.geo import MAX_LAT, MAX_LON, MIN_LAT, MIN_LON, distance_m, in_circle_q
from apps.governance.models import PostcodeArea
from apps.governance.policy import Scope
from apps.web import photos

from . import services
from .cap_read import CapAlert, CapInfo, InvalidCap, read_alert
from .cap_schema import safe_parser
from .models import (
    ACTION_TEXT_MAX,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    PARTNER_TEXT_MAX,
    Action,
    PartnerAlert,
    PartnerFeed,
)

logger = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024  # a feed or one CAP message
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # a partner's photo of a missing person
MAX_ENTRIES = 50  # CAP messages read from one Atom feed per run
MAX_REDIRECTS = 3  # within the same host
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0
TOTAL_TIMEOUT_S = 20.0  # for one answer's body
# An alert is shown when its area comes within this distance of the Netherlands: of the
# centre of a Dutch postcode area (PC4 centres lie a few km inside the border at most).
BORDER_DISTANCE_M = 30_000
# What a partner's area may add to that distance: a whole province is no nearby alert.
MAX_AREA_RADIUS_M = 50_000
DEFAULT_RADIUS_M = 5_000
ATOM = "{http://www.w3.org/2005/Atom}"
CAP_TYPE = "application/cap+xml"
# The languages of a message's infos in the order an operator reads them.
LANGUAGE_ORDER = ("nl", "de", "fr", "en")

MSG_URL = _lazy("Dit adres kan Burgernet niet lezen: %(reason)s.")
MSG_ADOPTED = _lazy("Deze melding is al overgenomen in een Burgernetactie.")
MSG_NOT_ACTIVE = _lazy("Deze melding is niet meer actief.")
MSG_NO_AREA = _lazy("Deze melding heeft geen gebied dat Burgernet kan overnemen.")


class FetchError(Exception):
    """A feed or message that could not be fetched; the text names no content."""


# Where the server may fetch from -------------------------------------------------------------


def loopback_allowed() -> bool:
    """The tests' local feed server: http on a loopback address."""
    return bool(getattr(settings, "PARTNER_FEEDS_ALLOW_LOOPBACK", False))


def url_problem(url: str) -> str:
    """Why the server may not fetch `url` ("" when it may): an https URL on a public host,
    the rule webhooks share (channels/endpoints.py)."""
    return endpoints.public_url_problem(url, loopback=loopback_allowed())


def address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return is_public_address(ip) or (ip.is_loopback and loopback_allowed())


def _resolve(host: str, port: int) -> str:
    """The address to connect to: every address the name has must be allowed (a name
    with one private address among public ones is refused)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise FetchError("host not found") from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(address_allowed(a) for a in addresses):
        raise FetchError("host resolves to an address that is not public")
    return addresses[0]


def fetch(url: str, *, max_bytes: int = MAX_BYTES, accept: str = "*/*") -> tuple[bytes, str]:
    """GET `url` under the rules above; (body, content type). Raises FetchError."""
    origin = None
    for _hop in range(MAX_REDIRECTS + 1):
        problem = url_problem(url)
        if problem:
            raise FetchError(problem)
        parts = urlsplit(url)
        here = (parts.scheme, (parts.hostname or "").lower(), parts.port)
        if origin is not None and here != origin:
            raise FetchError("redirect to another host")
        origin = here
        pool, response = _get(parts, accept)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location", "")
                if not location:
                    raise FetchError(f"HTTP {response.status} without a location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchError(f"HTTP {response.status}")
            encoding = response.headers.get("Content-Encoding", "identity").lower()
            if encoding not in ("", "identity"):
                raise FetchError("compressed answer")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError("answer too large")
            body = _read_body(response, max_bytes)
            return body, response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(f"read failed ({type(exc).__name__})") from None
        finally:
            response.close()
            pool.close()
    raise FetchError("too many redirects")


def _get(parts, accept: str):
    host = parts.hostname.lower()
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    address = _resolve(host, port)
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    if https:
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            server_hostname=host,
            assert_hostname=host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Accept": accept,
        "Accept-Encoding": "identity",
        "User-Agent": "Burgernet partner feed reader",
    }
    try:
        response = pool.urlopen(
            "GET", path, headers=headers, redirect=False, preload_content=False, retries=False
        )
    except urllib3.exceptions.HTTPError as exc:
        pool.close()
        raise FetchError(f"unreachable ({type(exc).__name__})") from None
    return pool, response


def _read_body(response, max_bytes: int) -> bytes:
    """At most `max_bytes`, within TOTAL_TIMEOUT_S: a server that sends a byte every few
    seconds does not hold the task (each read alone has READ_TIMEOUT_S)."""
    deadline = time.monotonic() + TOTAL_TIMEOUT_S
    chunks, size = [], 0
    while True:
        chunk = response.read(64 * 1024, decode_content=False)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("answer too large")
        if time.monotonic() > deadline:
            raise FetchError("answer too slow")
        chunks.append(chunk)


# Reading the feeds -----------------------------------------------------------------------------


@dataclass
class FeedResult:
    stored: int = 0
    refused: int = 0
    error: str = ""


def read_partner_feeds() -> dict[int, FeedResult]:
    """The scheduled task (django-q2, every two minutes): read every active feed, then
    end the alerts that expired."""
    results = {}
    for feed in PartnerFeed.objects.filter(is_active=True):
        try:
            results[feed.pk] = feed_read(feed=feed)
        except Exception as exc:  # one partner's trouble does not keep the others unread
            logger.error("partner feed %s: reading failed (%s)", feed.pk, type(exc).__name__)
    alerts_expire()
    return results


def alerts_expire(now=None) -> int:
    now = now or timezone.now()
    return PartnerAlert.objects.filter(is_active=True, expires__lte=now).update(is_active=False)


def feed_read(*, feed: PartnerFeed, now=None) -> FeedResult:
    """Read one feed: store each valid CAP message, refuse the invalid ones."""
    now = now or timezone.now()
    result = FeedResult()
    errors = []
    try:
        messages = list(_messages_of(feed))
    except FetchError as exc:
        messages = []
        errors.append(f"feed: {exc}")
        logger.warning("partner feed %s: not read (%s)", feed.pk, exc)
    for n, (where, data) in enumerate(messages, start=1):
        try:
            if isinstance(data, FetchError):
                raise data
            alert = read_alert(data)
            with transaction.atomic():
                alert_store(feed=feed, alert=alert, now=now)
            result.stored += 1
        except (InvalidCap, FetchError, ValueError, DatabaseError) as exc:
            # ValueError and DatabaseError: a valid message whose values we cannot store.
            result.refused += 1
            reason = _safe_reason(exc)
            errors.append(f"{where or n}: {reason}")
            logger.warning("partner feed %s: CAP message %s refused (%s)", feed.pk, n, reason)
    result.error = "; ".join(errors)[:300]
    PartnerFeed.objects.filter(pk=feed.pk).update(last_checked_at=now, last_error=result.error)
    feed.last_checked_at, feed.last_error = now, result.error
    return result


def _safe_reason(exc: Exception) -> str:
    """The reason without the message's own words (a schema error may quote a value)."""
    if not isinstance(exc, InvalidCap | FetchError):
        return f"not stored ({type(exc).__name__})"
    text = str(exc)
    if text.startswith("not valid CAP 1.2"):
        return ": ".join(text.split(": ")[:2])
    if text.startswith("not XML"):
        return "not XML"
    return text[:120]


def _messages_of(feed: PartnerFeed):
    """(where, CAP bytes or a FetchError) for each message of the feed."""
    if feed.kind == feed.Kind.CAP:
        accept = f"{CAP_TYPE}, application/xml"
    else:
        accept = "application/atom+xml, application/xml"
    body, _type = fetch(feed.url, accept=accept)
    if feed.kind == feed.Kind.CAP:
        yield "", body
        return
    try:
        root = etree.fromstring(body, parser=safe_parser())
    except etree.XMLSyntaxError:
        raise FetchError("feed is not XML") from None
    if root.tag != f"{ATOM}feed":
        raise FetchError("not an Atom feed")
    for entry in root.findall(f"{ATOM}entry")[:MAX_ENTRIES]:
        inline = entry.find(f"{ATOM}content/{{urn:oasis:names:tc:emergency:cap:1.2}}alert")
        if inline is not None:
            yield "", etree.tostring(inline)
            continue
        for link in entry.findall(f"{ATOM}link"):
            if link.get("rel", "alternate") == "alternate" and link.get("type") == CAP_TYPE:
                href = urljoin(feed.url, link.get("href", ""))
                try:
                    yield "", fetch(href, accept=CAP_TYPE)[0]
                except FetchError as exc:
                    yield "", exc
                break


def _info_of(alert: CapAlert) -> CapInfo | None:
    """The info an operator reads best: Dutch, German, French, English, else the first."""

    def rank(info: CapInfo) -> int:
        lang = info.language.lower()[:2]
        return LANGUAGE_ORDER.index(lang) if lang in LANGUAGE_ORDER else len(LANGUAGE_ORDER)

    return min(alert.infos, key=rank) if alert.infos else None


def area_of(info: CapInfo) -> tuple[str, float | None, float | None, int | None]:
    """(area description, lat, lon, radius in m): the first circle, else the first
    polygon's centre and the distance to its farthest corner."""
    desc = ", ".join(a.desc for a in info.areas if a.desc)
    for area in info.areas:
        for lat, lon, radius_km in area.circles:
            return desc, lat, lon, int(round(radius_km * 1000))
    for area in info.areas:
        for polygon in area.polygons:
            ring = polygon[:-1] if polygon[0] == polygon[-1] else polygon
            lat = sum(p[0] for p in ring) / len(ring)
            lon = sum(p[1] for p in ring) / len(ring)
            radius = max(distance_m(lat, lon, p[0], p[1]) for p in ring)
            return desc, lat, lon, int(math.ceil(radius))
    return desc, None, None, None


def near_netherlands(lat: float | None, lon: float | None, radius_m: int | None) -> bool:
    """Does the area come within BORDER_DISTANCE_M of the Netherlands?"""
    if lat is None or lon is None:
        return False
    reach = BORDER_DISTANCE_M + min(radius_m or 0, MAX_AREA_RADIUS_M)
    return PostcodeArea.objects.filter(in_circle_q("lat", "lon", lat, lon, reach)).exists()


def _image_of(info: CapInfo) -> str:
    for mime, uri in info.resources:
        if mime.lower().startswith("image/") and uri.lower().startswith(("https://", "http://")):
            return uri[:500]
    return ""


def alert_store(*, feed: PartnerFeed, alert: CapAlert, now) -> PartnerAlert | None:
    """Store one valid CAP message (call in a transaction). An Update takes the place of
    the alert it references; a Cancel ends the alerts it references. Only status Actual is
    kept (an exercise or test of a partner is not shown)."""
    if alert.status != "Actual" or alert.msg_type not in ("Alert", "Update", "Cancel"):
        return None  # a partner's exercise or test, or an Ack / Error between systems
    referenced = PartnerAlert.objects.select_for_update().filter(
        feed=feed, identifier__in=[ident for _s, ident, _t in alert.references]
    )
    if alert.msg_type == "Cancel":
        referenced.update(is_active=False)
        PartnerAlert.objects.filter(feed=feed, identifier=alert.identifier).update(is_active=False)
        return None
    info = _info_of(alert)
    if info is None:
        return None
    desc, lat, lon, radius_m = area_of(info)
    expires = info.expires
    fields = {
        "sender": alert.sender[:250],
        "sent": alert.sent,
        "expires": expires,
        "msg_type": alert.msg_type,
        "status": alert.status,
        "event": info.event[:200],
        "category": ", ".join(info.category)[:100],
        "headline": info.headline[:200],
        "description": info.description[:PARTNER_TEXT_MAX],
        "area_desc": desc[:300],
        "lat": lat,
        "lon": lon,
        "radius_m": radius_m,
        "image_url": _image_of(info),
        "web": info.web[:500] if info.web.startswith(("https://", "http://")) else "",
        "language": info.language[:20],
        "is_near_border": near_netherlands(lat, lon, radius_m),
        "is_active": expires is None or expires > now,
        "fetched_at": now,
    }
    existing = (
        PartnerAlert.objects.select_for_update()
        .filter(feed=feed, identifier=alert.identifier)
        .first()
    )
    if existing is None and alert.msg_type == "Update":
        existing = referenced.order_by("-sent").first()
    if existing is not None:
        if existing.sent > alert.sent and existing.identifier != alert.identifier:
            return existing  # an older update read after a newer one
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.identifier = alert.identifier[:250]
        existing.save()
        referenced.exclude(pk=existing.pk).update(is_active=False)
        return existing
    return PartnerAlert.objects.create(feed=feed, identifier=alert.identifier[:250], **fields)


# What the console shows ------------------------------------------------------------------------


def alerts_shown(now=None):
    """The partners' active alerts near the border, newest first."""
    now = now or timezone.now()
    return (
        PartnerAlert.objects.filter(is_active=True, is_near_border=True, feed__is_active=True)
        .exclude(expires__lte=now)
        .select_related("feed", "adopted_action")
        .order_by("-sent", "-id")
    )


def label(alert: PartnerAlert) -> str:
    """ "België: vermiste persoon bij Baarle-Hertog"."""
    return f"{alert.feed.get_country_display()}: {alert.headline or alert.event}"


# Adopting one into a draft ---------------------------------------------------------------------

_KIND_WORDS = (
    # (words in the event or category, kind); the first that matches wins.
    (
        ("child abduction", "kindesentführung", "kindontvoering", "enlèvement", "amber"),
        Action.Kind.MISSING_CHILD,
    ),
    (
        ("missing child", "vermist kind", "vermisstes kind", "enfant disparu"),
        Action.Kind.MISSING_CHILD,
    ),
    (("missing", "vermis", "disparu", "disparition"), Action.Kind.MISSING_PERSON),
    (("robbery", "overval", "raubüberfall", "hold-up"), Action.Kind.ROBBERY),
)


def kind_for(alert: PartnerAlert) -> str:
    """Burgernet's kind for a partner's event (the operator may change it in the draft).
    A child abduction becomes a missing child, not an AMBER Alert: that is the national
    unit's decision, with its own approval."""
    words = f"{alert.event} {alert.headline}".lower()
    for terms, kind in _KIND_WORDS:
        if any(term in words for term in terms):
            return kind
    return Action.Kind.OTHER


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def point_in_netherlands(lat: float, lon: float) -> tuple[float, float]:
    """The point held to where Burgernet works (governance.geo.NETHERLANDS)."""
    return _clamp(lat, MIN_LAT, MAX_LAT), _clamp(lon, MIN_LON, MAX_LON)


def _photo_for(alert: PartnerAlert):
    """The partner's photo, checked by the photo gate, when it is a small image on the
    feed's own host; else None (the draft is made without it)."""
    if not alert.image_url:
        return None
    feed_host = (urlsplit(alert.feed.url).hostname or "").lower()
    if (urlsplit(alert.image_url).hostname or "").lower() != feed_host:
        return None
    try:
        data, content_type = fetch(alert.image_url, max_bytes=MAX_IMAGE_BYTES, accept="image/*")
        if not content_type.startswith("image/"):
            return None
        return photos.prepare(ContentFile(data, name="partner"))
    except (FetchError, ValidationError) as exc:
        logger.info("partner alert %s: photo not taken (%s)", alert.pk, type(exc).__name__)
        return None


def _text_for(alert: PartnerAlert) -> str:
    source = _("Bron: %(feed)s (%(country)s).") % {
        "feed": alert.feed.name,
        "country": alert.feed.get_country_display(),
    }
    room = ACTION_TEXT_MAX - len(source) - 2
    description = alert.description.strip()
    if len(description) > room:
        description = description[: room - 1].rstrip() + "…"
    return f"{description}\n\n{source}" if description else source


def partner_alert_adopt(*, alert: PartnerAlert, by) -> Action:
    """Make a draft Burgernetactie of a partner's alert, in the operator's unit: the kind
    from its event, the title from its headline, the text from its description with the
    source named, the point and radius from its area (held to where Burgernet works and
    to an action's radius), the photo where the partner gave one on its own host. The
    operator checks and changes the draft before release. The alert names the action."""
    if not policy.can(by, "action.manage"):
        raise PermissionDenied(services.MSG_OUTSIDE_REGION)
    if alert.lat is None or alert.lon is None:
        raise ValidationError(MSG_NO_AREA, code="area")
    lat, lon = point_in_netherlands(alert.lat, alert.lon)
    kind = kind_for(alert)
    problem = services.action_point_problem(by=by, kind=kind, lat=lat, lon=lon)
    if problem:
        raise PermissionDenied(problem)
    photo = _photo_for(alert)  # before the transaction: a request to the partner
    with transaction.atomic():
        alert = PartnerAlert.objects.select_for_update().select_related("feed").get(pk=alert.pk)
        if alert.adopted_action_id is not None:
            raise ValidationError(MSG_ADOPTED, code="adopted")
        if not alert.is_current(timezone.now()):
            raise ValidationError(MSG_NOT_ACTIVE, code="state")
        fields = {
            "kind": kind,
            "title": (alert.headline or alert.event or label(alert))[:100],
            "text": _text_for(alert),
            "lat": lat,
            "lon": lon,
            "radius_m": int(_clamp(alert.radius_m or DEFAULT_RADIUS_M, MIN_RADIUS_M, MAX_RADIUS_M)),
        }
        if photo is not None:
            fields["photo"] = photo
        action = services.action_create(by=by, **fields)
        alert.adopted_action = action
        alert.save(update_fields=["adopted_action"])
        audit.record(
            verb="partner_alert.adopted",
            actor=by,
            target=alert,
            detail={"action": action.pk, "feed": alert.feed_id, "photo": photo is not None},
        )
    return action


# The managers' feeds ---------------------------------------------------------------------------


def _require_feed_manager(by) -> None:
    policy.require(by, "settings.manage", Scope.nation())


def partner_feed_save(*, feed: PartnerFeed, by, changed: list[str] | None = None) -> PartnerFeed:
    """Add or change a partner feed (the admin): nationwide managers; a URL the server may
    fetch (url_problem)."""
    _require_feed_manager(by)
    problem = url_problem(feed.url)
    if problem:
        raise ValidationError({"url": MSG_URL % {"reason": problem}})
    feed.full_clean()
    is_new = feed.pk is None
    with transaction.atomic():
        feed.save()
        audit.record(
            verb="partner_feed.added" if is_new else "partner_feed.changed",
            actor=by,
            target=feed,
            detail={"fields": changed or [], "country": feed.country},
        )
    return feed


def partner_feed_delete(*, feed: PartnerFeed, by) -> None:
    _require_feed_manager(by)
    with transaction.atomic():
        audit.record(verb="partner_feed.deleted", actor=by, target=feed, detail={})
        feed.delete()
