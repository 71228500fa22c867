"""Builders of a small, known set of participants and web-app devices for the report and
retention tests, placed by postcode area (the offline geography of the test database) and
dated as the test says (created_at written after the insert: it is set on creation)."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from apps.governance.models import PostcodeArea
from apps.participants.models import (
    ActiveWindow,
    Address,
    Device,
    DevicePlace,
    ManageLink,
    Participant,
    PhoneCode,
)

AMS = ZoneInfo("Europe/Amsterdam")
_numbers = itertools.count(1)


def local(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=AMS)


def area(pc4: str) -> PostcodeArea:
    return PostcodeArea.objects.select_related("municipality").get(pc4=pc4)


def participant(
    *postcodes: str,
    created: dt.datetime,
    confirmed: bool = True,
    sms: bool = True,
    voice: bool = False,
    email: str = "",
    email_confirmed: bool = True,
    wants_email: bool = False,
    suppressed: bool = False,
) -> Participant:
    """A participant created at `created` with an address in each postcode area given."""
    n = next(_numbers)
    person = Participant.objects.create(
        phone=f"+3161{n:07d}",
        phone_confirmed_at=created if confirmed else None,
        wants_sms=sms,
        wants_voice=voice,
        email=email,
        email_confirmed_at=created if email and email_confirmed else None,
        email_suppressed_at=created if suppressed else None,
        email_suppressed_reason="bounced" if suppressed else "",
        wants_email=wants_email,
    )
    Participant.objects.filter(pk=person.pk).update(created_at=created)
    for i, pc4 in enumerate(postcodes):
        place = area(pc4)
        Address.objects.create(
            participant=person,
            label=f"Adres {i + 1}",
            postcode=f"{pc4} AB",
            house_number=i + 1,
            lat=place.lat,
            lon=place.lon,
            municipality=place.municipality,
        )
    person.refresh_from_db()
    return person


def device(
    *,
    created: dt.datetime,
    at: str | None = None,
    places: tuple[str, ...] = (),
    test: bool = False,
) -> Device:
    """A web-app device created at `created`, its live cell at the centre of postcode area
    `at` (none without), its fixed places at the centres of `places` (oldest first)."""
    n = next(_numbers)
    cell = area(at) if at else None
    made = Device.objects.create(
        endpoint=f"https://push.example/{n}",
        p256dh="key",
        auth="auth",
        cell="u17b0" if cell else "",
        cell_lat=cell.lat if cell else None,
        cell_lon=cell.lon if cell else None,
        cell_updated_at=created if cell else None,
        is_test_device=test,
    )
    Device.objects.filter(pk=made.pk).update(created_at=created)
    for i, pc4 in enumerate(places):
        place = area(pc4)
        fixed = DevicePlace.objects.create(
            device=made,
            cell=f"u17b{i}",
            cell_lat=place.lat,
            cell_lon=place.lon,
            is_test_device=test,
        )
        DevicePlace.objects.filter(pk=fixed.pk).update(created_at=created + dt.timedelta(hours=i))
    return made


def phone_code(person: Participant, *, expires_at: dt.datetime) -> PhoneCode:
    return PhoneCode.objects.create(participant=person, code_hash="x" * 64, expires_at=expires_at)


def manage_link(person: Participant, *, created: dt.datetime, used=None) -> ManageLink:
    link = ManageLink.objects.create(
        participant=person, nonce_hash=f"{next(_numbers):064d}", used_at=used
    )
    ManageLink.objects.filter(pk=link.pk).update(created_at=created)
    return link


def window(address: Address) -> ActiveWindow:
    return ActiveWindow.objects.create(address=address, days=1, start=dt.time(18), end=dt.time(23))
