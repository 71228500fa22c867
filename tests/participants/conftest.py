"""Fixtures for the registration site: SMS to the locmem outbox, an empty cache (rate
limits) per test, a stand-in Nominatim service on 127.0.0.1, and helpers to register.

The reference geography (the offline postcode table) comes from tests/conftest.py, which
loads it once into the test database.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.channels.senders import sms
from apps.participants import services
from apps.participants.geocoding import Location
from apps.participants.models import Participant


@pytest.fixture(autouse=True)
def _site(settings, geography):
    settings.SMS_BACKEND = "locmem"
    settings.GEOCODER_NL = "offline"
    settings.SITE_URL = "http://testserver"
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


class FakeNominatim:
    """Answers /search like Nominatim (format=json, addressdetails=1) from `places`."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/nominatim"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.reset()

    def reset(self):
        # (country code, postcode) → (lat, lon, place name[, country code answered])
        self.places = {
            ("be", "2910"): (51.4667, 4.4667, "Essen"),
            ("de", "47533"): (51.7886, 6.1386, "Kleve"),
            ("nl", "3441 AB"): (52.0870, 4.8830, "Woerden"),
        }
        self.status = 200
        self.delay_s = 0.0
        self.requests: list[dict] = []

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
                country = query.get("countrycodes", "")
                found = fake.places.get((country, query.get("postalcode")))
                results = []
                if found and url.path == "/nominatim/search":
                    lat, lon, place, *answered_country = found
                    results.append(
                        {
                            "place_id": 1001,
                            "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
                            "osm_type": "relation",
                            "osm_id": 2001,
                            "lat": str(lat),
                            "lon": str(lon),
                            "class": "boundary",
                            "type": "postal_code",
                            "place_rank": 21,
                            "importance": 0.12,
                            "addresstype": "postcode",
                            "name": query["postalcode"],
                            "display_name": f"{query['postalcode']}, {place}",
                            "address": {
                                "postcode": query["postalcode"],
                                "town": place,
                                "country_code": (answered_country or [country])[0],
                            },
                            "boundingbox": [
                                str(lat - 0.02),
                                str(lat + 0.02),
                                str(lon - 0.02),
                                str(lon + 0.02),
                            ],
                        }
                    )
                body = json.dumps(results).encode() if fake.status == 200 else b"down"
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


@pytest.fixture(scope="session")
def _nominatim_server():
    fake = FakeNominatim()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture(autouse=True)
def nominatim(_nominatim_server, settings):
    """The fake geocoder, reset, and GEOCODER_URL pointing at it."""
    _nominatim_server.reset()
    settings.GEOCODER_URL = _nominatim_server.url
    settings.GEOCODER_USER_AGENT = "burgernet-tests"
    settings.GEOCODER_TIMEOUT = 1.0
    return _nominatim_server


# Registration helpers --------------------------------------------------------------------

HOME = {"label": "Thuis", "country": "NL", "postcode": "3441 AB", "house_number": "12"}


def form_data(*, phone="06 12345678", addresses=(HOME,), **extra) -> dict:
    """POST data of the registration page. An address may carry "windows":
    [{"days": [0, 1], "start": "18:00", "end": "23:00"}, …] (schedule "chosen")."""
    data = {"phone": phone, "address_count": str(len(addresses)), "wants_sms": "on"}
    for i, address in enumerate(addresses):
        windows = address.get("windows", [])
        data[f"address-{i}-schedule"] = "chosen" if windows else "always"
        for key, value in address.items():
            if key != "windows":
                data[f"address-{i}-{key}"] = value
        for j, window in enumerate(windows):
            prefix = f"address-{i}-window-{j}"
            data[f"{prefix}-days"] = [str(d) for d in window["days"]]
            data[f"{prefix}-start"] = window["start"]
            data[f"{prefix}-end"] = window["end"]
    data.update(extra)
    return data


def sent_code(to: str | None = None) -> str:
    message = sms.outbox[-1]
    if to is not None:
        assert message.to == to
    return re.search(r"\b(\d{6})\b", message.text).group(1)


def link_in(text: str) -> str:
    """The path of the first link to the site in a message."""
    return urlsplit(re.search(r"http://testserver\S+", text).group(0)).path


@pytest.fixture
def register(client):
    """register(**form_data kwargs) → the response of the registration POST."""

    def post(remote_addr="127.0.0.1", **kwargs):
        return client.post(
            reverse("participants:register"), form_data(**kwargs), REMOTE_ADDR=remote_addr
        )

    return post


@pytest.fixture
def make_participant(db):
    """A confirmed participant with one address in Woerden (or as told), made directly."""
    from apps.governance.models import PostcodeArea

    def make(phone="+31612345678", *, email="", confirmed=True, addresses=1) -> Participant:
        area = PostcodeArea.objects.select_related("municipality").get(pc4="3441")
        location = Location(area.lat, area.lon, area.municipality)
        participant = Participant.objects.create(phone=phone)
        for n in range(addresses):
            services._create_address(
                participant,
                services.AddressInput(
                    label=f"Adres {n + 1}",
                    country="NL",
                    postcode="3441 AB",
                    house_number=n + 1,
                    location=location,
                    always_active=False,
                    windows=(services.WindowInput(days=0b11111, start=_t(8), end=_t(18)),),
                ),
            )
        if confirmed:
            Participant.objects.filter(pk=participant.pk).update(phone_confirmed_at=_now())
        if email:
            Participant.objects.filter(pk=participant.pk).update(
                email=email,
                email_postcode="3441 AB",
                email_confirmed_at=_now() if confirmed else None,
            )
        participant.refresh_from_db()
        return participant

    return make


def _t(hour):
    from datetime import time as dtime

    return dtime(hour)


def _now():
    from django.utils import timezone

    return timezone.now()


@pytest.fixture
def manage_client(client, make_participant):
    """manage_client(participant) → the test client in a manage session for it."""

    def open_session(participant):
        token = services._new_manage_link(participant)
        response = client.post(reverse("participants:manage_link", args=[token]))
        assert response.status_code == 302
        return client

    return open_session


# The outbox -------------------------------------------------------------------------------


def sms_sent() -> list:
    """The SMS sent so far, once the outbox workers have had their turn: a request only
    queues its SMS; this sends every due delivery in this process, as a worker's loop does
    (sweep, then claim and send chunks), and answers the locmem backend's outbox."""
    from apps.channels import outbox

    outbox.sweep()
    outbox.drain()
    return sms.outbox
