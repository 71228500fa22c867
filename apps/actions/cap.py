"""CAP 1.2 (OASIS Common Alerting Protocol): every message of a released action as a CAP
`alert`, checked against the schema (cap_schema.py) and, with a key in the settings,
signed (XML signature), so news sites, displays and partners abroad can read and trust it.

One message of an action is one alert: the release is an Alert, each update an Update,
the end message an Update whose infos say AllClear, a correction (the action withdrawn)
a Cancel. Each alert `references` all earlier alerts of its action.

Choices where CAP leaves them open:

- Languages: one `info` in Dutch always, and one per other reader's language (en, de, fr)
  the operator wrote the action's description in (`Action.text_en` …). The set is the
  action's, so every message of an action carries the same languages: a reader following
  it in English gets the update and the all-clear in English too (the fixed words
  translated, an update's own text as the operator wrote it). A language the operator did
  not write in is left out: its info would carry the Dutch description under another
  language's name, and receivers pick an info by its language.
- Event: missing persons and AMBER Alerts carry the OASIS event terms ("missing person",
  "child abduction") in every language, the terms receivers match on; other kinds their
  name in the info's language (wording.kind).
- Area: a circle ("lat,lon radius-in-km") with the CBS codes of the municipalities it
  reaches into (a postcode area whose centre lies within the circle plus
  policy.AREA_MARGIN_M, the rule that decides which regions see an action). An AMBER
  Alert is nationwide: areaDesc "Nederland" and one polygon, the box Burgernet works in
  (governance.geo.NETHERLANDS: the country and a strip of border and sea), without
  municipality codes (it would be all of them).
- The end and the correction: urgency Past, severity Minor; no instruction (there is
  nothing left to look out for). A correction's responseType is None.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from apps.channels.models import OutgoingMessage
from apps.governance.geo import NETHERLANDS, distance_m, in_circle_q
from apps.governance.models import PostcodeArea
from apps.governance.policy import AREA_MARGIN_M

from . import cap_schema, wording
from .models import Action

NS = cap_schema.NAMESPACE
CONTENT_TYPE = "application/cap+xml"
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
HEADLINE_MAX = 160
GEOCODE_NAME = "CBS-gemeentecode"

# The step of an action (Action.sent_messages) → the alert's msgType.
MSG_TYPES = {"release": "Alert", "update": "Update", "end": "Update", "cancel": "Cancel"}
FOLLOW_UPS = frozenset({"end", "cancel"})

# RFC 5646 tags of the readers' languages: Dutch and English as spoken here, German as in
# Germany, French as in Belgium (the neighbours who read them).
LANGUAGE_TAGS = {"nl": "nl-NL", "en": "en-GB", "de": "de-DE", "fr": "fr-BE"}

MISSING = frozenset({Action.Kind.MISSING_PERSON, Action.Kind.MISSING_CHILD})
OASIS_EVENTS = {
    Action.Kind.MISSING_PERSON: "missing person",
    Action.Kind.MISSING_CHILD: "missing person",
    Action.Kind.AMBER_ALERT: "child abduction",
}
SEVERITY = {
    Action.Kind.MISSING_PERSON: "Severe",
    Action.Kind.MISSING_CHILD: "Severe",
    Action.Kind.AMBER_ALERT: "Severe",
    Action.Kind.ROBBERY: "Moderate",
    Action.Kind.BURGLARY: "Moderate",
    Action.Kind.HIT_AND_RUN: "Moderate",
    Action.Kind.SUSPICIOUS_SITUATION: "Minor",
    Action.Kind.OTHER: "Minor",
}
# How sure it is that what the alert is about happens: a missing person or a crime is
# reported by the police; a suspicious situation may be nothing.
LIKELY_ONLY = frozenset({Action.Kind.SUSPICIOUS_SITUATION, Action.Kind.OTHER})

AREA_PHRASES = {
    "nl": ("Straal van {km} km rond {place}", "Nederland"),
    "en": ("Within {km} km of {place}", "The Netherlands"),
    "de": ("Umkreis von {km} km um {place}", "Niederlande"),
    "fr": ("Rayon de {km} km autour de {place}", "Pays-Bas"),
}


class NotAMessageOfTheAction(ValueError):
    """The message is not one the action sent (or the action is a draft)."""


@dataclass(frozen=True)
class Area:
    """Where an alert applies, the same in every info: the municipalities the circle
    reaches into (code, name) and the place nearest its centre."""

    municipalities: list[tuple[str, str]]
    place: str


# The alert ---------------------------------------------------------------------------------


def identifier(action: Action, message: OutgoingMessage) -> str:
    """The alert's identifier: unique and stable per message of an action."""
    return f"burgernet-{action.ref}-{message.pk}"


def sent(message: OutgoingMessage) -> str:
    """When the message went out, in Dutch time with its offset (CAP refuses "Z")."""
    return message.created_at.astimezone(DUTCH_TIME).isoformat(timespec="seconds")


def step_of(action: Action, message: OutgoingMessage) -> str:
    """What `message` was for the action: "release", "update", "end" or "cancel"."""
    if action.state == Action.State.DRAFT:
        raise NotAMessageOfTheAction(f"action {action.pk} is a draft")
    for what, pk in action.sent_messages():
        if pk == message.pk:
            return what
    raise NotAMessageOfTheAction(f"message {message.pk} is not one of action {action.pk}")


def languages(action: Action) -> list[str]:
    """The languages of the action's infos: Dutch, and those the operator wrote in."""
    written = [
        language
        for language in wording.OTHER_LANGUAGES
        if (getattr(action, f"text_{language}", "") or "").strip()
    ]
    return [wording.DEFAULT_LANGUAGE, *written]


def alert_xml(action: Action, message: OutgoingMessage) -> bytes:
    """The CAP 1.2 alert of one message the action sent, unsigned, valid against the
    schema (an invalid one is a bug here: cap_schema.InvalidCap)."""
    what = step_of(action, message)
    earlier = _earlier_messages(action, message)
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    _add(root, "identifier", identifier(action, message))
    _add(root, "sender", settings.CAP_SENDER)
    _add(root, "sent", sent(message))
    _add(root, "status", "Exercise" if action.is_exercise else "Actual")
    _add(root, "msgType", MSG_TYPES[what])
    _add(root, "scope", "Public")
    if earlier:
        _add(
            root,
            "references",
            " ".join(f"{settings.CAP_SENDER},{identifier(action, m)},{sent(m)}" for m in earlier),
        )
    area = None if action.is_nationwide else _area(action)
    for language in languages(action):
        _add_info(root, action, message, what, language, area)
    cap_schema.validate(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def published_xml(action: Action, message: OutgoingMessage) -> bytes:
    """The alert as Burgernet publishes it: signed when the settings hold a key."""
    xml = alert_xml(action, message)
    return sign(xml) if signing_configured() else xml


def published_xml_of(message: OutgoingMessage) -> bytes | None:
    """published_xml for a message known by its source ("actions.action:<pk>:…"): what a
    partner's CAP webhook gets. None when the message is no action's (or a draft's)."""
    try:
        action = Action.objects.get(pk=int(message.source.split(":")[1]))
        return published_xml(action, message)
    except (IndexError, ValueError, Action.DoesNotExist, NotAMessageOfTheAction):
        return None


def _earlier_messages(action: Action, message: OutgoingMessage) -> list[OutgoingMessage]:
    ids = []
    for _what, pk in action.sent_messages():
        if pk == message.pk:
            break
        ids.append(pk)
    found = OutgoingMessage.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def _add_info(root, action: Action, message, what: str, language: str, area) -> None:
    texts = _texts(message, language)
    info = _add(root, "info")
    _add(info, "language", LANGUAGE_TAGS[language])
    _add(info, "category", _category(action))
    _add(info, "event", OASIS_EVENTS.get(action.kind) or wording.kind(action.kind, language))
    _add(info, "responseType", {"end": "AllClear", "cancel": "None"}.get(what, "Monitor"))
    follow_up = what in FOLLOW_UPS
    if follow_up:
        _add(info, "urgency", "Past")
    else:
        _add(info, "urgency", "Immediate" if action.is_time_critical else "Expected")
    _add(info, "severity", "Minor" if follow_up else SEVERITY.get(action.kind, "Unknown"))
    _add(info, "certainty", _certainty(action, what))
    _add(info, "senderName", "Burgernet")
    _add(info, "headline", _shorten(texts["title"], HEADLINE_MAX))
    call = texts.get("call", "")
    body = texts["body"]
    if call and body.endswith(call):  # the call line is the instruction
        body = body[: -len(call)].rstrip()
    _add(info, "description", body)
    if not follow_up:
        _add(info, "instruction", wording.phrase("call", language))
    _add(info, "web", action.page_url())
    _add(info, "contact", "0800-0011")
    _add_area(info, action, language, area)


def _texts(message: OutgoingMessage, language: str) -> dict:
    """The message's title, body and call line in `language` (services._build_message:
    Dutch on the message itself, the others in data["texts"])."""
    if language == wording.DEFAULT_LANGUAGE:
        return {"title": message.title, "body": message.body, "call": message.data.get("call")}
    return message.data.get("texts", {}).get(language) or {
        "title": message.title,
        "body": message.body,
    }


def _category(action: Action) -> str:
    if action.kind in MISSING or action.is_amber:
        return "Rescue"
    if action.kind == Action.Kind.OTHER:
        return "Other"
    return "Security"


def _certainty(action: Action, what: str) -> str:
    if what == "cancel":
        return "Unlikely"  # released by mistake
    if what == "end":
        return "Observed"
    return "Likely" if action.kind in LIKELY_ONLY else "Observed"


def _area(action: Action) -> Area:
    """The municipalities the circle reaches into and the place nearest its centre: one
    query over the postcode areas in the circle (their (lat, lon) index)."""
    rows = (
        PostcodeArea.objects.filter(
            in_circle_q("lat", "lon", action.lat, action.lon, action.radius_m + AREA_MARGIN_M)
        )
        .exclude(municipality=None)
        .values_list("lat", "lon", "place", "municipality__code", "municipality__name")
    )
    municipalities: dict[str, str] = {}
    nearest, place = None, ""
    for lat, lon, area_place, code, name in rows:
        municipalities[code] = name
        distance = distance_m(action.lat, action.lon, lat, lon)
        if nearest is None or distance < nearest:
            nearest, place = distance, area_place or name
    return Area(sorted(municipalities.items()), place)


def _add_area(info, action: Action, language: str, area: Area | None) -> None:
    around, country = AREA_PHRASES[language]
    element = _add(info, "area")
    if area is None:  # nationwide
        _add(element, "areaDesc", country)
        box = NETHERLANDS
        corners = [
            (box.min_lat, box.min_lon),
            (box.max_lat, box.min_lon),
            (box.max_lat, box.max_lon),
            (box.min_lat, box.max_lon),
            (box.min_lat, box.min_lon),
        ]
        _add(element, "polygon", " ".join(f"{lat},{lon}" for lat, lon in corners))
        return
    place = area.place or ", ".join(name for _code, name in area.municipalities) or country
    _add(element, "areaDesc", around.format(km=_km(action.radius_m, language), place=place))
    _add(element, "circle", f"{action.lat:.5f},{action.lon:.5f} {action.radius_m / 1000:g}")
    for code, _name in area.municipalities:
        geocode = _add(element, "geocode")
        _add(geocode, "valueName", GEOCODE_NAME)
        _add(geocode, "value", code)


def _km(radius_m: int, language: str) -> str:
    km = f"{radius_m / 1000:g}"
    return km if language == "en" else km.replace(".", ",")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What XML 1.0 cannot carry (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F):
# free text may hold them (web/text.py takes out only invisible and bidi characters).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _add(parent, tag: str, text: str | None = None):
    element = etree.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        element.text = NOT_XML.sub("", text)
    return element


# Signatures --------------------------------------------------------------------------------


def signing_configured() -> bool:
    return bool(settings.CAP_SIGNING_KEY_FILE and settings.CAP_SIGNING_CERT_FILE)


@cache
def _read(path: str) -> bytes:
    # Read once per process, like the other settings: a new key takes a restart.
    return Path(path).read_bytes()


def sign(xml: bytes, *, key: bytes | None = None, cert: bytes | str | None = None) -> bytes:
    """`xml` (a CAP alert) with an enveloped XML signature (RSA-SHA256) as its last
    element, which CAP allows; by the PEM key and certificate given, or those of the
    settings (CAP_SIGNING_KEY_FILE, CAP_SIGNING_CERT_FILE). The certificate goes in the
    signature's KeyInfo; partners verify against the certificate we give them."""
    from signxml import XMLSigner, methods

    if key is None or cert is None:
        if not signing_configured():
            raise ImproperlyConfigured("CAP_SIGNING_KEY_FILE / _CERT_FILE are not set.")
        key = _read(settings.CAP_SIGNING_KEY_FILE)
        cert = _read(settings.CAP_SIGNING_CERT_FILE)
    root = etree.fromstring(xml, parser=cap_schema.safe_parser())
    signer = XMLSigner(
        method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256"
    )
    signed = signer.sign(root, key=key, cert=cert.decode() if isinstance(cert, bytes) else cert)
    cap_schema.validate(signed)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify(xml: bytes, *, cert: bytes | str) -> etree._Element:
    """The alert whose XML signature `cert` made, as signed (signxml.exceptions.
    InvalidSignature, InvalidInput when it was not, or was changed since)."""
    from signxml import XMLVerifier

    pem = cert.decode() if isinstance(cert, bytes) else cert
    result = XMLVerifier().verify(xml, x509_cert=pem, parser=cap_schema.safe_parser())
    return result.signed_xml


# The index (the OASIS "CAP feeds" practice) ------------------------------------------------

ATOM = "http://www.w3.org/2005/Atom"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
INDEX_DAYS = 7
INDEX_MAX = 100
SOURCE_PREFIX = "actions.action:"


@dataclass(frozen=True)
class Published:
    """One CAP message in the index: the action, its message and what it was."""

    action: Action
    message: OutgoingMessage
    what: str


def message_url(action: Action, message: OutgoingMessage) -> str:
    """The CAP message's public address."""
    return settings.SITE_URL + reverse(
        "caps:message", kwargs={"ref": action.ref, "message_pk": message.pk}
    )


def recent(*, now=None, days: int = INDEX_DAYS, limit: int = INDEX_MAX) -> list[Published]:
    """The CAP messages of the last `days` days, the newest first, at most `limit`: those
    of released, ended and cancelled actions, exercises left out (a reader of the index
    takes it for what is going on; an exercise's messages are at their own address)."""
    since = (now or timezone.now()) - timedelta(days=days)
    messages = list(
        OutgoingMessage.objects.filter(source__startswith=SOURCE_PREFIX, created_at__gte=since)
        .only("pk", "source", "title", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )
    steps = {}
    for message in messages:
        _prefix, pk, what = message.source.split(":", 2)
        steps[message.pk] = (int(pk), what.split(":")[0])
    actions = (
        Action.objects.exclude(state=Action.State.DRAFT)
        .filter(is_exercise=False)
        .in_bulk({pk for pk, _what in steps.values()})
    )
    return [
        Published(actions[steps[m.pk][0]], m, steps[m.pk][1])
        for m in messages
        if steps[m.pk][0] in actions
    ]


def index_atom(
    published: list[Published],
    *,
    now=None,
    self_url: str = "",
    title: str = "Burgernet: CAP-berichten",
) -> bytes:
    """An Atom feed with one entry per CAP message, linking to its CAP XML (the national
    index, or a display's board with its own `self_url` and `title`)."""
    self_url = self_url or settings.SITE_URL + reverse("caps:index")
    updated = max((p.message.created_at for p in published), default=now or timezone.now())
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _atom(feed, "id", self_url)
    _atom(feed, "title", title)
    _atom(feed, "updated", updated.astimezone(DUTCH_TIME).isoformat(timespec="seconds"))
    author = _atom(feed, "author")
    _atom(author, "name", "Burgernet")
    _atom(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    for item in published:
        url = message_url(item.action, item.message)
        entry = _atom(feed, "entry")
        _atom(entry, "id", url)
        _atom(entry, "title", item.message.title)
        _atom(entry, "category", term=MSG_TYPES[item.what])
        _atom(entry, "updated", sent(item.message))
        _atom(entry, "link", rel="alternate", href=url, type=CONTENT_TYPE)
        _atom(entry, "link", rel="related", href=item.action.page_url(), type="text/html")
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8")


def _atom(parent, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element
