"""Geocoding: participants' addresses, once, at registration, and the operator console's
address search. One geocoder for both.

Dutch postcodes come from the offline PC4 table (GEOCODER_NL="offline") or from the
Nominatim-compatible service at GEOCODER_URL (GEOCODER_NL="nominatim"); Belgian and German
addresses, and the console's searches for a street address, always go to that service,
through geopy (`nominatim()`, asked only through `_search`). Every Dutch location knows its
municipality; foreign ones have none.
"""

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from apps.governance.geo import MSG_POINT_OUTSIDE, NETHERLANDS, distance_m
from apps.governance.models import Municipality, PostcodeArea

from .models import Country

logger = logging.getLogger(__name__)

POSTCODE_PATTERNS = {
    Country.NL: re.compile(r"^([1-9]\d{3})\s*([A-Z]{2})$"),
    Country.BE: re.compile(r"^([1-9]\d{3})$"),
    Country.DE: re.compile(r"^(\d{5})$"),
}
POSTCODE_EXAMPLES = {Country.NL: "1234 AB", Country.BE: "1000", Country.DE: "10115"}
# What Nominatim is asked for, per country (its `country` parameter, in English).
NOMINATIM_COUNTRY = {Country.NL: "Netherlands", Country.BE: "Belgium", Country.DE: "Germany"}


class GeocodingError(Exception):
    """An address that cannot be placed on the map; `message` is for whoever typed it."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class AddressNotFound(GeocodingError):
    pass


class GeocoderDown(GeocodingError):
    pass


class OutsideArea(GeocodingError):
    """An address that exists, but not where Burgernet works."""


MSG_DOWN = _("De adreszoekdienst is nu niet bereikbaar. Probeer het over een paar minuten opnieuw.")
MSG_NOT_FOUND = _("Dit adres kunnen wij niet vinden. Controleer de postcode en het land.")


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    municipality: Municipality | None = None


def normalise_postcode(country: str, raw: str) -> str:
    """The postcode in its standard form ("3441 AB"); ValueError with a Dutch message."""
    value = " ".join((raw or "").upper().split())
    pattern = POSTCODE_PATTERNS.get(Country(country))
    match = pattern.match(value) if pattern else None
    if not match:
        raise ValueError(
            _("Vul een geldige postcode in, zoals %(example)s.")
            % {"example": POSTCODE_EXAMPLES[Country(country)]}
        )
    return " ".join(match.groups())


def geocode_address(
    *, country: str, postcode: str, house_number: int, suffix: str = ""
) -> Location:
    """Place an address (postcode already normalised); raise GeocodingError when it cannot."""
    country = Country(country)
    if country == Country.NL:
        return geocode_dutch_postcode(postcode)
    return _nominatim_location(country, postcode)


def geocode_dutch_postcode(postcode: str) -> Location:
    """A Dutch postcode's location and municipality."""
    area = _postcode_area(postcode[:4])
    if settings.GEOCODER_NL == "offline":
        if area is None:
            raise AddressNotFound(
                _("Deze postcode kennen wij niet. Controleer de postcode en probeer het opnieuw.")
            )
        return Location(
            area.lat, area.lon, area.municipality or _nearest_municipality(area.lat, area.lon)
        )
    if settings.GEOCODER_NL != "nominatim":
        raise ImproperlyConfigured(
            f"GEOCODER_NL must be offline or nominatim, not {settings.GEOCODER_NL!r}"
        )
    found = _nominatim_location(Country.NL, postcode)
    municipality = area.municipality if area and area.municipality else None
    return Location(
        found.lat, found.lon, municipality or _nearest_municipality(found.lat, found.lon)
    )


def _postcode_area(pc4: str) -> PostcodeArea | None:
    return PostcodeArea.objects.select_related("municipality").filter(pc4=pc4).first()


def _nearest_municipality(lat: float, lon: float) -> Municipality | None:
    candidates = Municipality.objects.filter(lat__isnull=False, lon__isnull=False)
    return min(candidates, key=lambda m: distance_m(lat, lon, m.lat, m.lon), default=None)


def nominatim() -> Nominatim:
    """A geopy Nominatim client for GEOCODER_URL ("https://host[:port][/path]")."""
    parts = urlsplit(settings.GEOCODER_URL)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(
            f"GEOCODER_URL must be an http(s) URL, not {settings.GEOCODER_URL!r}"
        )
    return Nominatim(
        domain=parts.netloc + parts.path.rstrip("/"),
        scheme=parts.scheme,
        user_agent=settings.GEOCODER_USER_AGENT,
        timeout=settings.GEOCODER_TIMEOUT,
    )


def _nominatim_location(country: Country, postcode: str) -> Location:
    # Without a street name a house number does not narrow a Nominatim search, so the
    # query is the postcode within its country.
    query = {"postalcode": postcode, "country": NOMINATIM_COUNTRY[country]}
    found = _search(query, country_codes=[country.lower()], down=MSG_DOWN)
    if found is None or found.latitude is None or found.longitude is None:
        raise AddressNotFound(MSG_NOT_FOUND)
    if _country_of(found, default=country.lower()) != country.lower():
        raise AddressNotFound(MSG_NOT_FOUND)
    return Location(float(found.latitude), float(found.longitude), None)


def _search(query: str | dict, *, country_codes, down, language=False):
    """The geocoder's best match for `query` (a geopy Location with its address details),
    or None; GeocoderDown with the message `down` when it cannot be asked or answers
    with an error."""
    try:
        return nominatim().geocode(
            query,
            exactly_one=True,
            country_codes=country_codes,
            addressdetails=True,
            language=language,
        )
    except GeopyError as exc:
        logger.warning("geocoder failed: %s", type(exc).__name__)  # never the address
        raise GeocoderDown(down) from exc


def _country_of(found, default: str = "") -> str:
    address = (found.raw or {}).get("address") or {}
    return str(address.get("country_code", default)).lower()


# The console's address search ----------------------------------------------------------------

SEARCH_COUNTRIES = ("nl", "be", "de")
MSG_ADDRESS_NOT_FOUND = _(
    "Dit adres kunnen wij niet vinden. Controleer straat, huisnummer en plaats, of zoek op "
    "postcode."
)
MSG_POSTCODE_UNKNOWN = _("Deze postcode kennen wij niet. Controleer de cijfers.")
MSG_OUTSIDE_COUNTRIES = _(
    "Dit adres ligt niet in Nederland, België of Duitsland. Burgernet werkt alleen daar."
)
MSG_SEARCH_DOWN = _(
    "De adreszoekdienst is nu niet bereikbaar. Probeer het over een paar minuten opnieuw, of "
    "klik het punt aan op de kaart."
)


@dataclass(frozen=True)
class AddressQuery:
    """An address search of the console, read: a Dutch postcode (with or without house
    number) or, for anything else, the text as typed."""

    text: str
    pc4: str = ""
    postcode: str = ""  # "3441 AB"; empty when only the four digits were given
    house_number: str = ""  # "12", "12A", "12-2"

    @property
    def is_dutch_postcode(self) -> bool:
        return bool(self.pc4)


@dataclass(frozen=True)
class Place:
    """Where an address search put the point, in words for the operator."""

    lat: float
    lon: float
    label: str
    approximate: bool  # the centre of a postcode (area), not the address itself
    note: str = ""  # why it is only approximate, when the operator asked for more

    def message(self) -> str:
        text = gettext("Gevonden: %(place)s.") % {"place": self.label}
        if self.approximate:
            text += " " + gettext(
                "Dit is geen precies adres; verplaats het punt zo nodig op de kaart."
            )
        return f"{self.note} {text}".strip()


def geocode_search(query: AddressQuery) -> Place:
    """The point of an address the operator searched for.

    A Dutch postcode goes where the site sends Dutch addresses (GEOCODER_NL): with
    "nominatim", a full postcode is placed by the geocoder; otherwise, or when the geocoder
    does not know it or cannot be reached, the point is the centre of the postcode area
    (PC4), and the answer says so. Any other text goes to the geocoder at GEOCODER_URL, in
    the Netherlands, Belgium and Germany only, and must lie where Burgernet works
    (governance.geo.NETHERLANDS). Raises AddressNotFound, GeocoderDown or OutsideArea, with
    a message for the operator.
    """
    if query.is_dutch_postcode:
        return _search_postcode(query)
    return _search_text(query.text)


def _search_postcode(query: AddressQuery) -> Place:
    note = ""
    if query.postcode and settings.GEOCODER_NL == "nominatim":
        try:
            found = geocode_dutch_postcode(query.postcode)
        except GeocoderDown:
            note = gettext("De adreszoekdienst is nu niet bereikbaar.")
        except AddressNotFound:
            note = gettext("Postcode %(postcode)s kunnen wij niet vinden.") % {
                "postcode": query.postcode
            }
        else:
            label = gettext("postcode %(postcode)s") % {"postcode": query.postcode}
            if found.municipality:
                label += f" ({found.municipality.name})"
            return Place(found.lat, found.lon, label, approximate=bool(query.house_number))
    area = _postcode_area(query.pc4)
    if area is None:
        raise AddressNotFound(MSG_POSTCODE_UNKNOWN)
    label = gettext("midden van postcodegebied %(pc4)s (%(place)s)") % {
        "pc4": area.pc4,
        "place": area.place,
    }
    return Place(area.lat, area.lon, label, approximate=True, note=note)


def _search_text(text: str) -> Place:
    language = translation.get_language() or settings.LANGUAGE_CODE
    found = _search(text, country_codes=SEARCH_COUNTRIES, down=MSG_SEARCH_DOWN, language=language)
    if found is None:
        # Only to tell "not in NL, BE or DE" from "unknown": anything found is refused.
        try:
            elsewhere = _search(text, country_codes=None, down=MSG_SEARCH_DOWN, language=language)
        except GeocoderDown:
            elsewhere = None
        if elsewhere is not None and _country_of(elsewhere) not in SEARCH_COUNTRIES:
            raise OutsideArea(MSG_OUTSIDE_COUNTRIES)
        raise AddressNotFound(MSG_ADDRESS_NOT_FOUND)
    if _country_of(found) not in SEARCH_COUNTRIES:  # a service that ignores countrycodes
        raise OutsideArea(MSG_OUTSIDE_COUNTRIES)
    lat, lon = float(found.latitude), float(found.longitude)
    if not NETHERLANDS.contains(lat, lon):
        raise OutsideArea(MSG_POINT_OUTSIDE)
    address = (found.raw or {}).get("address") or {}
    # A street, a village or a whole city: only a house number is the address itself.
    return Place(lat, lon, found.address, approximate=not address.get("house_number"))
