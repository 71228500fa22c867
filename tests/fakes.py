"""Stand-ins shared by the tests of several apps: a Nominatim service on 127.0.0.1 (the
fixture `nominatim` in tests/conftest.py serves it), points at a distance on the map, and
the VAPID key pair of the tests that sign or check a push."""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from apps.bench.pushendpoint import b64url
from apps.governance.geo import EARTH_RADIUS_M


def vapid_pair() -> tuple[str, str]:
    """A server key pair as production configures it: (private, public), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    return private, public


# The pair of the test run: in the settings of a test, and in a worker process's environment.
VAPID_PRIVATE, VAPID_PUBLIC = vapid_pair()


def point_at(origin: tuple[float, float], distance_m: float, bearing_deg: float = 0.0):
    """The point `distance_m` from `origin` in direction `bearing_deg` (0 = north), on the
    same sphere as apps.governance.geo."""
    lat1, lon1 = map(math.radians, origin)
    bearing = math.radians(bearing_deg)
    delta = distance_m / EARTH_RADIUS_M
    lat2 = math.asin(
        math.sin(lat1) * math.cos(delta) + math.cos(lat1) * math.sin(delta) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(lat1),
        math.cos(delta) - math.sin(lat1) * math.sin(lat2),
    )
    return math.degrees(lat2), math.degrees(lon2)


class FakeNominatim:
    """Answers /search like Nominatim (format=json, addressdetails=1): structured postcode
    queries (`postalcode`) from `places`, free text (`q`) from `addresses`; honours
    `countrycodes` unless `ignores_countries`. Every request is kept in `requests`."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/nominatim"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.reset()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        # (country code, postcode) → (lat, lon, place name[, country code answered])
        self.places = {
            ("be", "2910"): (51.4667, 4.4667, "Essen"),
            ("de", "47533"): (51.7886, 6.1386, "Kleve"),
            ("nl", "3441 AB"): (52.0870, 4.8830, "Woerden"),
        }
        # text (lower case) → (lat, lon, country code, house number, display name)
        self.addresses = {
            "stationsplein 1, utrecht": (
                52.0894,
                5.1101,
                "nl",
                "1",
                "1, Stationsplein, Utrecht, Nederland",
            ),
            "neude, utrecht": (52.0930, 5.1187, "nl", "", "Neude, Utrecht, Nederland"),
            "grote markt 1, hasselt": (50.9307, 5.3378, "be", "1", "1, Grote Markt, Hasselt"),
            "marienplatz 1, münchen": (48.1374, 11.5755, "de", "1", "1, Marienplatz, München"),
            "rue de rivoli 1, paris": (48.8556, 2.3590, "fr", "1", "1, Rue de Rivoli, Paris"),
        }
        self.status = 200
        self.delay_s = 0.0
        self.ignores_countries = False  # a service that answers from anywhere
        self.requests: list[dict] = []

    def _results(self, query: dict) -> list[dict]:
        countries = [c for c in query.get("countrycodes", "").split(",") if c]
        if "q" in query:
            found = self.addresses.get(query["q"].lower())
            if self.ignores_countries:
                countries = []
            if not found or (countries and found[2] not in countries):
                return []
            lat, lon, country, number, name = found
            address = {"country_code": country, **({"house_number": number} if number else {})}
        else:
            postcode = query.get("postalcode")
            found = self.places.get((",".join(countries), postcode))
            if not found:
                return []
            lat, lon, place, *answered = found
            name = f"{postcode}, {place}"
            country = (answered or countries)[0]
            address = {"postcode": postcode, "town": place, "country_code": country}
        return [
            {
                "place_id": 1001,
                "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
                "lat": str(lat),
                "lon": str(lon),
                "display_name": name,
                "address": address,
                "boundingbox": [str(lat - 0.02), str(lat + 0.02), str(lon - 0.02), str(lon + 0.02)],
            }
        ]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.requests.append(
                    {"path": url.path, "query": query, "agent": self.headers.get("User-Agent")}
                )
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                ok = fake.status == 200 and url.path == "/nominatim/search"
                body = json.dumps(fake._results(query)).encode() if ok else b"down"
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        return Handler
