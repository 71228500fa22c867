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


@transaction.atomic
def load() -> int:
    """Create the demo participants that do not exist yet; return how many were created."""
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
