"""Fixtures for the registration site: SMS to the locmem outbox, an empty cache (rate
limits) per test, the stand-in Nominatim service of tests/conftest.py for every test, and
helpers to register.

The reference geography (the offline postcode table) comes from tests/conftest.py, which
loads it once into the test database.
"""

import re
from urllib.parse import urlsplit

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


@pytest.fixture(autouse=True)
def nominatim(nominatim):
    """Every test here has the fake geocoder (tests/conftest.py) at GEOCODER_URL."""
    return nominatim


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
