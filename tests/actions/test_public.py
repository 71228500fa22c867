"""The citizens' action page: what it shows in each state of the action, the tip form with
its limits, the links in pushes, and that nothing on it loads from other hosts."""

import io
import logging
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from apps.actions import public, services
from apps.actions.models import Action, Tip
from apps.governance.models import AuditEntry
from apps.web import photos
from tests import hostile_photos

from .conftest import action_fields, png_bytes, release

SITE = "https://www.burgernet.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "TILES": "/tiles/{z}/{x}/{y}.png"}
    cache.clear()  # the tip form is rate limited per IP
    yield
    cache.clear()


@pytest.fixture
def released(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


@pytest.fixture
def released_with_photo(operator_mn, photo):
    action = services.action_create(
        by=operator_mn,
        persons=[{"sex": "female", "age": "9", "length": "1,30 m", "clothing": "rode jas"}],
        vehicles=[
            {"make": "Volkswagen", "model": "Golf", "colour": "blauw", "licence_plate": "XX-123-Y"}
        ],
        photo=photo,
        **action_fields(kind="missing_child", title="Vermist meisje (9)"),
    )
    return release(action, operator_mn)


def page(action) -> str:
    return reverse("alerts:action", kwargs={"ref": action.ref})


def tip_url(action) -> str:
    return reverse("alerts:tip", kwargs={"ref": action.ref})


def photo_url(action) -> str:
    return reverse("alerts:photo", kwargs={"ref": action.ref})


def jpeg_upload(name="gezien.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (2400, 1200), (30, 90, 160)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def post_tip(client, action, **data):
    data.setdefault("text", "Meisje in rode jas bij het station gezien.")
    return client.post(tip_url(action), data)


# The page --------------------------------------------------------------------------------


def test_it_shows_the_signalement_photo_and_call_buttons(client, released_with_photo):
    response = client.get(page(released_with_photo))
    html = response.content.decode()

    assert response.status_code == 200
    assert "Vermist meisje (9)" in html
    assert "vermist kind" in html.lower()
    for text in ("vrouw", "9 jaar", "1,30 m", "rode jas", "Volkswagen", "Golf", "XX-123-Y"):
        assert text in html
    assert f'src="{photo_url(released_with_photo)}"' in html
    assert 'id="call-button" href="tel:08000011"' in html
    assert "Bel gratis 0800-0011" in html
    assert 'href="tel:112"' in html
    assert 'id="tip-form"' in html
    assert "Loopt slecht, is in de war." in html


def test_it_shows_the_area_as_a_circle_and_in_words(client, released):
    html = client.get(page(released)).content.decode()

    assert "Binnen een straal van 2 km in de omgeving van Utrecht." in html
    assert 'id="action-map"' in html
    assert 'data-radius="2000"' in html
    assert "leaflet/leaflet.js" in html
    assert "marker" not in html.lower()


def test_it_describes_the_area_in_words_without_tiles(client, released, settings):
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "TILES": ""}
    html = client.get(page(released)).content.decode()

    assert 'id="action-map"' not in html
    assert "leaflet.js" not in html
    assert "Binnen een straal van 2 km" in html


def test_it_shows_the_updates_in_order(client, released, operator_mn):
    services.action_update(action=released, by=operator_mn, text="Eerste update: richting park.")
    services.action_update(action=released, by=operator_mn, text="Tweede update: fiets gevonden.")
    html = client.get(page(released)).content.decode()

    assert html.index("Eerste update") < html.index("Tweede update")


def test_it_shows_the_end_message_and_takes_no_more_tips(client, released_with_photo, operator_mn):
    services.action_end(
        action=released_with_photo,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Ze is thuis.",
    )
    html = client.get(page(released_with_photo)).content.decode()

    assert 'id="end-message"' in html
    assert "gevonden" in html
    assert "Ze is thuis." in html
    assert 'id="tip-form"' not in html
    assert 'id="tips-closed"' in html
    # The signalement stays, the photo of the found child does not.
    assert "rode jas" in html
    assert photo_url(released_with_photo) not in html


def test_it_shows_the_correction_of_a_cancelled_action_instead_of_its_details(
    client, released_with_photo, operator_mn
):
    services.action_cancel(
        action=released_with_photo, by=operator_mn, text="Verstuurd door een vergissing."
    )
    html = client.get(page(released_with_photo)).content.decode()

    assert 'id="correction"' in html
    assert "Verstuurd door een vergissing." in html
    for gone in ("rode jas", "XX-123-Y", photo_url(released_with_photo), 'id="tip-form"'):
        assert gone not in html


def test_it_labels_an_exercise(client, operator_mn):
    action = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    services.action_release(action=action, by=operator_mn)
    html = client.get(page(action)).content.decode()

    assert 'id="exercise-banner"' in html
    assert "OEFENING" in html


def test_it_answers_404_for_an_unknown_ref(client, released):
    response = client.get("/actie/00000000-0000-4000-8000-000000000000/")

    assert response.status_code == 404


def test_it_answers_404_for_a_draft(client, draft_mn):
    assert client.get(page(draft_mn)).status_code == 404
    assert post_tip(client, draft_mn).status_code == 404
    assert not Tip.objects.exists()


def test_it_keeps_the_database_id_out_of_urls(client, released):
    assert client.get(f"/actie/{released.pk}/").status_code == 404
    message = released.release_message
    assert str(released.ref) in message.url
    assert f"/{released.pk}/" not in message.url
    html = client.get(page(released)).content.decode()
    for url in re.findall(r'(?:href|src|action)="([^"]*)"', html):
        assert f"/{released.pk}/" not in url


def test_it_answers_only_get_and_head_on_the_page_and_post_on_tips(client, released):
    assert client.head(page(released)).status_code == 200
    assert client.post(page(released)).status_code == 405
    assert client.get(tip_url(released)).status_code == 405


# Sharing and other hosts -----------------------------------------------------------------


def test_it_shares_to_whatsapp_with_the_page_url(client, released):
    html = client.get(page(released)).content.decode()
    share = re.search(r'id="share-whatsapp" href="([^"]+)"', html).group(1)

    assert share.startswith("https://wa.me/?text=")
    text = unquote(share.removeprefix("https://wa.me/?text="))
    assert released.title in text
    assert f"{SITE}/actie/{released.ref}/" in text
    assert 'id="share-button" hidden' in html  # shown by public.js where navigator.share is


def test_it_loads_nothing_from_other_hosts(client, released_with_photo):
    html = client.get(page(released_with_photo)).content.decode()

    for url in re.findall(r'(?:href|src)="([^"]*)"', html):
        if url.startswith(("tel:", "#", "/", f"{SITE}/")):  # our own: the canonical link
            continue
        assert url.startswith("https://wa.me/?text="), url
    # No inline scripts: every <script> has a src, or only carries JSON data.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


# Tips ------------------------------------------------------------------------------------


def test_it_accepts_a_tip_with_a_photo_through_prepare(client, released, monkeypatch):
    prepared = []
    prepare = photos.prepare

    def spy(upload):
        prepared.append(upload.name)
        return prepare(upload)

    monkeypatch.setattr(photos, "prepare", spy)
    response = post_tip(client, released, photo=jpeg_upload(), phone="06 12345678")

    assert response.status_code == 302
    assert response["Location"] == page(released) + "?tip=ontvangen#tip-sent"
    tip = Tip.objects.get(action=released)
    assert tip.text == "Meisje in rode jas bij het station gezien."
    assert tip.phone == "+31612345678"
    assert prepared == ["gezien.jpg"]
    assert "gezien" not in tip.photo.name
    with Image.open(tip.photo.path) as stored:
        assert max(stored.size) == photos.MAX_SIDE_PX  # resized by prepare


def test_it_thanks_the_tipster_on_the_page(client, released):
    response = client.get(post_tip(client, released)["Location"])
    html = response.content.decode()

    assert 'id="tip-sent"' in html
    assert "Bedankt voor uw tip." in html
    assert 'id="tip-form"' in html  # another tip is welcome


def test_it_takes_an_anonymous_tip_and_a_landline_to_call_back(client, released):
    post_tip(client, released, text="Anoniem.")
    post_tip(client, released, text="Bel me terug.", phone="030 123 4567")

    phones = dict(Tip.objects.values_list("text", "phone"))
    assert phones == {"Anoniem.": "", "Bel me terug.": "+31301234567"}


def test_it_refuses_a_tip_on_an_ended_action(client, released, operator_mn):
    services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="arrested",
        text="Aangehouden.",
    )
    response = post_tip(client, released)

    assert response.status_code == 409
    assert 'id="tips-closed"' in response.content.decode()
    assert not Tip.objects.exists()


def test_it_refuses_an_empty_tip_with_the_error_on_the_field(client, released):
    response = post_tip(client, released, text="   ")
    html = response.content.decode()

    assert response.status_code == 400
    assert 'id="error-summary"' in html
    assert 'href="#id_text"' in html
    assert "Beschrijf wat u zag." in html
    assert re.search(r'<textarea[^>]*aria-invalid="true"', html)
    assert not Tip.objects.exists()


def test_it_refuses_a_tip_that_is_too_long(client, released):
    response = post_tip(client, released, text="x" * 2001)

    assert response.status_code == 400
    assert not Tip.objects.exists()


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "geen geldig telefoonnummer"),
        ("+33 6 12 34 56 78", "Belgisch of Duits"),
        ("0900 1234567", "betaalnummer"),
        ("0612345678x", "geen geldig telefoonnummer"),
    ],
)
def test_it_refuses_an_invalid_phone(client, released, phone, message):
    response = post_tip(client, released, phone=phone)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Tip.objects.exists()


def test_it_refuses_a_file_that_is_not_an_image(client, released):
    fake = SimpleUploadedFile("foto.jpg", b"dit is gewoon tekst\n" * 50, content_type="image/jpeg")
    response = post_tip(client, released, photo=fake)
    html = response.content.decode()

    assert response.status_code == 400
    assert str(photos.MSG_NOT_AN_IMAGE) in html
    assert 'href="#id_photo"' in html
    assert not Tip.objects.exists()


def test_it_refuses_an_oversized_upload(client, released):
    huge = SimpleUploadedFile(
        "groot.png", png_bytes() + b"\0" * photos.MAX_UPLOAD_BYTES, content_type="image/png"
    )
    response = post_tip(client, released, photo=huge)

    assert response.status_code == 400
    assert str(photos.MSG_TOO_LARGE) in response.content.decode()
    assert not Tip.objects.exists()


def test_it_refuses_a_huge_request_before_reading_it(released, settings, huge_photo, bodies_read):
    # With the CSRF check on: the token would be looked for in the body, which is not read.
    client = Client(enforce_csrf_checks=True)
    response = post_tip(client, released, photo=huge_photo)
    assert bodies_read == []

    assert response.status_code == 413
    html = response.content.decode()
    assert 'id="tip-too-large"' in html and str(photos.MSG_TOO_LARGE) in html
    assert 'id="tip-form"' in html  # the citizen can try again with a smaller photo
    assert not Tip.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "tips").exists()


def test_it_rate_limits_tips_per_action_and_client(client, released):
    for _ in range(5):
        assert post_tip(client, released).status_code == 302
    response = post_tip(client, released)

    assert response.status_code == 429
    assert "te veel tips" in response.content.decode()
    assert Tip.objects.count() == 5
    # Another client is not held back.
    other = Client(REMOTE_ADDR="192.0.2.77")
    assert post_tip(other, released).status_code == 302


def test_it_rate_limits_tips_per_client_over_all_actions(
    client, released, operator_mn, monkeypatch
):
    monkeypatch.setitem(public.TIP_LIMITS, "tip.ip", (3, 3600))
    second = services.action_create(by=operator_mn, **action_fields(title="Tweede actie"))
    services.action_release(action=second, by=operator_mn)
    for action in (released, released, second):
        assert post_tip(client, action).status_code == 302

    assert post_tip(client, second).status_code == 429
    assert Tip.objects.count() == 3


def test_it_counts_refused_tips_too(client, released):
    for _ in range(5):
        post_tip(client, released, text="")
    assert post_tip(client, released).status_code == 429
    assert not Tip.objects.exists()


def test_it_ignores_a_bot_filling_the_hidden_field(client, released):
    response = post_tip(client, released, website="https://spam.example")

    assert response.status_code == 302
    assert not Tip.objects.exists()


def test_it_needs_the_csrf_token(released):
    client = Client(enforce_csrf_checks=True)
    response = post_tip(client, released)

    assert response.status_code == 403
    assert not Tip.objects.exists()


def test_it_keeps_the_tipsters_number_out_of_logs_and_audit(client, released, caplog):
    with caplog.at_level(logging.DEBUG):
        post_tip(client, released, phone="06 12345678")

    assert Tip.objects.get().phone == "+31612345678"
    assert "12345678" not in caplog.text
    entry = AuditEntry.objects.get(verb="tip.received")
    assert "12345678" not in str(entry.detail)


# Links in messages -----------------------------------------------------------------------


def test_it_links_every_message_to_the_page(released_with_photo, operator_mn):
    url = f"{SITE}/actie/{released_with_photo.ref}/"
    release = released_with_photo.release_message
    update = services.action_update(action=released_with_photo, by=operator_mn, text="Nieuws.")
    end = services.action_end(
        action=released_with_photo,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Gevonden.",
    )

    assert release.url == url
    assert release.data["image"] == SITE + photo_url(released_with_photo)
    assert update.message.url == url
    assert update.message.data["image"] == SITE + photo_url(released_with_photo)
    assert end.message.url == url
    assert "image" not in end.message.data  # the end message does not repeat the photo


def test_it_links_a_correction_to_the_page_and_omits_an_absent_photo(released, operator_mn):
    sent = services.action_cancel(action=released, by=operator_mn, text="Vergissing.")

    assert released.release_message.url == f"{SITE}/actie/{released.ref}/"
    assert "image" not in released.release_message.data
    assert sent.message.url == f"{SITE}/actie/{released.ref}/"
    assert Action.objects.get(pk=released.pk).state == Action.State.CANCELLED


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (hostile_photos.header_truncated_jpeg, photos.MSG_BROKEN),
        (hostile_photos.pixel_bomb_upload, photos.MSG_TOO_MANY_PIXELS),
    ],
)
def test_it_refuses_a_photo_it_cannot_or_may_not_decode(client, released, upload, message):
    response = post_tip(client, released, photo=upload())

    assert response.status_code == 400
    html = response.content.decode()
    assert str(message) in html and 'href="#id_photo"' in html
    assert not Tip.objects.exists()


def test_it_stores_a_tip_clean(client, released):
    assert post_tip(client, released, text="\u202eMeisje\u200b in rode jas").status_code == 302
    assert Tip.objects.get().text == "Meisje in rode jas"
