"""Fixtures for the citizens' side of Burgernetmail and its inbox: participants with a
confirmed e-mail address in Woerden, sent mailings of Gemeente Woerden, links to them, and
small real (and fake) images. Test modules import what they use:

    from .fixtures_public import *  # noqa: F403
"""

import io
import itertools
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from apps.mail import links
from apps.mail.models import Kind, Mailing
from apps.participants.models import Participant

SITE = "https://www.burgernet.example"
_numbers = itertools.count(10_000_001)


@pytest.fixture(autouse=True)
def public_site(settings, tmp_path, geography):
    settings.SITE_URL = SITE
    settings.MEDIA_ROOT = str(tmp_path / "media")
    cache.clear()  # the respond form is rate limited per client
    yield
    cache.clear()


def make_participant(woerden, **fields) -> Participant:
    n = next(_numbers)
    values = {
        "phone": f"+316{n:08d}",
        "phone_confirmed_at": timezone.now(),
        "email": f"deelnemer{n}@example.nl",
        "email_confirmed_at": timezone.now(),
        "email_postcode": "3441AB",
        "email_municipality": woerden,
        "wants_email": True,
    }
    values.update(fields)
    return Participant.objects.create(**values)


@pytest.fixture
def participant(woerden):
    return make_participant(woerden)


@pytest.fixture
def other_participant(woerden):
    return make_participant(woerden)


def make_mailing(author, organisation, **fields) -> Mailing:
    values = {
        "kind": Kind.NEIGHBOURHOOD_INQUIRY,
        "subject": "Inbraak aan de Rijnstraat",
        "body": "Beste bewoner,\n\nIn de nacht van maandag op dinsdag is er ingebroken.",
        "organisation": organisation,
        "author": author,
        "incident_date": date(2024, 3, 12),
        "incident_place": "Rijnstraat, Woerden",
        "response_days": 14,
        "state": Mailing.State.SENT,
        "sent_at": timezone.now() - timedelta(hours=1),
    }
    values.update(fields)
    return Mailing.objects.create(**values)


@pytest.fixture
def inquiry(woerden_author, org_woerden):
    return make_mailing(woerden_author, org_woerden)


@pytest.fixture
def preventive(woerden_author, org_woerden):
    return make_mailing(
        woerden_author,
        org_woerden,
        kind=Kind.PREVENTIVE,
        subject="Zakkenrollers actief",
        incident_date=None,
        incident_place="",
    )


def respond_path(mailing, participant) -> str:
    return links.respond_url(links.make_respond_token(mailing, participant)).removeprefix(SITE)


def unsubscribe_path(mailing, participant) -> str:
    token = links.make_unsubscribe_token(mailing, participant)
    return links.unsubscribe_url(token).removeprefix(SITE)


def one_click_path(mailing, participant) -> str:
    token = links.make_unsubscribe_token(mailing, participant)
    return links.one_click_unsubscribe_url(token).removeprefix(SITE)


def image_bytes(fmt="JPEG", size=(2400, 1200), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def jpeg_upload(name="gezien.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type="image/jpeg")
