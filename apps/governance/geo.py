"""Distances, bounding boxes and circles on plain latitude/longitude, the same on every
database (actions target by them, Burgernetmail selects by them)."""

import math
from dataclasses import dataclass

from django.db.models import F, Q, Value
from django.db.models.functions import Cos, Power, Radians, Sin
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


# Where Burgernet works: the Netherlands and a strip around it. An action's centre and a
# mailing circle's centre must lie here, and the console's address search places nothing
# outside it. The Netherlands reaches from 50.75° N (Zuid-Limburg, south of Maastricht)
# to 53.56° N (Rottumerplaat, the outermost Wadden island) and from 3.36° E (Cadzand) to
# 7.23° E (Bad Nieuweschans). Around that:
# - north, the Wadden Sea and the territorial sea (12 nautical miles, ~0.2°) off the islands;
# - south, ~17 km of Belgium below Zuid-Limburg (Liège at 50.63° N is inside);
# - west, the mouth of the Westerschelde and ~25 km of coast and sea off Zeeuws-Vlaanderen
#   (Lille at 3.06° E is inside: the console tells a French address by its country);
# - east, the Dollard and ~10 km of Germany past Groningen.
# The postcode areas' centres lie well within (50.77–53.48° N, 3.38–7.21° E).
MIN_LAT, MAX_LAT = 50.6, 53.8
MIN_LON, MAX_LON = 3.0, 7.4
NETHERLANDS = BoundingBox(MIN_LAT, MAX_LAT, MIN_LON, MAX_LON)
MSG_POINT_OUTSIDE = _("Dit punt ligt buiten het gebied van Burgernet (Nederland en de grens).")


def bounding_box(lat: float, lon: float, radius_m: float) -> BoundingBox:
    """The smallest lat/lon box that holds the circle; a prefilter before the exact distance."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    coslat = max(math.cos(math.radians(lat)), 1e-6)
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * coslat))
    return BoundingBox(lat - dlat, lat + dlat, lon - dlon, lon + dlon)


# In the database: the same circle on SQLite and PostgreSQL, no GIS extension.


def in_circle_q(lat_field: str, lon_field: str, lat: float, lon: float, radius_m: float) -> Q:
    """Rows whose point lies within `radius_m` of (lat, lon): box first, then the distance.

    Written as a lookup on an expression so the rows need no annotation; the box lets the
    (lat, lon) index pick the candidates.
    """
    within = LessThanOrEqual(
        haversine_expr(lat_field, lon_field, lat, lon), Value(haversine_limit(radius_m))
    )
    return box_q(lat_field, lon_field, lat, lon, radius_m) & Q(within)


def box_q(lat_field: str, lon_field: str, lat: float, lon: float, radius_m: float) -> Q:
    # geo.bounding_box widens longitude by the centre's latitude; the circle is a hair wider
    # on its side away from the equator (under a metre at 50 km), so pad it.
    box = bounding_box(lat, lon, radius_m * 1.001 + 1)
    return Q(
        **{
            f"{lat_field}__gte": box.min_lat,
            f"{lat_field}__lte": box.max_lat,
            f"{lon_field}__gte": box.min_lon,
            f"{lon_field}__lte": box.max_lon,
        }
    )


def haversine_expr(lat_field: str, lon_field: str, lat: float, lon: float):
    """The haversine term a = sin²(Δφ/2) + cos φ1 · cos φ2 · sin²(Δλ/2) of the distance from
    (lat, lon) to the row's point; the distance is 2R·asin(√a), so comparing `a` with
    `haversine_limit(d)` is comparing the distance with d, with no asin or root per row."""
    phi = math.radians(lat)
    lam = math.radians(lon)
    half_dlat = (Radians(F(lat_field)) - Value(phi)) / Value(2.0)
    half_dlon = (Radians(F(lon_field)) - Value(lam)) / Value(2.0)
    return Power(Sin(half_dlat), 2) + Value(math.cos(phi)) * Cos(Radians(F(lat_field))) * Power(
        Sin(half_dlon), 2
    )


def haversine_limit(distance_m: float) -> float:
    return math.sin(min(distance_m / (2 * EARTH_RADIUS_M), math.pi / 2)) ** 2
