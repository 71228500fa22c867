"""Demo participants: a handful of confirmed registrations, without the network.

Needs the reference geography (`load_geography`). Idempotent: a demo number that exists
is left alone.
"""

from datetime import time

from django.db import transaction
from django.utils import timezone

from apps.governance.models import PostcodeArea

from . import schedule
from .geocoding import Location
from .models import ActiveWindow, Address, Participant

WEEKDAYS = schedule.days_to_mask(range(5))
WEEKEND = schedule.days_to_mask([5, 6])

# (phone, e-mail, e-mail postcode, [(label, country, postcode, number, windows, fixed location)])
DEMO = [
    (
        "+31612340001",
        "woerden@example.org",
        "3441 AB",
        [
            (
                "Thuis",
                "NL",
                "3441 AB",
                12,
                [(WEEKDAYS, time(18), time(23)), (WEEKEND, time(9), time(23))],
                None,
            ),
            ("Werk", "NL", "3511 AA", 1, [(WEEKDAYS, time(8), time(18))], None),
        ],
    ),
    ("+31612340002", "", "", [("Thuis", "NL", "3446 AA", 5, [], None)]),
    ("+31612340003", "utrecht@example.org", "3511 AA", [("Thuis", "NL", "3512 AB", 20, [], None)]),
    (
        "+31612340004",
        "",
        "",
        [("Thuis", "NL", "1012 AB", 7, [(schedule.ALL_DAYS, time(22), time(7))], None)],
    ),
    ("+31612340005", "", "", [("Werk", "NL", "1011 AB", 3, [], None)]),
    # Essen, Belgium, just across the border from Roosendaal.
    ("+32470000006", "", "", [("Thuis", "BE", "2910", 8, [], Location(51.4667, 4.4667))]),
]


def _dutch(postcode: str) -> Location:
    area = PostcodeArea.objects.select_related("municipality").get(pc4=postcode[:4])
    return Location(area.lat, area.lon, area.municipality)


# The demo year: people registered over the last two years across the country (so the
# annual report has a participation map), and web apps. Their numbers lie in a block no
# mobile number uses (+31 6 0…); most chose SMS and some a call, which the demo's channel
# schedule has phased out (the 2023 ceilings of 0), none gave an e-mail address, and the
# web apps have no fresh area cell: a demo action reaches none of them.
YEAR_PHONE_PREFIX = "+316000"
YEAR_PEOPLE = 2_400
YEAR_DEVICES = 3_600
YEAR_DAYS = 730


def load_year(seed: int = 2023) -> int:
    """The demo year's participants and devices, once; returns how many rows were made."""
    import random
    from datetime import timedelta

    from apps.governance.models import Municipality

    from .models import Device

    if Participant.objects.filter(phone__startswith=YEAR_PHONE_PREFIX).exists():
        return 0
    rng = random.Random(seed)
    places = list(
        Municipality.objects.exclude(lat=None).values_list("pk", "lat", "lon", "inhabitants")
    )
    weights = [(inhabitants or 20_000) * rng.uniform(0.3, 1.7) for *_rest, inhabitants in places]
    now = timezone.now()
    people, homes, devices = [], [], []
    for n in range(YEAR_PEOPLE):
        pk, lat, lon, _inh = rng.choices(places, weights)[0]
        created = now - timedelta(days=rng.random() * YEAR_DAYS)
        people.append(
            Participant(
                phone=f"{YEAR_PHONE_PREFIX}{n:05d}",
                phone_confirmed_at=created,
                wants_sms=rng.random() < 0.85,
                wants_voice=rng.random() < 0.2,
            )
        )
        homes.append((pk, lat, lon, created))
    Participant.objects.bulk_create(people, batch_size=1000)
    saved = list(Participant.objects.filter(phone__startswith=YEAR_PHONE_PREFIX).order_by("phone"))
    Address.objects.bulk_create(
        [
            Address(
                participant=participant,
                label="Thuis",
                country="NL",
                postcode="0000 AA",
                house_number=1 + n % 150,
                lat=lat + rng.gauss(0, 0.01),
                lon=lon + rng.gauss(0, 0.015),
                municipality_id=pk,
            )
            for n, (participant, (pk, lat, lon, _c)) in enumerate(zip(saved, homes, strict=True))
        ],
        batch_size=1000,
    )
    for participant, (*_rest, created) in zip(saved, homes, strict=True):
        participant.created_at = created
    Participant.objects.bulk_update(saved, ["created_at"], batch_size=1000)
    for n in range(YEAR_DEVICES):
        _pk, lat, lon, _inh = rng.choices(places, weights)[0]
        devices.append(
            Device(
                endpoint=f"https://push.demo.invalid/burgernet-demo-{n}",
                p256dh="demo",
                auth="demo",
                cell_lat=round(lat + rng.gauss(0, 0.02), 3),
                cell_lon=round(lon + rng.gauss(0, 0.03), 3),
                cell_updated_at=None,
            )
        )
    Device.objects.bulk_create(devices, batch_size=1000)
    made = list(Device.objects.filter(endpoint__startswith="https://push.demo.invalid/"))
    for device in made:
        device.created_at = now - timedelta(days=rng.random() * YEAR_DAYS)
    Device.objects.bulk_update(made, ["created_at"], batch_size=1000)
    return len(saved) + len(made)


@transaction.atomic
def load() -> int:
    """Create the demo participants that do not exist yet; return how many were created."""
    load_year()
    created = 0
    now = timezone.now()
    for phone, email, email_postcode, addresses in DEMO:
        if Participant.objects.filter(phone=phone).exists():
            continue
        email_location = _dutch(email_postcode) if email else None
        participant = Participant.objects.create(
            phone=phone,
            phone_confirmed_at=now,
            email=email,
            email_confirmed_at=now if email else None,
            email_postcode=email_postcode,
            email_lat=email_location.lat if email_location else None,
            email_lon=email_location.lon if email_location else None,
            email_municipality=email_location.municipality if email_location else None,
            wants_email=bool(email),
        )
        for label, country, postcode, number, windows, fixed in addresses:
            location = fixed or _dutch(postcode)
            address = Address.objects.create(
                participant=participant,
                label=label,
                country=country,
                postcode=postcode,
                house_number=number,
                lat=location.lat,
                lon=location.lon,
                municipality=location.municipality,
                always_active=not windows,
            )
            ActiveWindow.objects.bulk_create(
                ActiveWindow(address=address, days=days, start=start, end=end)
                for days, start, end in windows
            )
        created += 1
    return created
