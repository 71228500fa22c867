"""The municipalities as SVG paths, for the annual report's participation map.

Reads the shipped CBS / PDOK boundaries (data/gemeente_2025.topojson, CC-BY 4.0; see
data/README.md) once per process: decodes the quantized, delta-encoded arcs, projects
longitude/latitude onto a plane (equirectangular, longitudes shortened by the cosine of the
country's middle latitude: true enough in shape at this size) and writes one path per
municipality, keyed by CBS code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TOPOJSON = Path(__file__).resolve().parent / "data" / "gemeente_2025.topojson"
OBJECT = "gemeente_2025"
ATTRIBUTION = "CBS / PDOK"
# The map's width in SVG units for the whole country; a smaller area is shown larger.
WIDTH = 600.0
MID_LATITUDE = 52.2


@dataclass(frozen=True)
class Shape:
    code: str  # CBS code, GM0344
    name: str
    d: str  # SVG path data
    bbox: tuple[float, float, float, float]  # min x, min y, max x, max y


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale_x, scale_y = topology["transform"]["scale"]
    move_x, move_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * scale_x + move_x, y * scale_y + move_y))
        arcs.append(points)
    return arcs


def _ring(arcs, indexes) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])
    return points


@lru_cache(maxsize=1)
def shapes() -> dict[str, Shape]:
    """Every municipality's shape, by CBS code (read and projected once per process)."""
    topology = json.loads(TOPOJSON.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)
    shrink = math.cos(math.radians(MID_LATITUDE))
    all_points = [p for arc in arcs for p in arc]
    min_lon = min(p[0] for p in all_points)
    max_lon = max(p[0] for p in all_points)
    max_lat = max(p[1] for p in all_points)
    factor = WIDTH / ((max_lon - min_lon) * shrink)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - min_lon) * shrink * factor, (max_lat - lat) * factor

    found = {}
    for geometry in topology["objects"][OBJECT]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        parts = []
        xs, ys = [], []
        for polygon in polygons:
            for ring in polygon:
                projected = [project(*p) for p in _ring(arcs, ring)]
                xs += [p[0] for p in projected]
                ys += [p[1] for p in projected]
                parts.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in projected[:-1]) + "Z")
        properties = geometry["properties"]
        code = properties["statcode"]
        found[code] = Shape(
            code=code,
            name=properties["statnaam"],
            d="".join(parts),
            bbox=(min(xs), min(ys), max(xs), max(ys)),
        )
    return found


def view_box(codes, margin: float = 4.0) -> str:
    """The SVG viewBox around the shapes of these codes ("" when none is known)."""
    boxes = [shapes()[c].bbox for c in codes if c in shapes()]
    if not boxes:
        return ""
    x0 = min(b[0] for b in boxes) - margin
    y0 = min(b[1] for b in boxes) - margin
    x1 = max(b[2] for b in boxes) + margin
    y1 = max(b[3] for b in boxes) + margin
    return f"{x0:.1f} {y0:.1f} {x1 - x0:.1f} {y1 - y0:.1f}"
