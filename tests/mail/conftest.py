"""Fixtures for Burgernetmail: participants with e-mail placed in Woerden and Utrecht,
mailings written through the services, an approver of Utrecht, and real and fake images.

Places used:
    Woerden (GM0632)  postcodes 3441–3449; WOERDEN is the centre of 3441
    Utrecht (GM0344)  postcodes 3511–3585; UTRECHT is the centre of 3511
"""

import io
import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.governance.models import PostcodeArea
from apps.participants.models import Address, Participant

AMS_TZ = ZoneInfo("Europe/Amsterdam")
WOERDEN = (52.0859, 4.8847)
UTRECHT = (52.0884, 5.1175)
_phones = itertools.count(20_000_000)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def make_reader(geography):
    """make_reader(("3441 AB", 12), ...) → a participant who may receive Burgernetmail, with
    a registered address per (postcode, house number) given, geocoded to the centre of the
    postcode area (or placed at `at=(lat, lon)`).

    Options: email_postcode="3441 AB" (and email_at=(lat, lon)), email_confirmed,
    suppressed, wants_email, email="" (no address), country="BE".
    """

    def make(
        *addresses,
        at=None,
        email_postcode="",
        email_at=None,
        email_confirmed=True,
        suppressed=False,
        wants_email=True,
        email="lezer@example.org",
        country="NL",
    ) -> Participant:
        moment = datetime(2024, 1, 1, tzinfo=AMS_TZ)
        email_area = _area(email_postcode) if email_postcode else None
        email_point = email_at or ((email_area.lat, email_area.lon) if email_area else None)
        participant = Participant.objects.create(
            phone=f"+316{next(_phones)}",
            phone_confirmed_at=moment,
            email=email,
            email_confirmed_at=moment if email_confirmed else None,
            email_suppressed_at=moment if suppressed else None,
            email_suppressed_reason="bounced" if suppressed else "",
            email_postcode=email_postcode,
            email_lat=email_point[0] if email_point else None,
            email_lon=email_point[1] if email_point else None,
            email_municipality=email_area.municipality if email_area else None,
            wants_email=wants_email,
        )
        for n, (postcode, number) in enumerate(addresses):
            area = _area(postcode) if country == "NL" else None
            point = at or (area.lat, area.lon)
            Address.objects.create(
                participant=participant,
                label=f"Adres {n + 1}",
                country=country,
                postcode=postcode,
                house_number=number,
                lat=point[0],
                lon=point[1],
                municipality=area.municipality if area else None,
            )
        return participant

    return make


def _area(postcode: str) -> PostcodeArea:
    return PostcodeArea.objects.select_related("municipality").get(pc4=postcode[:4])


def verdict(client, name, mailing, **data):
    """Approve or reject ("approve", "reject") from the mailing's page, as the approver's
    browser does: the page is opened, its forms carry the version it shows."""
    from django.urls import reverse

    page = client.get(reverse("mail:detail", args=[mailing.pk]))
    version = page.context["version"] if page.status_code == 200 else ""
    return client.post(reverse(f"mail:{name}", args=[mailing.pk]), {"version": version, **data})


def inquiry_fields(**overrides) -> dict:
    fields = {
        "kind": "inquiry",
        "subject": "Buurtonderzoek: inbraak in uw straat",
        "body": "Beste bewoner,\n\nHebt u iets gezien of gehoord?\n\n- personen\n- voertuigen",
        "incident_date": date(2024, 1, 1),
        "incident_place": "Rijnstraat, Woerden",
        "response_days": 14,
    }
    fields.update(overrides)
    return fields


@pytest.fixture
def make_mailing(db):
    """make_mailing(author, areas=[{"kind": "pc6", "postcode": "3441AB"}], **fields) → a
    draft written and given its areas through the services."""
    from apps.mail import services

    def make(author, *, areas=(), **fields):
        mailing = services.mailing_create(by=author, **inquiry_fields(**fields))
        for area in areas:
            services.area_add(mailing=mailing, by=author, **area)
        return mailing

    return make


@pytest.fixture
def utrecht_approver(make_staff_user, org_utrecht):
    from apps.governance.roles import Role

    return make_staff_user("goedkeurder-utrecht", org_utrecht, [Role.MAIL_APPROVER])


@pytest.fixture
def woerden_author_and_approver(make_staff_user, org_woerden):
    """A Woerden user with both mail roles: may write, and approve others' mailings."""
    from apps.governance.roles import Role

    return make_staff_user(
        "auteur-en-goedkeurder-woerden", org_woerden, [Role.MAIL_AUTHOR, Role.MAIL_APPROVER]
    )


def jpeg_with_exif() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (32, 24), (30, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x9003] = "2024:01:01 12:00:00"  # DateTimeOriginal
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


@pytest.fixture
def image_upload():
    return SimpleUploadedFile("straat.jpg", jpeg_with_exif(), content_type="image/jpeg")


@pytest.fixture
def fake_image_upload():
    """A script dressed up as an image: name and content type say JPEG, the bytes do not."""
    return SimpleUploadedFile(
        "foto.jpg", b"<script>alert('x')</script>" * 20, content_type="image/jpeg"
    )
