"""The respond form of a buurtonderzoek, opened from the link in the mail: answering,
adding to an earlier answer, photos, and every way a link can be wrong."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from apps.governance.models import AuditEntry
from apps.mail import public, services
from apps.mail.models import Mailing, Response, ResponseEntry
from apps.web import photos
from tests import hostile_photos

from .fixtures_public import *  # noqa: F403
from .fixtures_public import (
    image_bytes,
    jpeg_upload,
    make_mailing,
    one_click_path,
    respond_path,
)


def answer(**extra) -> dict:
    return {"observation": "Om 3 uur een man met een zaklamp in de tuin van nr. 12.", **extra}


# The page --------------------------------------------------------------------------------


def test_it_shows_the_form_for_a_sent_buurtonderzoek(client, inquiry, participant):
    response = client.get(respond_path(inquiry, participant))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Inbraak aan de Rijnstraat" in page
    assert "Gemeente Woerden" in page
    assert 'id="respond-form"' in page
    assert 'for="id_observation"' in page  # every field has its label
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_saves_an_answer_with_contact_details(client, inquiry, participant):
    data = answer(
        observed_when="dinsdagnacht",
        contact_name="J. de Vries",
        contact_phone="06 12345678",
        contact_email="j.devries@example.nl",
        may_call="on",
    )
    response = client.post(respond_path(inquiry, participant), data)
    assert response.status_code == 302
    assert response["Location"].endswith(f"?{public.SENT}#sent")
    saved = Response.objects.get(mailing=inquiry, participant=participant)
    assert saved.status == Response.Status.NEW
    assert saved.contact_name == "J. de Vries"
    assert saved.contact_phone == "+31612345678"
    assert saved.contact_email == "j.devries@example.nl"
    assert saved.may_call is True
    entry = saved.entries.get()
    assert entry.observation.startswith("Om 3 uur")
    assert entry.observed_when == "dinsdagnacht"
    thanks = client.get(response["Location"])
    assert "Bedankt voor uw reactie" in thanks.content.decode()


def test_it_audits_an_answer_without_personal_data(client, inquiry, participant):
    client.post(respond_path(inquiry, participant), answer(contact_phone="0612345678"))
    entry = AuditEntry.objects.get(verb="mail.response.received")
    assert entry.detail["mailing"] == inquiry.pk
    assert entry.actor is None and entry.ip is None
    assert "612345678" not in str(entry.detail) + entry.target_repr


def test_it_requires_what_was_seen(client, inquiry, participant):
    response = client.post(respond_path(inquiry, participant), {"observation": "   "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Beschrijf wat u heeft gezien of gehoord." in page
    assert 'href="#id_observation"' in page  # the error summary links to the field
    assert not Response.objects.exists()


@pytest.mark.parametrize("phone", ["12345", "0612345678x", "030 123 4567 toestel 12"])
def test_it_refuses_a_bad_phone_number_and_saves_nothing(client, inquiry, participant, phone):
    response = client.post(respond_path(inquiry, participant), answer(contact_phone=phone))
    assert response.status_code == 400
    assert "geen geldig telefoonnummer" in response.content.decode()
    assert not Response.objects.exists()


def test_it_asks_for_a_number_when_we_may_call(client, inquiry, participant):
    response = client.post(respond_path(inquiry, participant), answer(may_call="on"))
    assert response.status_code == 400
    assert "Vul uw telefoonnummer in als wij u mogen bellen." in response.content.decode()
    assert not Response.objects.exists()


def test_it_ignores_a_bot_that_fills_the_hidden_field(client, inquiry, participant):
    response = client.post(respond_path(inquiry, participant), answer(website="http://spam"))
    assert response.status_code == 302
    assert not Response.objects.exists()


# Photos ----------------------------------------------------------------------------------


def test_it_stores_a_photo_resized_and_without_metadata(client, inquiry, participant):
    exif = Image.Exif()
    exif[0x010F] = "Camera van de buren"  # Make
    exif[0x8825] = {1: "N", 2: (52.0, 5.0, 0.0)}  # GPS
    upload = jpeg_upload(exif=exif.tobytes())
    response = client.post(respond_path(inquiry, participant), answer(photo=upload))
    assert response.status_code == 302
    entry = ResponseEntry.objects.get()
    with entry.photo.open("rb") as handle, Image.open(handle) as image:
        assert max(image.size) == photos.MAX_SIDE_PX
        assert not image.getexif()
    assert "gezien" not in entry.photo.name  # a random name, not the uploader's


def test_it_refuses_a_file_that_is_no_image(client, inquiry, participant):
    fake = SimpleUploadedFile("foto.jpg", b"%PDF-1.4 dit is geen foto", content_type="image/jpeg")
    response = client.post(respond_path(inquiry, participant), answer(photo=fake))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Dit bestand is geen foto." in page
    assert 'href="#id_photo"' in page
    assert not Response.objects.exists()
    assert not ResponseEntry.objects.exists()


def test_it_refuses_an_oversized_file(client, inquiry, participant, monkeypatch):
    monkeypatch.setattr(photos, "MAX_UPLOAD_BYTES", 50_000)
    big = SimpleUploadedFile("groot.png", image_bytes("PNG", size=(600, 600)) + b"\0" * 60_000)
    response = client.post(respond_path(inquiry, participant), answer(photo=big))
    assert response.status_code == 400
    assert "De foto is te groot" in response.content.decode()
    assert not Response.objects.exists()


def test_it_refuses_a_huge_request_before_reading_it(
    inquiry, participant, settings, huge_photo, bodies_read
):
    # With the CSRF check on: the token would be looked for in the body, which is not read.
    client = Client(enforce_csrf_checks=True)
    response = client.post(respond_path(inquiry, participant), answer(photo=huge_photo))
    assert bodies_read == []

    assert response.status_code == 413
    page = response.content.decode()
    assert '<html lang="nl">' in page
    assert str(photos.MSG_TOO_LARGE) in page and "Uw reactie is niet verstuurd" in page
    assert 'href="#id_photo"' in page  # the error summary leads to the photo field
    assert 'id="respond-form"' in page  # the citizen can try again with a smaller photo
    assert "Beschrijf wat u heeft gezien of gehoord." not in page  # nothing was left out
    assert not Response.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "mail").exists()


def test_it_still_checks_the_csrf_token_of_an_answer(inquiry, participant):
    client = Client(enforce_csrf_checks=True)
    path = respond_path(inquiry, participant)
    client.get(path)  # the CSRF cookie, but no token in the form data
    response = client.post(path, answer())
    assert response.status_code == 403
    assert not Response.objects.exists()


def test_it_keeps_an_earlier_answer_when_an_addition_has_a_bad_photo(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    client.post(path, answer())
    fake = SimpleUploadedFile("x.png", b"not a png", content_type="image/png")
    response = client.post(path, answer(observation="Nog iets", photo=fake))
    assert response.status_code == 400
    assert ResponseEntry.objects.count() == 1


# Adding to an earlier answer ---------------------------------------------------------------


def test_it_adds_to_an_earlier_answer_and_marks_it_new_again(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    client.post(path, answer(contact_name="Jan", contact_phone="0612345678", may_call="on"))
    Response.objects.update(status=Response.Status.FOLLOWED_UP)

    page = client.get(path).content.decode()
    assert "al gereageerd" in page
    assert "Aanvulling versturen" in page

    # Permission to call needs no new number: the earlier one stands.
    response = client.post(path, answer(observation="Ook een scooter gehoord.", may_call="on"))
    assert response.status_code == 302
    saved = Response.objects.get()
    assert saved.status == Response.Status.NEW
    assert [e.observation for e in saved.entries.all()][1] == "Ook een scooter gehoord."
    assert saved.contact_name == "Jan"  # left empty: kept
    assert saved.contact_phone == "+31612345678"
    assert AuditEntry.objects.filter(verb="mail.response.received").count() == 2
    entries = AuditEntry.objects.filter(verb="mail.response.received").order_by("pk")
    assert [e.detail["addition"] for e in entries] == [False, True]


def test_it_replaces_contact_details_given_again(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    client.post(path, answer(contact_email="oud@example.nl"))
    client.post(path, answer(contact_email="nieuw@example.nl"))
    assert Response.objects.get().contact_email == "nieuw@example.nl"


def test_it_keeps_one_response_per_participant(client, inquiry, participant, other_participant):
    client.post(respond_path(inquiry, participant), answer())
    client.post(respond_path(inquiry, participant), answer())
    client.post(respond_path(inquiry, other_participant), answer())
    assert Response.objects.count() == 2
    assert ResponseEntry.objects.count() == 3


# Links that do not work ------------------------------------------------------------------


def test_it_says_responding_is_closed_after_the_deadline(client, inquiry, participant):
    inquiry.sent_at = timezone.now() - timedelta(days=inquiry.response_days, minutes=1)
    path = respond_path(inquiry, participant)
    for response in (client.get(path), client.post(path, answer())):
        assert response.status_code == 410
        assert "Reageren op dit buurtonderzoek is gesloten" in response.content.decode()
    assert not Response.objects.exists()


def test_it_rejects_a_tampered_link(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    token = path.split("/")[-2]
    last = "A" if token[-1] != "A" else "B"
    bad = path.replace(token, token[:-1] + last)
    for response in (client.get(bad), client.post(bad, answer())):
        assert response.status_code == 400
        assert "Deze link werkt niet" in response.content.decode()
    assert not Response.objects.exists()


def test_it_rejects_the_link_of_a_deleted_registration(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    participant.delete()
    response = client.post(path, answer())
    assert response.status_code == 400
    assert "Deze link werkt niet" in response.content.decode()
    assert not Response.objects.exists()


def test_it_takes_answers_only_for_a_buurtonderzoek(client, preventive, participant):
    response = client.post(respond_path(preventive, participant), answer())
    assert response.status_code == 400
    assert not Response.objects.exists()


@pytest.mark.parametrize("state", [Mailing.State.DRAFT, Mailing.State.SUBMITTED])
def test_it_takes_no_answers_for_an_unsent_mailing(
    client, woerden_author, org_woerden, participant, state
):
    draft = make_mailing(woerden_author, org_woerden, state=state, sent_at=None)
    response = client.post(respond_path(draft, participant), answer())
    assert response.status_code == 400
    assert not Response.objects.exists()


def test_the_service_refuses_a_mailing_that_takes_no_answers(preventive, participant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.response_submit(mailing=preventive, participant=participant, observation="x")
    assert not Response.objects.exists()


# Rate limit ------------------------------------------------------------------------------


def test_it_limits_submissions_per_link_and_client(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    limit, _window = public.RESPOND_LIMITS["respond.link_ip"]
    for _ in range(limit):
        assert client.post(path, answer()).status_code == 302
    response = client.post(path, answer())
    assert response.status_code == 429
    assert ResponseEntry.objects.count() == limit


def test_it_does_not_count_viewing_the_page(client, inquiry, participant):
    path = respond_path(inquiry, participant)
    limit, _window = public.RESPOND_LIMITS["respond.link_ip"]
    for _ in range(limit + 2):
        assert client.get(path).status_code == 200
    assert client.post(path, answer()).status_code == 302


def test_it_allows_only_get_and_post(client, inquiry, participant):
    assert client.put(respond_path(inquiry, participant)).status_code == 405


# The RFC 8058 one-click answers (read by mail clients, shown by some) ---------------------


def test_the_one_click_endpoint_answers_in_short_dutch_texts(
    client, preventive, participant, monkeypatch
):
    from apps.mail import links

    path = one_click_path(preventive, participant)
    token = path.split("/")[-3]
    tampered = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    answers = [
        client.post(path, {}),
        client.post(tampered, {"List-Unsubscribe": "One-Click"}),
        client.post(path, {"List-Unsubscribe": "One-Click"}),
    ]
    monkeypatch.setattr(links, "UNSUBSCRIBE_MAX_AGE_S", -1)
    answers.append(client.post(path, {"List-Unsubscribe": "One-Click"}))

    assert [(r.status_code, r.content.decode()) for r in answers] == [
        (400, "Ongeldig verzoek."),
        (400, "Deze afmeldlink werkt niet."),
        (200, "U bent afgemeld voor e-mail van Burgernet."),
        (410, "Deze afmeldlink is verlopen."),
    ]
    assert all(r["Content-Type"] == "text/plain; charset=utf-8" for r in answers)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (hostile_photos.header_truncated_jpeg, photos.MSG_BROKEN),
        (hostile_photos.pixel_bomb_upload, photos.MSG_TOO_MANY_PIXELS),
    ],
)
def test_it_refuses_a_photo_it_cannot_or_may_not_decode(
    client, inquiry, participant, upload, message
):
    response = client.post(respond_path(inquiry, participant), answer(photo=upload()))

    assert response.status_code == 400
    page = response.content.decode()
    assert str(message) in page and 'href="#id_photo"' in page
    assert not Response.objects.exists()


def test_it_stores_a_response_clean(client, inquiry, participant):
    data = answer(observation="Een man\u202e met\u200b zaklamp", contact_name="Jan\u2060 de Vries")
    assert client.post(respond_path(inquiry, participant), data).status_code == 302
    entry = ResponseEntry.objects.get()
    assert entry.observation == "Een man met zaklamp"
    assert entry.response.contact_name == "Jan de Vries"
