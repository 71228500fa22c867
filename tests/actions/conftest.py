"""Fixtures for actions and targeting: participants and devices placed on the map, fixed
moments in Dutch local time, draft actions per region, and a tiny real photo.

Places used (lat, lon):
    UTRECHT        the Dom, Utrecht (unit Midden-Nederland)
    AMSTERDAM      the Dam (unit Amsterdam)
    BAARLE_NASSAU  Baarle-Nassau, with the Belgian enclaves of Baarle-Hertog around it
    MAASTRICHT     Vrijthof, a few kilometres from Belgium
"""

import io
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.participants import schedule
from apps.participants.models import ActiveWindow, Address, Device, Participant
from tests import fakes

AMS_TZ = ZoneInfo("Europe/Amsterdam")
UTRECHT = (52.0907, 5.1214)
AMSTERDAM = (52.3731, 4.8926)
BAARLE_NASSAU = (51.4475, 4.9290)
MAASTRICHT = (50.8483, 5.6889)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
# 2024-01-01 is a Monday: local(MON, 20) is Monday 1 January 2024, 20:00 in Amsterdam.
_FIRST_MONDAY = datetime(2024, 1, 1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """An aware moment on a weekday (0 = Monday) of the first week of 2024, Dutch time."""
    naive = _FIRST_MONDAY + timedelta(days=day, hours=hour, minutes=minute)
    return naive.replace(tzinfo=AMS_TZ)


def days(*weekdays: int) -> int:
    return schedule.days_to_mask(weekdays)


point_at = fakes.point_at  # tests/e2e import it from here


_phones = itertools.count(10_000_000)


@pytest.fixture
def make_participant(db):
    """make_participant(UTRECHT, ...) → a confirmed participant with an always-active
    address at each point given.

    Options: windows=[(days_mask, start, end), …] (the addresses are then active only
    then), wants_sms / wants_voice / wants_email, email_confirmed, confirmed (phone),
    quiet=(start, end), country="BE".
    """

    def make(
        *points,
        windows=(),
        wants_sms=True,
        wants_voice=False,
        wants_email=False,
        email_confirmed=False,
        confirmed=True,
        quiet=None,
        country="NL",
    ) -> Participant:
        confirmed_at = datetime(2023, 12, 1, tzinfo=AMS_TZ)
        participant = Participant.objects.create(
            phone=f"+316{next(_phones)}",
            phone_confirmed_at=confirmed_at if confirmed else None,
            email="deelnemer@example.org" if wants_email or email_confirmed else "",
            email_confirmed_at=confirmed_at if email_confirmed else None,
            wants_sms=wants_sms,
            wants_voice=wants_voice,
            wants_email=wants_email,
            quiet_start=quiet[0] if quiet else None,
            quiet_end=quiet[1] if quiet else None,
        )
        for n, (lat, lon) in enumerate(points):
            address = Address.objects.create(
                participant=participant,
                label=f"Adres {n + 1}",
                country=country,
                postcode="0000",
                house_number=n + 1,
                lat=lat,
                lon=lon,
                always_active=not windows,
            )
            for mask, start, end in windows:
                ActiveWindow.objects.create(address=address, days=mask, start=start, end=end)
        return participant

    return make


@pytest.fixture
def make_device(db):
    """make_device(UTRECHT, updated=<moment>, test=False, cell=...) → a web-app device whose
    cell centre is the point given (the cell string only needs the right length)."""
    counter = itertools.count(1)

    def make(point, *, updated, test=False, cell="u178k") -> Device:
        n = next(counter)
        return Device.objects.create(
            endpoint=f"https://push.example.org/send/{n}",
            p256dh="key",
            auth="auth",
            cell=cell,
            cell_lat=point[0] if point else None,
            cell_lon=point[1] if point else None,
            cell_updated_at=updated,
            is_test_device=test,
        )

    return make


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def photo():
    return SimpleUploadedFile("kind.png", png_bytes(), content_type="image/png")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def action_fields(**overrides) -> dict:
    fields = {
        "kind": "missing_person",
        "title": "Vermiste man (82)",
        "text": "Loopt slecht, is in de war.",
        "lat": UTRECHT[0],
        "lon": UTRECHT[1],
        "radius_m": 2000,
    }
    fields.update(overrides)
    return fields


def release(action, by):
    """`action` released by `by` (actions.services.action_release), as stored after it."""
    from apps.actions import services

    services.action_release(action=action, by=by)
    action.refresh_from_db()
    return action


def approve_and_release(action, submitter, approver, *, at=None):
    """An action that needs two people (an AMBER Alert, a kind a manager marked) submitted
    by `submitter` and approved, so released, by `approver` (actions/approval.py).
    Returns the release (services.Sent)."""
    from apps.actions import approval

    approval.action_submit(action=action, by=submitter)
    version = approval.action_version(action)
    sent = approval.action_approve(action=action, by=approver, version=version, at=at)
    action.refresh_from_db()
    return sent


@pytest.fixture
def second_national_operator(make_staff_user, org_national_unit):
    """Another national operator of the Landelijke Eenheid: the second person."""
    from apps.governance.roles import Role

    return make_staff_user("landelijk-2", org_national_unit, [Role.NATIONAL_OPERATOR])


@pytest.fixture
def draft_mn(operator_mn):
    """A draft missing-person action of Midden-Nederland, 2 km around the Dom of Utrecht."""
    from apps.actions import services

    return services.action_create(
        by=operator_mn,
        persons=[{"sex": "male", "age": "82", "clothing": "grijze jas"}],
        **action_fields(),
    )


@pytest.fixture
def draft_ams(operator_ams):
    from apps.actions import services

    return services.action_create(
        by=operator_ams,
        **action_fields(
            kind="robbery", title="Overval juwelier", lat=AMSTERDAM[0], lon=AMSTERDAM[1]
        ),
    )
