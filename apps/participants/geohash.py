"""Geohash cells: the coarse area a web-app device reports instead of its position.

A geohash names a rectangle on the globe by interleaving longitude and latitude bits
(longitude first) and writing them five at a time in base 32. A prefix names a larger
rectangle that holds every longer hash starting with it. Precision 5 is about
4.9 × 4.9 km at the equator (4.9 km north–south, 3 km east–west in the Netherlands).
The browser computes the same cells in static/webapp/geohash.js.
"""

from typing import NamedTuple

ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
_INDEX = {char: i for i, char in enumerate(ALPHABET)}
MAX_PRECISION = 12


class Bounds(NamedTuple):
    south: float
    west: float
    north: float
    east: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2


def is_valid(cell: str, *, precision: int | None = None) -> bool:
    """A non-empty string of geohash characters (lower case), of `precision` if given."""
    if not isinstance(cell, str) or not 1 <= len(cell) <= MAX_PRECISION:
        return False
    if precision is not None and len(cell) != precision:
        return False
    return all(char in _INDEX for char in cell)


def encode(lat: float, lon: float, precision: int) -> str:
    """The cell of `precision` characters that holds the point."""
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise ValueError("latitude or longitude out of range")
    if not 1 <= precision <= MAX_PRECISION:
        raise ValueError("precision out of range")
    lat_range = [-90.0, 90.0]
    lon_range = [-180.0, 180.0]
    chars = []
    bits = 0
    value = 0
    even = True  # even bits are longitude
    while len(chars) < precision:
        span, coordinate = (lon_range, lon) if even else (lat_range, lat)
        middle = (span[0] + span[1]) / 2
        value <<= 1
        if coordinate >= middle:
            value |= 1
            span[0] = middle
        else:
            span[1] = middle
        even = not even
        bits += 1
        if bits == 5:
            chars.append(ALPHABET[value])
            bits = 0
            value = 0
    return "".join(chars)


def bounds(cell: str) -> Bounds:
    """The rectangle a cell names; ValueError for anything that is not a geohash."""
    if not is_valid(cell):
        raise ValueError("not a geohash")
    lat_range = [-90.0, 90.0]
    lon_range = [-180.0, 180.0]
    even = True
    for char in cell:
        value = _INDEX[char]
        for shift in range(4, -1, -1):
            span = lon_range if even else lat_range
            middle = (span[0] + span[1]) / 2
            if (value >> shift) & 1:
                span[0] = middle
            else:
                span[1] = middle
            even = not even
    return Bounds(lat_range[0], lon_range[0], lat_range[1], lon_range[1])


def decode(cell: str) -> tuple[float, float]:
    """The centre (latitude, longitude) of a cell."""
    return bounds(cell).centre
