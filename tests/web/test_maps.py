"""The map tiles (web/maps.py), as the console, Burgernetmail and the action page use them."""

import pytest

from apps.web import maps

OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@pytest.mark.parametrize(
    ("tiles", "url"),
    [
        (OSM, OSM),
        ([("OSM", OSM, {})], OSM),  # django-leaflet's [(name, url, options), …]
        ([], ""),
        (None, ""),
    ],
)
def test_it_reads_the_tiles_in_either_form(settings, tiles, url):
    settings.LEAFLET_CONFIG = {"TILES": tiles}
    assert maps.tiles_url() == url


def test_it_credits_openstreetmap_for_its_tiles_only(settings):
    settings.LEAFLET_CONFIG = {"TILES": OSM}
    assert maps.tiles_attribution() == "© OpenStreetMap"
    settings.LEAFLET_CONFIG = {"TILES": "https://tegels.example/{z}/{x}/{y}.png"}
    assert maps.tiles_attribution() == ""
    settings.LEAFLET_CONFIG = {}
    assert maps.tiles_url() == "" and maps.tiles_attribution() == ""
