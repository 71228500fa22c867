"""The size of web-app area cells, to decide whether a device's cell touches a circle.

A device reports only a geohash cell (geohash.py) and the cell's centre. An action's
targeting and a crisis message's selection count a cell as touching a circle when its
centre lies within the radius plus half the cell's diagonal.
"""

import math

from apps.governance.geo import EARTH_RADIUS_M

METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180

# Cells that can be placed in a circle: precision 5 (what the web app reports) is about
# 4.9 km north–south and 3 km east–west in the Netherlands, 8 about 19 × 24 m. Coarser
# cells (precision 4 is some 20 × 24 km here) say too little about where a device is to
# alert it for a local action, and are left out.
MIN_PRECISION = 5
MAX_PRECISION = 8


def cell_size_deg(precision: int) -> tuple[float, float]:
    """(height, width) of a cell in degrees of latitude and longitude: a geohash of p
    characters has 5p bits, longitude taking the odd one."""
    bits = 5 * precision
    lat_bits, lon_bits = bits // 2, (bits + 1) // 2
    return 180 / 2**lat_bits, 360 / 2**lon_bits


def cell_half_diagonal_m(precision: int, lat: float) -> float:
    """Half the diagonal of a cell of `precision` at latitude `lat`, in metres."""
    height, width = cell_size_deg(precision)
    height_m = height * METRES_PER_DEGREE
    width_m = width * METRES_PER_DEGREE * math.cos(math.radians(lat))
    return math.hypot(height_m, width_m) / 2
