"""The map tiles every map on the site draws on (the console, Burgernetmail's areas, the
citizens' action page), from settings.LEAFLET_CONFIG["TILES"]."""

from urllib.parse import urlsplit

from django.conf import settings


def tiles_url() -> str:
    """The tile address template ({z}/{x}/{y}); empty when no tiles are configured."""
    tiles = settings.LEAFLET_CONFIG.get("TILES") or ""
    if isinstance(tiles, list | tuple):  # django-leaflet's [(name, url, options), …]
        tiles = tiles[0][1] if tiles else ""
    return tiles


def tiles_attribution() -> str:
    """The credit the tiles' licence asks for under the map."""
    host = urlsplit(tiles_url()).hostname or ""
    return "© OpenStreetMap" if host.endswith("openstreetmap.org") else ""
