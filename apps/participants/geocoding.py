"""Geocoding of participants' addresses, once, at registration.

Dutch postcodes come from the offline PC4 table (GEOCODER_NL="offline") or from the
Nominatim-compatible service at GEOCODER_URL (GEOCODER_NL="nominatim"); Belgian and German
addresses always go to that service, through geopy. Every Dutch location knows its
municipality; foreign ones have none.
"""

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from apps.governance.geo import distance_m
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
    """An address that cannot be placed on the map; `message` is for the citizen."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class AddressNotFound(GeocodingError):
    pass


class GeocoderDown(GeocodingError):
    pass


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
    pc4 = postcode[:4]
    area = PostcodeArea.objects.select_related("municipality").filter(pc4=pc4).first()
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
    try:
        found = nominatim().geocode(
            query, exactly_one=True, country_codes=country.lower(), addressdetails=True
        )
    except GeopyError as exc:
        logger.warning("geocoder failed: %s", type(exc).__name__)
        raise GeocoderDown(
            _(
                "De adreszoekdienst is nu niet bereikbaar. Probeer het over een paar minuten "
                "opnieuw."
            )
        ) from exc
    if found is None or found.latitude is None or found.longitude is None:
        raise AddressNotFound(
            _("Dit adres kunnen wij niet vinden. Controleer de postcode en het land.")
        )
    address = (found.raw or {}).get("address") or {}
    found_country = str(address.get("country_code", country.lower())).upper()
    if found_country != country:
        raise AddressNotFound(
            _("Dit adres kunnen wij niet vinden. Controleer de postcode en het land.")
        )
    return Location(float(found.latitude), float(found.longitude), None)
