"""Who a mailing reaches: its areas checked and normalised, and the participants inside them.

A participant is reached when it may receive e-mail (a confirmed address, e-mail chosen, not
blocked by a bounce, complaint or unsubscribe) and one of its registered addresses, or the
postcode it gave with its e-mail address, lies in one of the mailing's areas — and that
place lies inside the sending organisation's scope: a municipality's mail never reaches
another municipality's residents, wherever the areas were drawn. Each participant is
reached once.

Street areas need house numbers, which only registered addresses have; the other kinds match
addresses and e-mail postcodes alike. Circles use the same box-then-haversine SQL as the
targeting of actions, so SQLite and PostgreSQL select the same participants.

A crisis message (kind "crisis") goes on more channels, each with its own rule
(`crisis_recipients`):

- e-mail: the rule above, as every mailing;
- SMS and voice: as an action alerts: a registered address in the areas (inside the
  scope) that is active now (its time windows), and the participant may be alerted on the
  channel now (chose it, not in quiet hours: participants/reach.py);
- web push: the devices whose fresh area cell touches one of the areas. A device knows
  only its cell, and governance knows postcode areas and municipalities only by a centre,
  so each area is taken as a circle for push (`push_circles`): a circle as it is; a
  postcode area (and a six-character postcode or street, whose finest known place is its
  postcode area) as a circle of POSTCODE_AREA_REACH_M around the postcode area's centre;
  a municipality as a circle around its centre reaching its farthest postcode area's
  centre plus POSTCODE_AREA_REACH_M. A cell touches a circle when its centre lies within
  the radius plus half the cell's diagonal (as for actions). Push is not clipped to the
  scope: a device has no address, and smoke does not stop at a border. In doubt, push
  reaches more rather than fewer.

A channel with a ceiling (apps/channels/plan.py) reaches at most that many, the nearest to
the centre of the areas first (`crisis_centre`): a participant by their nearest registered
address (one known only by an e-mail postcode comes last), a device by its cell.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import F, Min, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from apps.channels.models import Channel
from apps.channels.plan import ChannelPlan
from apps.governance.geo import (
    MAX_LAT,
    MAX_LON,
    MIN_LAT,
    MIN_LON,
    distance_m,
    haversine_expr,
    in_circle_q,
)
from apps.governance.models import Municipality, PostcodeArea
from apps.governance.policy import Scope
from apps.participants import device_areas, reach
from apps.participants.models import Address, Country, Device, Participant

from .models import Kind, MailingArea

AreaKind = MailingArea.Kind

PC6_PATTERN = re.compile(r"^([1-9][0-9]{3})\s*([A-Z]{2})$")
PC4_PATTERN = re.compile(r"^([1-9][0-9]{3})$")
MIN_RADIUS_M, MAX_RADIUS_M = 50, 50_000
MAX_HOUSE_NUMBER = 99_999
# A buurtonderzoek asks a neighbourhood about one incident: never a whole municipality, and
# a circle of at most this radius. Other kinds of mail may use every kind of area.
INQUIRY_AREA_KINDS = (AreaKind.STREET, AreaKind.PC6, AreaKind.PC4, AreaKind.CIRCLE)
MAX_INQUIRY_RADIUS_M = 2_000

MSG_PC6 = _("Vul een postcode van zes tekens in, zoals 3441 AB.")
MSG_PC4 = _("Vul een postcodegebied van vier cijfers in, zoals 3441.")
MSG_UNKNOWN_PC4 = _("Postcodegebied %(pc4)s kennen we niet. Controleer de postcode.")
MSG_HOUSE_NUMBERS = _("Vul het eerste en het laatste huisnummer van de straat in.")
MSG_HOUSE_NUMBER_RANGE = _("Het eerste huisnummer mag niet hoger zijn dan het laatste.")
MSG_HOUSE_NUMBER_VALUE = _("Een huisnummer ligt tussen 1 en 99999.")
MSG_MUNICIPALITY = _("Kies een gemeente.")
MSG_POINT = _("Kies het midden van de cirkel op de kaart, of vul de coördinaten in.")
MSG_POINT_OUTSIDE = _("Het midden van de cirkel ligt niet in Nederland.")
MSG_RADIUS = _("Kies een straal tussen 50 en 50.000 meter.")
MSG_INQUIRY_MUNICIPALITY = _(
    "Een buurtonderzoek gaat naar de buurt van het voorval, niet naar een hele gemeente. "
    "Kies een straat, een postcode, een postcodegebied of een cirkel van hooguit 2.000 meter."
)
MSG_INQUIRY_RADIUS = _(
    "Een buurtonderzoek gaat naar de buurt van het voorval: kies een straal van hooguit "
    "2.000 meter."
)


# Postcodes ---------------------------------------------------------------------------------


def normalise_pc6(raw: str) -> str:
    """A six-character postcode in the form areas keep it: "3441 ab" → "3441AB"."""
    match = PC6_PATTERN.match(" ".join((raw or "").upper().split()))
    if not match:
        raise ValidationError(MSG_PC6, code="pc6")
    return "".join(match.groups())


def normalise_pc4(raw: str) -> str:
    match = PC4_PATTERN.match((raw or "").strip())
    if not match:
        raise ValidationError(MSG_PC4, code="pc4")
    return match.group(1)


def postcode_area(pc4: str) -> PostcodeArea:
    """The known postcode area of a PC4; ValidationError for one that does not exist."""
    area = PostcodeArea.objects.select_related("municipality").filter(pc4=pc4).first()
    if area is None:
        raise ValidationError(MSG_UNKNOWN_PC4, code="unknown_pc4", params={"pc4": pc4})
    return area


def _spellings(pc6: str) -> list[str]:
    """How a PC6 may be stored on a participant: "3441 AB" (the registration's form) or
    "3441AB"."""
    return [f"{pc6[:4]} {pc6[4:]}", pc6]


# Areas -------------------------------------------------------------------------------------


def clean_area(area: MailingArea, *, mailing_kind: str | None = None) -> MailingArea:
    """Check and normalise an area (saved or not) for its kind; clear the fields its kind
    does not use. With `mailing_kind`, also check that the area fits that kind of mailing
    (see area_size_problems). Raises ValidationError with the messages per field."""
    errors: dict[str, list] = {}
    kind = area.kind
    if kind not in AreaKind.values:
        raise ValidationError({"kind": _("Kies een soort gebied.")})
    uses_postcode = kind in (AreaKind.STREET, AreaKind.PC6, AreaKind.PC4)
    if uses_postcode:
        try:
            if kind == AreaKind.PC4:
                area.postcode = normalise_pc4(area.postcode)
            else:
                area.postcode = normalise_pc6(area.postcode)
            postcode_area(area.postcode[:4])
        except ValidationError as exc:
            errors["postcode"] = exc.error_list
    else:
        area.postcode = ""
    if kind == AreaKind.STREET:
        low, high = area.house_number_from, area.house_number_to
        if low is None or high is None:
            errors["house_number_from"] = [ValidationError(MSG_HOUSE_NUMBERS)]
        elif not (1 <= low <= MAX_HOUSE_NUMBER and 1 <= high <= MAX_HOUSE_NUMBER):
            errors["house_number_from"] = [ValidationError(MSG_HOUSE_NUMBER_VALUE)]
        elif low > high:
            errors["house_number_to"] = [ValidationError(MSG_HOUSE_NUMBER_RANGE)]
    else:
        area.house_number_from = area.house_number_to = None
    if kind == AreaKind.MUNICIPALITY:
        if area.municipality_id is None:
            errors["municipality"] = [ValidationError(MSG_MUNICIPALITY)]
    else:
        area.municipality = None
    if kind == AreaKind.CIRCLE:
        if area.lat is None or area.lon is None:
            errors["lat"] = [ValidationError(MSG_POINT)]
        elif not (MIN_LAT <= area.lat <= MAX_LAT and MIN_LON <= area.lon <= MAX_LON):
            errors["lat"] = [ValidationError(MSG_POINT_OUTSIDE)]
        if area.radius_m is None or not (MIN_RADIUS_M <= area.radius_m <= MAX_RADIUS_M):
            errors["radius_m"] = [ValidationError(MSG_RADIUS)]
    else:
        area.lat = area.lon = area.radius_m = None
    if mailing_kind is not None and not errors:
        errors.update(area_size_problems(area, mailing_kind))
    if errors:
        raise ValidationError(errors)
    return area


def area_size_problems(area: MailingArea, mailing_kind: str) -> dict[str, list]:
    """Why a (clean) area is too large for the kind of mailing, per field (empty when it
    fits): a buurtonderzoek goes to a street, a postcode, a postcode area or a circle of at
    most MAX_INQUIRY_RADIUS_M; the other kinds may go to any area."""
    if mailing_kind != Kind.NEIGHBOURHOOD_INQUIRY:
        return {}
    if area.kind not in INQUIRY_AREA_KINDS:
        field = "municipality" if area.kind == AreaKind.MUNICIPALITY else "kind"
        return {field: [ValidationError(MSG_INQUIRY_MUNICIPALITY, code="inquiry")]}
    if area.kind == AreaKind.CIRCLE and area.radius_m > MAX_INQUIRY_RADIUS_M:
        return {"radius_m": [ValidationError(MSG_INQUIRY_RADIUS, code="inquiry")]}
    return {}


def area_scope(area: MailingArea) -> Scope:
    """Where a (clean) area lies for the scope policy: the municipality of its postcode,
    the municipality itself, or the municipality nearest to a circle's centre."""
    if area.kind == AreaKind.MUNICIPALITY:
        return Scope.of_municipalities([area.municipality_id])
    if area.kind == AreaKind.CIRCLE:
        municipality_id = _nearest_municipality_id(area.lat, area.lon)
        return Scope.of_municipalities([municipality_id] if municipality_id else [])
    found = PostcodeArea.objects.filter(pc4=area.postcode[:4]).values("municipality_id").first()
    if not found or found["municipality_id"] is None:
        return Scope()
    return Scope.of_municipalities([found["municipality_id"]])


def _nearest_municipality_id(lat: float, lon: float) -> int | None:
    """The municipality of the postcode area whose centre is nearest (a point just over a
    border belongs to the nearest Dutch one)."""
    found = (
        PostcodeArea.objects.exclude(municipality=None)
        .annotate(d=(F("lat") - lat) * (F("lat") - lat) + (F("lon") - lon) * (F("lon") - lon))
        .order_by("d")
        .values("municipality_id")
        .first()
    )
    return found["municipality_id"] if found else None


def area_centre(area: MailingArea) -> tuple[float, float] | None:
    """A point to show the area on the map: the circle's centre, the centre of the postcode
    area or of the municipality."""
    if area.kind == AreaKind.CIRCLE:
        return (area.lat, area.lon)
    if area.kind == AreaKind.MUNICIPALITY:
        municipality = Municipality.objects.filter(pk=area.municipality_id).first()
        if municipality and municipality.lat is not None:
            return (municipality.lat, municipality.lon)
        return None
    found = PostcodeArea.objects.filter(pc4=area.postcode[:4]).values("lat", "lon").first()
    return (found["lat"], found["lon"]) if found else None


# Recipients --------------------------------------------------------------------------------


def may_receive_mail() -> Q:
    """E-mail chosen as a channel ("E-mail (ook Burgernetmail uit uw buurt)") and an open
    address (participants' rules: reach.py)."""
    return reach.chose(Channel.EMAIL) & reach.email_open()


def _address_condition(area: MailingArea) -> Q:
    if area.kind == AreaKind.STREET:
        return Q(
            country=Country.NL,
            postcode__in=_spellings(area.postcode),
            house_number__gte=area.house_number_from,
            house_number__lte=area.house_number_to,
        )
    if area.kind == AreaKind.PC6:
        return Q(country=Country.NL, postcode__in=_spellings(area.postcode))
    if area.kind == AreaKind.PC4:
        return Q(country=Country.NL, postcode__startswith=area.postcode)
    if area.kind == AreaKind.MUNICIPALITY:
        return Q(municipality_id=area.municipality_id)
    return in_circle_q("lat", "lon", area.lat, area.lon, area.radius_m)


def _email_condition(area: MailingArea) -> Q | None:
    """The e-mail postcode in the area; None for a street (an e-mail postcode has no house
    number)."""
    if area.kind == AreaKind.STREET:
        return None
    if area.kind == AreaKind.PC6:
        return Q(email_postcode__in=_spellings(area.postcode))
    if area.kind == AreaKind.PC4:
        return Q(email_postcode__startswith=area.postcode)
    if area.kind == AreaKind.MUNICIPALITY:
        return Q(email_municipality_id=area.municipality_id)
    return Q(email_lat__isnull=False, email_lon__isnull=False) & in_circle_q(
        "email_lat", "email_lon", area.lat, area.lon, area.radius_m
    )


def _any(conditions: Iterable[Q | None]) -> Q | None:
    result = None
    for condition in conditions:
        if condition is not None:
            result = condition if result is None else result | condition
    return result


def recipients_for(areas: Iterable[MailingArea], scope: Scope) -> QuerySet:
    """Ids (values("pk")) of the participants that areas reach inside `scope`, each once;
    fit for outbox.enqueue_from_queryset(participant_ids=...). Areas need not be saved."""
    areas = list(areas)
    if not areas or scope.is_empty:
        return Participant.objects.none().values("pk")
    in_addresses = _any(_address_condition(area) for area in areas)
    addresses = scope.filter(Address.objects.filter(in_addresses), "municipality_id")
    reached = Q(pk__in=addresses.order_by().values("participant_id"))
    by_email = _any(_email_condition(area) for area in areas)
    if by_email is not None:
        if not scope.nationwide:
            by_email &= Q(email_municipality_id__in=scope.municipality_ids)
        reached |= by_email
    return Participant.objects.filter(may_receive_mail() & reached).order_by().values("pk")


def recipients(mailing) -> QuerySet:
    """Ids of the participants a mailing reaches: its areas, clipped to its scope."""
    return recipients_for(mailing.areas.all(), mailing.scope())


def count_for(areas: Iterable[MailingArea], scope: Scope) -> int:
    areas = list(areas)
    if not areas or scope.is_empty:
        return 0
    return recipients_for(areas, scope).count()


def count(mailing) -> int:
    """How many participants the mailing would reach if it were sent now."""
    return count_for(mailing.areas.all(), mailing.scope())


# Crisis messages ---------------------------------------------------------------------------

LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
# Half the width of a typical four-digit postcode area: how far around its centre a
# postcode area reaches for push (governance knows only its centre).
POSTCODE_AREA_REACH_M = 1_500


def push_circles(areas: Iterable[MailingArea]) -> list[tuple[float, float, float]]:
    """The areas as circles (lat, lon, radius in metres) for push; see the module's doc."""
    circles = []
    for area in areas:
        if area.kind == AreaKind.CIRCLE:
            circles.append((area.lat, area.lon, float(area.radius_m)))
        elif area.kind == AreaKind.MUNICIPALITY:
            circle = _municipality_circle(area.municipality_id)
            if circle:
                circles.append(circle)
        else:
            found = PostcodeArea.objects.filter(pc4=area.postcode[:4]).values("lat", "lon").first()
            if found:
                circles.append((found["lat"], found["lon"], float(POSTCODE_AREA_REACH_M)))
    return circles


def _municipality_circle(municipality_id: int) -> tuple[float, float, float] | None:
    """Around the municipality's centre, out to its farthest postcode area's centre and
    POSTCODE_AREA_REACH_M beyond."""
    municipality = Municipality.objects.filter(pk=municipality_id).first()
    points = list(
        PostcodeArea.objects.filter(municipality_id=municipality_id).values_list("lat", "lon")
    )
    if municipality is not None and municipality.lat is not None:
        centre = (municipality.lat, municipality.lon)
    elif points:
        centre = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    else:
        return None
    farthest = max((distance_m(*centre, *point) for point in points), default=0.0)
    return (centre[0], centre[1], farthest + POSTCODE_AREA_REACH_M)


def crisis_centre(areas: Iterable[MailingArea]) -> tuple[float, float] | None:
    """The centre of the areas, from which a ceiling keeps the nearest: the mean of the
    areas' centres (area_centre)."""
    centres = [centre for centre in map(area_centre, areas) if centre is not None]
    if not centres:
        return None
    return (
        sum(lat for lat, _lon in centres) / len(centres),
        sum(lon for _lat, lon in centres) / len(centres),
    )


def _devices_in(areas: list[MailingArea], at: datetime) -> QuerySet:
    """Ids of the citizens' devices in any of the areas' circles (push_circles), each once:
    where a device is, is participants' rule (device_areas: its fresh live cell or one of
    its fixed places touches the circle), as for an action."""
    circles = push_circles(areas)
    if not circles:
        return Device.objects.none().values_list("pk", flat=True)
    first, *others = (device_areas.in_circle(*circle, at=at) for circle in circles)
    return first.union(*others) if others else first


def _alertable_in(areas: list[MailingArea], scope: Scope, channel: str, at: datetime) -> QuerySet:
    """Participants with an address in the areas (inside the scope) active at `at`, who may
    be alerted on `channel` then (SMS, voice)."""
    local = at.astimezone(LOCAL_TZ)
    addresses = scope.filter(
        Address.objects.filter(_any(_address_condition(area) for area in areas)),
        "municipality_id",
    )
    active = reach.active_addresses(addresses, local).order_by().values("participant_id")
    return (
        Participant.objects.filter(reach.alertable(channel, local) & Q(pk__in=active))
        .order_by()
        .values_list("pk", flat=True)
    )


def crisis_recipients(mailing, channel: str, at: datetime, *, ceiling: int | None = None):
    """Ids of who a crisis message reaches on `channel` at `at` (devices for web push,
    participants otherwise), fit for outbox.enqueue_from_queryset; with a `ceiling`, at
    most that many, the nearest to crisis_centre first."""
    if at.tzinfo is None:
        raise ValueError("a crisis message needs an aware datetime")
    areas = list(mailing.areas.select_related("municipality"))
    scope = mailing.scope()
    if not areas or scope.is_empty:
        model = Device if channel == Channel.WEBPUSH else Participant
        return model.objects.none().values_list("pk", flat=True)
    if channel == Channel.WEBPUSH:
        ids = _devices_in(areas, at)
    elif channel == Channel.EMAIL:
        ids = recipients_for(areas, scope)
    else:
        ids = _alertable_in(areas, scope, channel, at)
    if ceiling is None:
        return ids
    return _nearest_first(ids, channel, crisis_centre(areas), limit=ceiling, at=at)


def _nearest_first(ids: QuerySet, channel: str, centre, *, limit: int, at: datetime) -> QuerySet:
    """Of `ids`, at most `limit`, the nearest to `centre` first (a device by the nearer of
    its fresh live cell and its nearest fixed place)."""
    if centre is None:
        return ids[:limit]
    if channel == Channel.WEBPUSH:
        return (
            Device.objects.filter(pk__in=ids)
            .annotate(distance=device_areas.distance(*centre, at=at))
            .order_by(F("distance").asc(nulls_last=True), "pk")
            .values_list("pk", flat=True)[:limit]
        )
    nearest = (
        Address.objects.filter(participant_id=OuterRef("pk"))
        .order_by()
        .values("participant_id")
        .annotate(distance=Min(haversine_expr("lat", "lon", *centre)))
        .values("distance")[:1]
    )
    return (
        Participant.objects.filter(pk__in=ids)
        .annotate(distance=Subquery(nearest))
        .order_by(F("distance").asc(nulls_last=True), "pk")
        .values_list("pk", flat=True)[:limit]
    )


def crisis_estimate(mailing, plan: ChannelPlan, at: datetime) -> dict[str, dict]:
    """Per channel of `plan`: how many the crisis message would reach now (`found`), the
    channel's ceiling, and how many it goes to (`sent`) and the ceiling cuts (`cut`)."""
    estimate = {}
    for channel in plan.channels:
        found = crisis_recipients(mailing, channel, at).count()
        ceiling = plan.ceiling(channel)
        sent = found if ceiling is None else min(found, ceiling)
        estimate[channel] = {"found": found, "ceiling": ceiling, "sent": sent, "cut": found - sent}
    return estimate
