"""Reading CAP 1.2 messages (a partner's alert, or our own): the schema check first
(cap_schema.parse, with the safe parser), then the fields Burgernet uses as plain data."""

from dataclasses import dataclass, field
from datetime import datetime

from . import cap_schema
from .cap_schema import NAMESPACE, InvalidCap

__all__ = ["CapAlert", "CapArea", "CapInfo", "InvalidCap", "read_alert"]

_NS = {"cap": NAMESPACE}


@dataclass(frozen=True)
class CapArea:
    desc: str
    # (lat, lon, radius in km), as CAP writes a circle: "lat,lon radius".
    circles: list[tuple[float, float, float]] = field(default_factory=list)
    # Each polygon a closed ring of (lat, lon) points.
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)
    geocodes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CapInfo:
    language: str
    category: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    expires: datetime | None = None
    # (mimeType, uri) of each resource that has a uri.
    resources: list[tuple[str, str]] = field(default_factory=list)
    areas: list[CapArea] = field(default_factory=list)


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    # (sender, identifier, sent) of each earlier message this one refers to.
    references: list[tuple[str, str, str]] = field(default_factory=list)
    infos: list[CapInfo] = field(default_factory=list)


def read_alert(data: bytes) -> CapAlert:
    """The CAP message in `data`, checked against the schema; InvalidCap says why not
    (also for what the schema lets through but cannot be read: a circle that is no circle)."""
    root = cap_schema.parse(data)
    return CapAlert(
        identifier=_text(root, "identifier"),
        sender=_text(root, "sender"),
        sent=_time(_text(root, "sent")),
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        references=_references(_text(root, "references")),
        infos=[_info(node) for node in root.findall("cap:info", _NS)],
    )


def _text(node, name: str) -> str:
    found = node.find(f"cap:{name}", _NS)
    return (found.text or "").strip() if found is not None else ""


def _texts(node, name: str) -> list[str]:
    return [(n.text or "").strip() for n in node.findall(f"cap:{name}", _NS)]


def _time(value: str) -> datetime:
    # The schema holds it to xs:dateTime; CAP requires the offset.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidCap("not a CAP time") from None
    if moment.tzinfo is None:
        raise InvalidCap("a CAP time without its UTC offset")
    return moment


def _references(value: str) -> list[tuple[str, str, str]]:
    found = []
    for item in value.split():
        parts = item.split(",")
        if len(parts) != 3:
            raise InvalidCap("a reference is not sender,identifier,sent")
        found.append((parts[0], parts[1], parts[2]))
    return found


def _info(node) -> CapInfo:
    expires = _text(node, "expires")
    resources = []
    for res in node.findall("cap:resource", _NS):
        uri = _text(res, "uri")
        if uri:
            resources.append((_text(res, "mimeType"), uri))
    return CapInfo(
        language=_text(node, "language") or "en-US",
        category=_texts(node, "category"),
        event=_text(node, "event"),
        urgency=_text(node, "urgency"),
        severity=_text(node, "severity"),
        certainty=_text(node, "certainty"),
        headline=_text(node, "headline"),
        description=_text(node, "description"),
        instruction=_text(node, "instruction"),
        web=_text(node, "web"),
        expires=_time(expires) if expires else None,
        resources=resources,
        areas=[_area(area) for area in node.findall("cap:area", _NS)],
    )


def _area(node) -> CapArea:
    return CapArea(
        desc=_text(node, "areaDesc"),
        circles=[_circle(text) for text in _texts(node, "circle")],
        polygons=[_polygon(text) for text in _texts(node, "polygon")],
        geocodes=[
            (_text(code, "valueName"), _text(code, "value"))
            for code in node.findall("cap:geocode", _NS)
        ],
    )


def _point(text: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = text.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise InvalidCap("a CAP point is not lat,lon") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidCap("a CAP point off the globe")
    return lat, lon


def _circle(text: str) -> tuple[float, float, float]:
    try:
        centre, radius_text = text.split()
        radius = float(radius_text)
    except ValueError:
        raise InvalidCap("a CAP circle is not 'lat,lon radius'") from None
    if not 0 <= radius <= 20_000:
        raise InvalidCap("a CAP circle's radius out of range")
    lat, lon = _point(centre)
    return lat, lon, radius


def _polygon(text: str) -> list[tuple[float, float]]:
    points = [_point(pair) for pair in text.split()]
    if len(points) < 4:
        raise InvalidCap("a CAP polygon has fewer than four points")
    return points
