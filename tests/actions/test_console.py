"""The operator console: overview, new action, reach, the verbs, the live panel."""

import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.actions import services
from apps.actions.forms import MSG_POINT_OUTSIDE, AddressSearchForm
from apps.actions.models import Action, Tip
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.governance.models import AuditEntry, PostcodeArea
from apps.web import photos
from tests import hostile_photos
from tests.fakes import point_at

from .conftest import AMSTERDAM, UTRECHT, action_fields, approve_and_release, png_bytes, release

pytestmark = pytest.mark.django_db


@pytest.fixture
def mn(staff_client, operator_mn):
    return staff_client(operator_mn)


@pytest.fixture
def ams(staff_client, operator_ams):
    return staff_client(operator_ams)


@pytest.fixture
def alerted(make_participant, make_device):
    """Two participants (SMS) and one app device around the Dom of Utrecht."""
    make_participant(UTRECHT)
    make_participant(UTRECHT)
    make_device(UTRECHT, updated=timezone.now() - timedelta(minutes=5))


@pytest.fixture
def released_mn(draft_mn, operator_mn, alerted):
    return release(draft_mn, operator_mn)


def _mark_sent(action):
    """The release reached everyone (the end message and correction go to those reached)."""
    Delivery.objects.filter(message=action.release_message).update(state=Delivery.State.SENT)


def _form_data(**overrides) -> dict:
    data = {
        "kind": "missing_person",
        "is_time_critical": "on",
        "title": "Vermiste vrouw (79)",
        "text": "Dementerend, loopt met rollator.",
        "lat": str(UTRECHT[0]),
        "lon": str(UTRECHT[1]),
        "radius_m": "2000",
        "person-TOTAL_FORMS": "1",
        "person-INITIAL_FORMS": "0",
        "person-0-sex": "female",
        "person-0-age": "79",
        "person-0-clothing": "rode jas",
        "vehicle-TOTAL_FORMS": "1",
        "vehicle-INITIAL_FORMS": "0",
        "vehicle-0-make": "",
    }
    data.update(overrides)
    return data


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (52.0, 5.0, 27.0)
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1000), (9, 9, 9)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


# The overview ----------------------------------------------------------------------------------


def test_it_shows_active_actions_of_my_region_only(mn, draft_mn, draft_ams):
    response = mn.get(reverse("console:index"))
    assert response.status_code == 200
    assert draft_mn.title.encode() in response.content
    assert draft_ams.title.encode() not in response.content


def test_it_renders_the_active_partial(mn, released_mn):
    response = mn.get(reverse("console:active"))
    assert response.status_code == 200
    assert b'id="active-actions"' in response.content
    assert released_mn.title.encode() in response.content
    assert b"<html" not in response.content


def test_it_labels_exercises_in_the_list(mn, operator_mn):
    services.action_create(by=operator_mn, **action_fields(is_exercise=True, title="Training"))
    response = mn.get(reverse("console:active"))
    assert b"OEFENING" in response.content


def test_it_searches_the_history(mn, operator_mn, alerted):
    for title, kind in (("Overval tankstation", "robbery"), ("Vermiste jongen", "missing_child")):
        action = services.action_create(by=operator_mn, **action_fields(title=title, kind=kind))
        services.action_release(action=action, by=operator_mn)
        services.action_end(
            action=action,
            by=operator_mn,
            information_contributed=True,
            result="arrested",
            text="Klaar.",
        )

    by_title = mn.get(reverse("console:index"), {"q": "tankstation"})
    by_kind = mn.get(reverse("console:index"), {"kind": "missing_child"})
    by_date = mn.get(reverse("console:index"), {"date": "2001-01-01"})

    assert b"Overval tankstation" in by_title.content
    assert b"Vermiste jongen" not in by_title.content
    assert b"Vermiste jongen" in by_kind.content
    assert b"Overval tankstation" not in by_kind.content
    assert b"Geen acties gevonden" in by_date.content


def test_it_pages_the_history(mn, operator_mn, alerted, monkeypatch):
    from apps.actions import console

    monkeypatch.setattr(console, "HISTORY_PAGE_SIZE", 1)
    for n in range(2):
        action = services.action_create(by=operator_mn, **action_fields(title=f"Actie {n}"))
        services.action_release(action=action, by=operator_mn)
        services.action_cancel(action=action, by=operator_mn, text="Vergissing.")
    first = mn.get(reverse("console:index"))
    second = mn.get(reverse("console:index"), {"page": 2})
    assert b"Pagina 1 van 2" in first.content
    assert b"Pagina 2 van 2" in second.content


def test_it_sends_anonymous_users_to_the_login(client):
    response = client.get(reverse("console:index"))
    assert response.status_code == 302
    assert reverse("governance:login") in response["Location"]


def test_it_refuses_staff_without_an_action_role(staff_client, woerden_author):
    client = staff_client(woerden_author)
    assert client.get(reverse("console:index")).status_code == 403
    assert client.get(reverse("console:active")).status_code == 403


# Managers follow actions read-only -------------------------------------------------------------


@pytest.fixture
def beheer(staff_client, manager):
    return staff_client(manager)


def test_it_lets_a_manager_follow_every_region_read_only(
    beheer, released_mn, draft_ams, operator_mn
):
    services.tip_submit(action=released_mn, text="Man gezien bij de Neude.")
    _mark_sent(released_mn)
    ended = services.action_create(by=operator_mn, **action_fields(title="Overval snackbar"))
    services.action_release(action=ended, by=operator_mn)
    services.action_end(
        action=ended,
        by=operator_mn,
        information_contributed=True,
        result="arrested",
        text="Aangehouden.",
    )

    index = beheer.get(reverse("console:index")).content.decode()
    assert released_mn.title in index and draft_ams.title in index  # the whole country
    assert "Overval snackbar" in index  # the history
    assert 'id="new-action"' not in index
    assert reverse("console:create") not in index
    assert beheer.get(reverse("console:active")).status_code == 200

    response = beheer.get(reverse("console:detail", args=[released_mn.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="read-only"' in content
    assert 'id="sending-table"' in content and "Man gezien bij de Neude." in content
    for form in ("stop-form", "update-form", "end-form", "cancel-form", "release-form"):
        assert f'id="{form}"' not in content
    assert reverse("console:tip_read", args=[released_mn.tips.get().pk]) not in content

    live = beheer.get(reverse("console:live", args=[released_mn.pk])).content.decode()
    assert "Man gezien bij de Neude." in live and "Gelezen" not in live

    draft = beheer.get(reverse("console:detail", args=[draft_ams.pk])).content.decode()
    assert 'id="release-reach"' in draft  # the reach, but no way to send or edit
    assert 'id="release-form"' not in draft and 'id="edit-draft"' not in draft


def test_it_refuses_a_manager_every_change(beheer, released_mn, operator_mn):
    draft_mn = services.action_create(by=operator_mn, **action_fields(title="Concept"))
    tip = services.tip_submit(action=released_mn, text="Gezien.")
    before = (Delivery.objects.count(), AuditEntry.objects.count(), Action.objects.count())
    posts = [
        (reverse("console:create"), _form_data()),
        (reverse("console:edit", args=[draft_mn.pk]), _form_data(title="Anders")),
        (reverse("console:release", args=[draft_mn.pk]), {"confirm": "yes"}),
        (reverse("console:update", args=[released_mn.pk]), {"text": "x"}),
        (
            reverse("console:end", args=[released_mn.pk]),
            {"result": "not_found", "information_contributed": "yes", "text": "x"},
        ),
        (reverse("console:cancel", args=[released_mn.pk]), {"text": "x"}),
        (reverse("console:stop", args=[released_mn.pk]), {}),
        (reverse("console:tip_read", args=[tip.pk]), {}),
    ]
    for url, data in posts:
        assert beheer.post(url, data).status_code == 403, url
    for url in (
        reverse("console:create"),
        reverse("console:edit", args=[draft_mn.pk]),
        reverse("console:reach") + f"?lat={UTRECHT[0]}&lon={UTRECHT[1]}&radius_m=2000",
        reverse("console:address") + "?q=3511",
    ):
        assert beheer.get(url).status_code == 403, url

    draft_mn.refresh_from_db()
    released_mn.refresh_from_db()
    assert (draft_mn.state, draft_mn.title) == (Action.State.DRAFT, "Concept")
    assert released_mn.state == Action.State.RELEASED
    assert not Tip.objects.get(pk=tip.pk).is_read
    assert (Delivery.objects.count(), AuditEntry.objects.count(), Action.objects.count()) == before


def test_it_keeps_an_operator_to_the_own_regions_history(ams, operator_mn, alerted):
    action = services.action_create(by=operator_mn, **action_fields(title="Inbraak Lombok"))
    services.action_release(action=action, by=operator_mn)
    services.action_end(
        action=action,
        by=operator_mn,
        information_contributed=True,
        result="not_found",
        text="Niets.",
    )
    assert b"Inbraak Lombok" not in ams.get(reverse("console:index")).content
    assert ams.get(reverse("console:detail", args=[action.pk])).status_code == 403


# A new action ----------------------------------------------------------------------------------


def test_it_shows_the_new_action_form_with_map_and_signalement(mn):
    response = mn.get(reverse("console:create"))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="point-map"' in content
    assert 'id="person-0"' in content and 'id="vehicle-0"' in content
    assert 'id="time-critical-defaults"' in content
    assert "/static/leaflet/" in content  # django-leaflet's own copy, no CDN
    assert "unpkg" not in content and "cdn" not in content.lower()


def test_it_creates_a_draft_with_signalement_and_a_clean_photo(mn, operator_mn):
    photo = SimpleUploadedFile("IMG_0001.jpg", _jpeg_with_gps(), content_type="image/jpeg")
    response = mn.post(reverse("console:create"), _form_data(photo=photo))

    action = Action.objects.get(title="Vermiste vrouw (79)")
    assert response.status_code == 302
    assert response["Location"] == reverse("console:detail", args=[action.pk])
    assert action.state == Action.State.DRAFT
    assert action.created_by == operator_mn
    assert [p.clothing for p in action.persons.all()] == ["rode jas"]
    assert not action.vehicles.exists()  # the empty vehicle form is skipped
    assert "IMG_0001" not in action.photo.name
    with action.photo.open("rb") as stored:
        image = Image.open(stored)
        assert max(image.size) == photos.MAX_SIDE_PX
        assert not image.getexif().get_ifd(0x8825)
    assert AuditEntry.objects.filter(verb="action.created").exists()


def test_it_refuses_a_non_image_upload(mn):
    fake = SimpleUploadedFile("foto.jpg", b"<?php echo 'hallo'; ?>", content_type="image/jpeg")
    response = mn.post(reverse("console:create"), _form_data(photo=fake))
    assert response.status_code == 400
    assert "geen foto" in response.content.decode()
    assert not Action.objects.filter(title="Vermiste vrouw (79)").exists()


def test_it_refuses_a_huge_upload(mn, monkeypatch):
    monkeypatch.setattr(photos, "MAX_UPLOAD_BYTES", 1000)
    big = SimpleUploadedFile("groot.png", png_bytes() + b"\0" * 2000, content_type="image/png")
    response = mn.post(reverse("console:create"), _form_data(photo=big))
    assert response.status_code == 400
    assert "te groot" in response.content.decode()
    assert not Action.objects.exists()


@pytest.mark.parametrize("radius", ["0", "500000", "tien"])
def test_it_refuses_a_bad_radius(mn, radius):
    response = mn.post(reverse("console:create"), _form_data(radius_m=radius))
    assert response.status_code == 400
    assert not Action.objects.exists()


@pytest.mark.parametrize("lat,lon", [("40.4168", "-3.7038"), ("-33.9", "18.4"), ("x", "5")])
def test_it_refuses_a_point_outside_europe(mn, lat, lon):
    response = mn.post(reverse("console:create"), _form_data(lat=lat, lon=lon))
    assert response.status_code == 400
    assert not Action.objects.exists()


def test_it_refuses_a_point_in_another_region(mn):
    response = mn.post(
        reverse("console:create"), _form_data(lat=str(AMSTERDAM[0]), lon=str(AMSTERDAM[1]))
    )
    assert response.status_code == 403
    assert "buiten het werkgebied" in response.content.decode()
    assert not Action.objects.exists()


def test_it_leaves_amber_alerts_to_the_national_operator(mn):
    photo = SimpleUploadedFile("kind.png", png_bytes(), content_type="image/png")
    response = mn.post(reverse("console:create"), _form_data(kind="amber_alert", photo=photo))
    assert response.status_code == 403
    assert "Landelijke Eenheid" in response.content.decode()
    assert not Action.objects.exists()


def test_it_lets_the_national_operator_create_an_amber_alert(staff_client, national_operator):
    photo = SimpleUploadedFile("kind.png", png_bytes(), content_type="image/png")
    response = staff_client(national_operator).post(
        reverse("console:create"), _form_data(kind="amber_alert", photo=photo)
    )
    assert response.status_code == 302
    assert Action.objects.get().is_amber


def test_it_asks_a_photo_for_an_amber_alert(staff_client, national_operator):
    response = staff_client(national_operator).post(
        reverse("console:create"), _form_data(kind="amber_alert")
    )
    assert response.status_code == 400
    assert not Action.objects.exists()


# Reach and address search ----------------------------------------------------------------------


def test_it_estimates_the_reach_per_channel(mn, alerted):
    response = mn.get(
        reverse("console:reach"),
        {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 2000, "time_critical": "on"},
    )
    assert response.status_code == 200
    data = response.json()
    # Two by SMS, one by push: staff are told fewer than ten (policy.shown_count), never
    # the number, which would say who in a small circle takes part.
    assert data["reach"][Channel.SMS] == "minder dan 10"
    assert data["reach"][Channel.WEBPUSH] == "minder dan 10"
    assert data["total"] == "minder dan 10"
    assert {row["channel"] for row in data["channels"]} == set(data["reach"])
    assert {row["n"] for row in data["channels"]} == {"minder dan 10"}
    counts = _estimate(UTRECHT, 2000, time_critical=True)
    assert (counts[Channel.SMS], counts[Channel.WEBPUSH]) == (2, 1)


def _estimate(point, radius_m, **flags):
    """The real reach (what a release uses), as the console's reach view asks for it."""
    from django.utils import timezone

    from apps.actions import targeting

    target = targeting.Target(lat=point[0], lon=point[1], radius_m=radius_m, **flags)
    estimate = targeting.estimate_reach(target, at=timezone.now())
    return {channel: row.sent for channel, row in estimate.items()}


@pytest.mark.parametrize(
    "query",
    [
        {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 0},
        {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 500_000},
        {"lat": 40.4, "lon": -3.7, "radius_m": 2000},
        {"lat": "noord", "lon": UTRECHT[1], "radius_m": 2000},
        {},
    ],
)
def test_it_refuses_bad_reach_queries(mn, query):
    response = mn.get(reverse("console:reach"), query)
    assert response.status_code == 400
    assert "errors" in response.json()


def test_it_refuses_a_nationwide_reach_to_a_regional_operator(mn):
    query = {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 2000, "kind": "amber_alert"}
    assert mn.get(reverse("console:reach"), query).status_code == 403


def test_it_refuses_the_reach_of_a_point_in_another_region(ams):
    response = ams.get(
        reverse("console:reach"), {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 2000}
    )
    assert response.status_code == 403


@pytest.fixture
def geocoder(nominatim, settings):
    """The fake geocoder (tests/conftest.py's `nominatim`), with Dutch postcodes offline."""
    settings.GEOCODER_NL = "offline"
    return nominatim


def search(client, q):
    return client.get(reverse("console:address"), {"q": q})


@pytest.mark.parametrize(
    ("typed", "pc4", "postcode", "number"),
    [
        ("3441 AB 12", "3441", "3441 AB", "12"),
        ("3441ab12", "3441", "3441 AB", "12"),
        (" 3441  ab, 12a ", "3441", "3441 AB", "12-A"),
        ("3441 AB 12-2", "3441", "3441 AB", "12-2"),
        ("3441 AB", "3441", "3441 AB", ""),
        ("3441", "3441", "", ""),
        ("Stationsplein 1, Utrecht", "", "", ""),
        ("1012 Amsterdam", "", "", ""),
    ],
)
def test_it_reads_a_postcode_with_house_number_or_else_free_text(typed, pc4, postcode, number):
    form = AddressSearchForm({"q": typed})
    assert form.is_valid(), form.errors
    query = form.cleaned_data["q"]
    assert (query.pc4, query.postcode, query.house_number) == (pc4, postcode, number)
    assert query.text == " ".join(typed.split())


def test_it_places_a_postcode_with_house_number_at_its_area_centre_offline(mn, geocoder):
    area = PostcodeArea.objects.get(pc4="3441")
    response = search(mn, "3441 AB 12")

    assert response.status_code == 200
    data = response.json()
    assert (data["lat"], data["lon"]) == (area.lat, area.lon)
    assert data["approximate"] is True
    assert f"midden van postcodegebied 3441 ({area.place})" in data["message"]
    assert "geen precies adres" in data["message"]
    assert geocoder.requests == []  # Dutch addresses stay offline (GEOCODER_NL)


def test_it_places_a_postcode_area(mn, geocoder):
    data = search(mn, "3511").json()
    area = PostcodeArea.objects.get(pc4="3511")
    assert (data["lat"], data["lon"]) == (area.lat, area.lon)
    assert data["label"] == f"midden van postcodegebied 3511 ({area.place})"


def test_it_asks_the_geocoder_for_a_full_postcode_when_so_configured(mn, geocoder, settings):
    settings.GEOCODER_NL = "nominatim"
    response = search(mn, "3441 AB 12")

    assert response.status_code == 200
    data = response.json()
    assert (data["lat"], data["lon"]) == (52.0870, 4.8830)
    assert data["label"] == "postcode 3441 AB (Woerden)"
    assert data["approximate"] is True  # a postcode, not the house
    [request] = geocoder.requests
    assert request["query"]["postalcode"] == "3441 AB"


@pytest.mark.parametrize(("status", "note"), [(503, "niet bereikbaar"), (200, "3441 ZZ")])
def test_it_falls_back_to_the_area_centre_saying_why(mn, geocoder, settings, status, note):
    settings.GEOCODER_NL = "nominatim"
    geocoder.status = status
    response = search(mn, "3441 ZZ 7")  # down, or a postcode the geocoder does not know

    assert response.status_code == 200
    data = response.json()
    area = PostcodeArea.objects.get(pc4="3441")
    assert (data["lat"], data["lon"]) == (area.lat, area.lon)
    assert note in data["message"]
    assert "midden van postcodegebied 3441" in data["message"]


def test_it_finds_a_street_address_through_the_geocoder(mn, geocoder):
    response = search(mn, "Stationsplein 1, Utrecht")

    assert response.status_code == 200
    data = response.json()
    assert (data["lat"], data["lon"]) == (52.0894, 5.1101)
    assert data["approximate"] is False
    assert data["message"] == "Gevonden: 1, Stationsplein, Utrecht, Nederland."
    [request] = geocoder.requests
    assert request["query"]["q"] == "Stationsplein 1, Utrecht"
    assert request["query"]["countrycodes"] == "nl,be,de"
    assert request["query"]["accept-language"] == "nl"


def test_it_finds_an_address_across_the_border(mn, geocoder):
    data = search(mn, "Grote Markt 1, Hasselt").json()
    assert (data["lat"], data["lon"]) == (50.9307, 5.3378)


def test_it_says_when_a_place_is_not_an_exact_address(mn, geocoder):
    data = search(mn, "Neude, Utrecht").json()
    assert data["approximate"] is True
    assert "geen precies adres" in data["message"]


def test_it_answers_an_unknown_address_and_postcode(mn, geocoder):
    response = search(mn, "Kerkstraat 999, Nergenshuizen")
    assert response.status_code == 404
    assert "Dit adres kunnen wij niet vinden" in response.json()["error"]

    missing = next(f"{n}" for n in range(1000, 10000) if n not in _known_pc4())
    response = search(mn, f"{missing} AB 1")
    assert response.status_code == 404
    assert "Deze postcode kennen wij niet" in response.json()["error"]


def _known_pc4() -> set[int]:
    return {int(pc4) for pc4 in PostcodeArea.objects.values_list("pc4", flat=True)}


def test_it_refuses_an_address_outside_the_netherlands_belgium_and_germany(mn, geocoder):
    response = search(mn, "Rue de Rivoli 1, Paris")
    assert response.status_code == 422
    assert "niet in Nederland, België of Duitsland" in response.json()["error"]
    restricted, anywhere = geocoder.requests
    assert restricted["query"]["countrycodes"] == "nl,be,de"
    assert "countrycodes" not in anywhere["query"]


def test_it_refuses_an_address_far_from_the_border(mn, geocoder):
    response = search(mn, "Marienplatz 1, München")
    assert response.status_code == 422
    assert response.json()["error"] == str(MSG_POINT_OUTSIDE)


def test_it_refuses_an_answer_from_another_country(mn, geocoder):
    # A service that ignores countrycodes and answers with a French address (Lille: within
    # the map's bounds, so only the country gives it away):
    geocoder.addresses["rue nationale 1, kerkrade"] = (50.6369, 3.0633, "fr", "1", "Lille")
    geocoder.ignores_countries = True
    response = search(mn, "Rue Nationale 1, Kerkrade")
    assert response.status_code == 422
    assert "niet in Nederland, België of Duitsland" in response.json()["error"]


@pytest.mark.parametrize("how", ["down", "slow", "nobody"])
def test_it_reports_a_geocoder_that_cannot_be_reached(mn, geocoder, settings, how):
    if how == "down":
        geocoder.status = 503
    elif how == "slow":
        settings.GEOCODER_TIMEOUT = 0.2
        geocoder.delay_s = 1.0
    else:
        settings.GEOCODER_URL = "http://127.0.0.1:9"
    response = search(mn, "Stationsplein 1, Utrecht")

    assert response.status_code == 503
    assert "adreszoekdienst is nu niet bereikbaar" in response.json()["error"]


@pytest.mark.parametrize("q", ["", "   ", "ab", "x" * 201])
def test_it_refuses_an_empty_or_overlong_search(mn, geocoder, q):
    response = search(mn, q)
    assert response.status_code == 400
    assert response.json()["error"]
    assert geocoder.requests == []


def test_it_guards_the_address_search(client, beheer, mn, geocoder):
    assert client.get(reverse("console:address"), {"q": "3511"}).status_code == 302  # log in
    assert beheer.get(reverse("console:address"), {"q": "3511"}).status_code == 403
    assert mn.post(reverse("console:address"), {"q": "3511"}).status_code == 405


def test_it_gives_the_page_script_its_texts_and_language(mn, settings):
    content = mn.get(reverse("console:create")).content.decode()
    assert 'id="address-search"' in content
    assert 'for="address-input"' in content  # the search has its label
    assert 'aria-describedby="address-help address-status"' in content
    assert 'data-locale="nl"' in content
    assert 'data-total="Totaal: %(n)s"' in content

    mn.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    content = mn.get(reverse("console:create")).content.decode()
    assert 'data-locale="en"' in content


# One action and its verbs ---------------------------------------------------------------------


def test_it_shows_a_draft_with_its_reach_before_release(mn, draft_mn, alerted):
    response = mn.get(reverse("console:detail", args=[draft_mn.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="release-reach"' in content and 'id="release-confirm"' in content
    assert "grijze jas" in content


def test_it_answers_404_for_an_unknown_action(mn):
    assert mn.get(reverse("console:detail", args=[999_999])).status_code == 404


def test_it_refuses_another_regions_action_page(ams, draft_mn):
    assert ams.get(reverse("console:detail", args=[draft_mn.pk])).status_code == 403
    assert ams.get(reverse("console:live", args=[draft_mn.pk])).status_code == 403


def test_it_shows_the_exercise_banner(mn, operator_mn):
    action = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    response = mn.get(reverse("console:detail", args=[action.pk]))
    assert b'id="exercise-banner"' in response.content


def test_it_releases_after_confirmation(mn, draft_mn, alerted):
    url = reverse("console:release", args=[draft_mn.pk])
    unconfirmed = mn.post(url)
    draft_mn.refresh_from_db()
    assert unconfirmed.status_code == 400
    assert draft_mn.state == Action.State.DRAFT

    response = mn.post(url, {"confirm": "yes"})

    draft_mn.refresh_from_db()
    assert response.status_code == 302
    assert draft_mn.state == Action.State.RELEASED
    deliveries = Delivery.objects.filter(message=draft_mn.release_message)
    assert deliveries.filter(channel=Channel.SMS).count() == 2
    assert deliveries.filter(channel=Channel.WEBPUSH).count() == 1


def test_it_shows_why_a_release_fails(mn, released_mn):
    response = mn.post(reverse("console:release", args=[released_mn.pk]), {"confirm": "yes"})
    assert response.status_code == 400
    assert b'id="release-errors"' in response.content
    assert "al verstuurd" in response.content.decode()


def test_it_sends_an_update(mn, released_mn):
    response = mn.post(reverse("console:update", args=[released_mn.pk]), {"text": "Nu in park."})
    assert response.status_code == 302
    update = released_mn.updates.get()
    assert update.text == "Nu in park."
    assert Delivery.objects.filter(message=update.message).count() == 3


def test_it_refuses_an_empty_update(mn, released_mn):
    response = mn.post(reverse("console:update", args=[released_mn.pk]), {"text": " "})
    assert response.status_code == 400
    assert not released_mn.updates.exists()


def test_it_ends_an_action_with_an_end_message(mn, released_mn):
    _mark_sent(released_mn)
    response = mn.post(
        reverse("console:end", args=[released_mn.pk]),
        {"result": "found_safe", "information_contributed": "yes", "text": "De man is gevonden."},
    )
    released_mn.refresh_from_db()
    assert response.status_code == 302
    assert released_mn.state == Action.State.ENDED
    assert released_mn.result == "found_safe"
    end = released_mn.end_message
    assert Delivery.objects.filter(message=end.message).count() == 3


def test_it_refuses_an_end_without_result(mn, released_mn):
    response = mn.post(reverse("console:end", args=[released_mn.pk]), {"text": "Klaar."})
    released_mn.refresh_from_db()
    assert response.status_code == 400
    assert released_mn.state == Action.State.RELEASED


def test_it_cancels_with_a_correction(mn, released_mn):
    _mark_sent(released_mn)
    response = mn.post(reverse("console:cancel", args=[released_mn.pk]), {"text": "Vergissing."})
    released_mn.refresh_from_db()
    assert response.status_code == 302
    assert released_mn.state == Action.State.CANCELLED
    assert released_mn.correction == "Vergissing."
    assert Delivery.objects.filter(message=released_mn.cancel_message).count() == 3


def test_it_stops_sending(mn, released_mn):
    response = mn.post(reverse("console:stop", args=[released_mn.pk]))
    assert response.status_code == 302
    message = OutgoingMessage.objects.get(pk=released_mn.release_message_id)
    assert message.stopped_at is not None
    states = set(Delivery.objects.filter(message=message).values_list("state", flat=True))
    assert states == {Delivery.State.CANCELLED}
    assert AuditEntry.objects.filter(verb="action.stopped").exists()


def test_it_marks_a_tip_read(mn, released_mn):
    tip = services.tip_submit(action=released_mn, text="Man gezien bij station.")
    response = mn.post(reverse("console:tip_read", args=[tip.pk]))
    tip.refresh_from_db()
    assert response.status_code == 302
    assert tip.is_read


WRITE_VIEWS = [
    ("console:release", {"confirm": "yes"}),
    ("console:update", {"text": "x"}),
    ("console:end", {"result": "not_found", "information_contributed": "yes", "text": "x"}),
    ("console:cancel", {"text": "x"}),
    ("console:stop", {}),
]


@pytest.mark.parametrize("name,data", WRITE_VIEWS)
def test_it_refuses_get_on_write_views(mn, released_mn, name, data):
    assert mn.get(reverse(name, args=[released_mn.pk])).status_code == 405


@pytest.mark.parametrize("name,data", WRITE_VIEWS)
def test_it_refuses_another_regions_operator(ams, released_mn, name, data):
    before = Delivery.objects.count()
    response = ams.post(reverse(name, args=[released_mn.pk]), data)
    released_mn.refresh_from_db()
    assert response.status_code == 403
    assert released_mn.state == Action.State.RELEASED
    assert Delivery.objects.count() == before


@pytest.mark.parametrize("name,data", WRITE_VIEWS)
def test_it_sends_anonymous_writers_to_the_login(client, released_mn, name, data):
    response = client.post(reverse(name, args=[released_mn.pk]), data)
    assert response.status_code == 302
    assert reverse("governance:login") in response["Location"]


@pytest.mark.parametrize("name,data", WRITE_VIEWS)
def test_it_answers_404_for_writes_on_unknown_actions(mn, name, data):
    assert mn.post(reverse(name, args=[999_999]), data).status_code == 404


def test_it_guards_the_tip_read_view(mn, ams, client, released_mn):
    tip = services.tip_submit(action=released_mn, text="Gezien.")
    url = reverse("console:tip_read", args=[tip.pk])
    assert mn.get(url).status_code == 405
    assert ams.post(url).status_code == 403
    assert client.post(url).status_code == 302
    assert not Tip.objects.get(pk=tip.pk).is_read


def test_it_renders_the_live_partial_with_counts_and_tips(mn, released_mn):
    services.tip_submit(
        action=released_mn,
        text="Man gezien bij de Neude.",
        photo=SimpleUploadedFile("tip.png", png_bytes(), content_type="image/png"),
    )
    Delivery.objects.filter(message=released_mn.release_message, channel=Channel.SMS).update(
        state=Delivery.State.SENT
    )
    response = mn.get(reverse("console:live", args=[released_mn.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="live-panel"' in content and "<html" not in content
    assert "Man gezien bij de Neude." in content
    assert 'class="tip-photo"' in content
    assert 'id="sending-table"' in content
    assert "sms" in content


def _poll(client, action, etag=None, **headers):
    if etag:
        headers["HTTP_IF_NONE_MATCH"] = etag
    return client.get(reverse("console:live", args=[action.pk]), **headers)


def test_an_unchanged_live_panel_is_not_sent_again_until_something_in_it_changes(
    mn, released_mn, operator_mn
):
    first = _poll(mn, released_mn)
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    assert "no-store" in first["Cache-Control"]  # tips hold phone numbers: kept nowhere

    again = _poll(mn, released_mn, etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag

    # A tip comes in: the panel changes, with the tip in it.
    tip = services.tip_submit(action=released_mn, text="Man gezien bij de Neude.")
    with_tip = _poll(mn, released_mn, etag)
    assert with_tip.status_code == 200 and with_tip["ETag"] != etag
    assert "Man gezien bij de Neude." in with_tip.text and "1 nieuw" in with_tip.text
    etag = with_tip["ETag"]
    assert _poll(mn, released_mn, etag).status_code == 304

    # It is read.
    services.tip_mark_read(tip=tip, by=operator_mn)
    read = _poll(mn, released_mn, etag)
    assert read.status_code == 200 and "1 nieuw" not in read.text
    etag = read["ETag"]

    # The counts change (once they are counted again, at most LIVE_STATS_SECONDS later).
    Delivery.objects.filter(message=released_mn.release_message).update(state=Delivery.State.SENT)
    cache.delete(f"outbox.live_stats:{released_mn.release_message_id}")
    counted = _poll(mn, released_mn, etag)
    assert counted.status_code == 200
    etag = counted["ETag"]

    # Sending is stopped.
    OutgoingMessage.objects.filter(pk=released_mn.release_message_id).update(
        stopped_at=timezone.now()
    )
    stopped = _poll(mn, released_mn, etag)
    assert stopped.status_code == 200 and "gestopt" in stopped.text

    # And in English it is another panel.
    mn.cookies["django_language"] = "en"
    english = _poll(mn, released_mn, stopped["ETag"])
    assert english.status_code == 200 and "Tips" in english.text and "Sending" in english.text


def test_the_live_panel_is_one_for_every_reader_who_may_manage_and_holds_no_token(
    staff_client, make_staff_user, org_control_room_mn, mn, beheer, released_mn
):
    from apps.governance.roles import Role

    services.tip_submit(action=released_mn, text="Man gezien bij de Neude.")
    colleague = staff_client(make_staff_user("operator-mn-2", org_control_room_mn, [Role.OPERATOR]))
    mine, theirs = _poll(mn, released_mn), _poll(colleague, released_mn)
    assert mine.content == theirs.content and mine["ETag"] == theirs["ETag"]
    assert "csrfmiddlewaretoken" not in mine.text
    # The tip's button submits the form on the page around the panel, which has the token.
    tip = released_mn.tips.get()
    read_url = reverse("console:tip_read", args=[tip.pk])
    assert f'form="tip-read-form" formaction="{read_url}"' in mine.text
    page = mn.get(reverse("console:detail", args=[released_mn.pk])).text
    form = re.search(r'<form method="post" id="tip-read-form">(.*?)</form>', page, re.S)
    assert form and "csrfmiddlewaretoken" in form.group(1)

    # A manager follows read-only: another panel, without the buttons, though the
    # operators' is kept; and the operators' ETag does not answer for it.
    followed = _poll(beheer, released_mn, mine["ETag"])
    assert followed.status_code == 200 and followed["ETag"] != mine["ETag"]
    assert "Man gezien bij de Neude." in followed.text and "Gelezen" not in followed.text
    assert (
        'id="tip-read-form"'
        not in beheer.get(reverse("console:detail", args=[released_mn.pk])).text
    )


def test_the_live_panel_shows_what_the_services_reported_delivered(mn, released_mn):
    release = released_mn.release_message
    Delivery.objects.filter(message=release).update(state=Delivery.State.SENT)
    Delivery.objects.filter(message=release, channel=Channel.SMS).update(
        receipt=Delivery.Receipt.DELIVERED
    )

    content = _poll(mn, released_mn).text

    rows = {
        re.sub(r"<[^>]+>", "", cells[1]).strip(): cells
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr>(.*?)</tr>", content, re.S)
        )
        if len(cells) == 7
    }
    sent = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", rows["sms"][3])).strip()
    assert sent == "2 2 afgeleverd"  # both participants' SMS, reported delivered
    assert "afgeleverd" not in rows["web-app (push)"][3]  # push services report nothing


def test_polling_the_live_panel_asks_the_database_a_fixed_few_times(
    mn, released_mn, django_assert_max_num_queries
):
    """The session (the database here; the shared cache in production), the user with the
    organisation, the second factor, the roles, the action, its updates, its messages and
    its tips' state: not the region's municipalities, nor the tips themselves when the
    panel is unchanged, nor more for more tips."""
    for n in range(5):
        services.tip_submit(action=released_mn, text=f"Tip {n}.")
    etag = _poll(mn, released_mn)["ETag"]
    with django_assert_max_num_queries(8):
        assert _poll(mn, released_mn, etag).status_code == 304
    cache.delete("console.live:" + etag.strip('"'))  # as when it is no longer kept
    with django_assert_max_num_queries(9):  # rendered again: the tips too
        assert _poll(mn, released_mn).status_code == 200


def test_another_regions_operator_gets_no_panel_nor_a_304_with_its_etag(mn, ams, released_mn):
    etag = _poll(mn, released_mn)["ETag"]
    assert _poll(ams, released_mn, etag).status_code == 403
    assert _poll(ams, released_mn).status_code == 403


# A draft opened again ---------------------------------------------------------------------------


def _edit_data(action, **overrides) -> dict:
    """The edit form as the page sends it back, with the draft's person as form 0."""
    data = _form_data(
        title=action.title,
        **{
            "person-TOTAL_FORMS": "2",
            "person-INITIAL_FORMS": "1",
            "person-0-sex": "male",
            "person-0-age": "82",
            "person-0-clothing": "grijze jas",
            "person-1-sex": "unknown",
        },
    )
    data.update(overrides)
    return data


def test_it_opens_a_draft_again_with_everything_filled_in(mn, draft_mn):
    response = mn.get(reverse("console:edit", args=[draft_mn.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Concept bewerken" in content
    assert f'action="{reverse("console:edit", args=[draft_mn.pk])}"' in content
    assert 'value="Vermiste man (82)"' in content
    assert 'value="grijze jas"' in content and 'id="person-1"' in content  # and a new one
    assert f'value="{draft_mn.lat}"' in content and 'value="2000"' in content
    assert 'id="point-map"' in content


def test_it_edits_every_field_of_a_draft_and_then_releases_it(mn, draft_mn, operator_mn, alerted):
    photo = SimpleUploadedFile("IMG_0002.jpg", _jpeg_with_gps(), content_type="image/jpeg")
    new_point = (52.1000, 5.1100)  # still Utrecht, a little west
    data = _edit_data(
        draft_mn,
        kind="suspicious_situation",
        title="Verdachte man bij school",
        text="Spreekt kinderen aan.",
        lat=str(new_point[0]),
        lon=str(new_point[1]),
        radius_m="1500",
        photo=photo,
        **{
            "person-0-age": "40-50",
            "person-0-clothing": "zwarte jas",
            "person-1-sex": "female",
            "person-1-age": "30",
            "vehicle-0-make": "Volvo",
            "vehicle-0-colour": "rood",
        },
    )
    data.pop("is_time_critical")

    response = mn.post(reverse("console:edit", args=[draft_mn.pk]), data)

    assert response.status_code == 302
    assert response["Location"] == reverse("console:detail", args=[draft_mn.pk])
    action = Action.objects.get(pk=draft_mn.pk)
    assert action.state == Action.State.DRAFT
    assert (action.kind, action.title, action.text) == (
        "suspicious_situation",
        "Verdachte man bij school",
        "Spreekt kinderen aan.",
    )
    assert not action.is_time_critical
    assert (action.lat, action.lon, action.radius_m) == (*new_point, 1500)
    assert [(p.sex, p.age, p.clothing) for p in action.persons.all()] == [
        ("male", "40-50", "zwarte jas"),
        ("female", "30", ""),
    ]
    assert [(v.make, v.colour) for v in action.vehicles.all()] == [("Volvo", "rood")]
    with action.photo.open("rb") as stored:
        image = Image.open(stored)
        assert max(image.size) == photos.MAX_SIDE_PX
        assert not image.getexif().get_ifd(0x8825)
    entry = AuditEntry.objects.get(verb="action.changed")
    assert {"kind", "title", "text", "photo", "lat", "lon", "radius_m", "persons", "vehicles"} <= (
        set(entry.detail["fields"])
    )

    release = mn.post(reverse("console:release", args=[action.pk]), {"confirm": "yes"})
    action.refresh_from_db()
    assert release.status_code == 302
    assert action.state == Action.State.RELEASED
    assert action.release_message.title == "Burgernet: Verdachte man bij school"
    assert "Volvo" in action.release_message.body and "zwarte jas" in action.release_message.body


def test_it_removes_a_person_emptied_and_clears_the_photo(mn, operator_mn, photo):
    action = services.action_create(
        by=operator_mn, persons=[{"sex": "male", "age": "82"}], photo=photo, **action_fields()
    )
    data = _edit_data(
        action,
        **{
            "photo-clear": "on",
            "person-0-sex": "unknown",
            "person-0-age": "",
            "person-0-clothing": "",
        },
    )
    response = mn.post(reverse("console:edit", args=[action.pk]), data)
    action.refresh_from_db()
    assert response.status_code == 302
    assert not action.photo
    assert not action.persons.exists()


def test_it_keeps_the_photo_when_no_new_one_is_chosen(mn, operator_mn, photo):
    action = services.action_create(by=operator_mn, photo=photo, **action_fields())
    name = action.photo.name
    response = mn.post(reverse("console:edit", args=[action.pk]), _edit_data(action, title="Nieuw"))
    action.refresh_from_db()
    assert response.status_code == 302
    assert (action.title, action.photo.name) == ("Nieuw", name)


def test_it_links_a_drafts_current_photo_through_the_console_photo_view(mn, operator_mn, photo):
    action = services.action_create(by=operator_mn, photo=photo, **action_fields())
    url = reverse("console:edit", args=[action.pk])
    photo_url = reverse("console:photo", args=[action.pk])
    shown = mn.get(url).content.decode()
    refused = mn.post(url, _edit_data(action, radius_m="0"))  # shown again with its errors
    for page in (shown, refused.content.decode()):
        assert f'<a href="{photo_url}">huidige foto</a>' in page
        assert 'name="photo-clear"' in page  # the photo can still be removed
        assert "/media/" not in page
    assert refused.status_code == 400
    assert mn.get(photo_url).status_code == 200


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"radius_m": "0"}, "Kies een straal"),
        ({"radius_m": "500000"}, "Kies een straal"),
        ({"lat": "40.4168", "lon": "-3.7038"}, "buiten het gebied"),
        ({"title": ""}, ""),
    ],
)
def test_it_refuses_bad_changes_to_a_draft_and_keeps_it(mn, draft_mn, overrides, message):
    response = mn.post(
        reverse("console:edit", args=[draft_mn.pk]), _edit_data(draft_mn, **overrides)
    )
    draft_mn.refresh_from_db()
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (draft_mn.title, draft_mn.radius_m, draft_mn.lat) == (
        "Vermiste man (82)",
        2000,
        UTRECHT[0],
    )
    assert not AuditEntry.objects.filter(verb="action.changed").exists()


def test_it_refuses_a_non_image_on_a_draft(mn, draft_mn):
    fake = SimpleUploadedFile("foto.png", b"GIF89a nep", content_type="image/png")
    response = mn.post(
        reverse("console:edit", args=[draft_mn.pk]), _edit_data(draft_mn, photo=fake)
    )
    draft_mn.refresh_from_db()
    assert response.status_code == 400
    assert "geen foto" in response.content.decode()
    assert not draft_mn.photo


def test_it_refuses_to_move_a_draft_into_another_region(mn, draft_mn):
    data = _edit_data(draft_mn, lat=str(AMSTERDAM[0]), lon=str(AMSTERDAM[1]))
    response = mn.post(reverse("console:edit", args=[draft_mn.pk]), data)
    draft_mn.refresh_from_db()
    assert response.status_code == 403
    assert "buiten het werkgebied" in response.content.decode()
    assert (draft_mn.lat, draft_mn.lon) == UTRECHT


def test_it_refuses_another_regions_operator_the_draft(ams, draft_mn):
    url = reverse("console:edit", args=[draft_mn.pk])
    assert ams.get(url).status_code == 403
    assert ams.post(url, _edit_data(draft_mn, title="Overgenomen")).status_code == 403
    draft_mn.refresh_from_db()
    assert draft_mn.title == "Vermiste man (82)"


def test_it_does_not_edit_a_released_action(mn, released_mn):
    url = reverse("console:edit", args=[released_mn.pk])
    shown = mn.get(url)
    posted = mn.post(url, _edit_data(released_mn, title="Anders", radius_m="5000"))
    released_mn.refresh_from_db()
    assert shown.status_code == 409 and posted.status_code == 409
    assert "kan niet meer worden bewerkt" in posted.content.decode()
    assert (released_mn.title, released_mn.radius_m) == ("Vermiste man (82)", 2000)
    page = mn.get(reverse("console:detail", args=[released_mn.pk])).content.decode()
    assert 'id="edit-draft"' not in page and 'id="update-form"' in page


def test_it_offers_to_edit_a_draft(mn, draft_mn):
    page = mn.get(reverse("console:detail", args=[draft_mn.pk])).content.decode()
    assert f'href="{reverse("console:edit", args=[draft_mn.pk])}"' in page


def test_it_answers_404_for_editing_an_unknown_action(mn):
    assert mn.get(reverse("console:edit", args=[999_999])).status_code == 404


# Exercise mode ----------------------------------------------------------------------------------


@pytest.fixture
def push_service(settings):
    """The local push service and a VAPID pair for the server."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from apps.bench.pushendpoint import PushEndpoint, b64url

    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    settings.WEBPUSH_TIMEOUT = 5.0
    with PushEndpoint() as endpoint:
        yield endpoint


def _subscribed_device(push_service, push_id: str, *, test: bool):
    from apps.bench.pushendpoint import make_subscriber
    from apps.participants.models import Device

    phone = make_subscriber(push_service.url_for(push_id))
    Device.objects.create(
        endpoint=phone.endpoint,
        p256dh=phone.p256dh,
        auth=phone.auth,
        cell="u178k",
        cell_lat=UTRECHT[0],
        cell_lon=UTRECHT[1],
        cell_updated_at=timezone.now(),
        is_test_device=test,
    )
    return phone


def _send(message_id: int) -> None:
    """What the outbox workers do, until nothing is due."""
    from apps.channels import outbox

    outbox.drain(message_id=message_id)


def test_it_sends_an_exercise_only_to_test_devices_labelled_everywhere(
    mn, client, push_service, make_participant
):
    import json

    make_participant(UTRECHT)  # a citizen by address
    citizen = _subscribed_device(push_service, "citizen", test=False)
    staff_phone = _subscribed_device(push_service, "staff", test=True)

    # The reach of an exercise counts the test devices only.
    query = {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 2000, "time_critical": "on"}
    real = _estimate(UTRECHT, 2000, time_critical=True)
    assert (real[Channel.WEBPUSH], real[Channel.SMS]) == (1, 1)  # the citizens
    assert _estimate(UTRECHT, 2000, time_critical=True, exercise=True) == {Channel.WEBPUSH: 1}
    reach = mn.get(reverse("console:reach"), {**query, "exercise": "on"}).json()
    assert reach["reach"] == {Channel.WEBPUSH: "minder dan 10"}

    mn.post(reverse("console:create"), _form_data(is_exercise="on", title="Training vermissing"))
    action = Action.objects.get()
    assert action.is_exercise
    draft_page = mn.get(reverse("console:detail", args=[action.pk])).content.decode()
    assert 'id="exercise-banner"' in draft_page and "Oefening versturen" in draft_page
    assert "<title>OEFENING" in draft_page

    mn.post(reverse("console:release", args=[action.pk]), {"confirm": "yes"})
    action.refresh_from_db()
    _send(action.release_message_id)
    mn.post(
        reverse("console:end", args=[action.pk]),
        {"result": "other", "information_contributed": "yes", "text": "Geoefend."},
    )
    action.refresh_from_db()
    _send(action.end_message.message_id)

    # Pushes to the staff phone only, both labelled; nothing to citizens on any channel.
    assert push_service.pushes_for("citizen") == []
    assert not Delivery.objects.filter(participant__isnull=False).exists()
    alert, end = (json.loads(staff_phone.decrypt(p.body)) for p in push_service.pushes_for("staff"))
    assert alert["title"] == "Burgernet: OEFENING – Training vermissing"
    assert alert["body"].startswith("Dit is een oefening.")
    assert alert["exercise"] is True
    assert end["title"] == "Burgernet: OEFENING – Afgelopen: Training vermissing"
    assert citizen.endpoint not in {d.device.endpoint for d in Delivery.objects.all()}

    # The console's list and page, and the citizens' page, say so.
    assert b"OEFENING" in mn.get(reverse("console:index")).content
    assert b'id="exercise-banner"' in mn.get(reverse("console:detail", args=[action.pk])).content
    public_page = client.get(reverse("alerts:action", kwargs={"ref": action.ref})).content.decode()
    assert 'id="exercise-banner"' in public_page and "<title>OEFENING" in public_page


# A circle that reaches into another unit's region (issue 9) ------------------------------


@pytest.fixture
def reaching_ams(operator_mn, alerted):
    """A released Midden-Nederland action whose 30 km circle reaches into Amsterdam's region."""
    near_border = point_at(UTRECHT, 15_000, bearing_deg=330)
    action = services.action_create(
        by=operator_mn,
        **action_fields(
            title="Overval tankstation", lat=near_border[0], lon=near_border[1], radius_m=30_000
        ),
    )
    return action


def test_a_draft_says_which_other_regions_its_circle_reaches_into(mn, reaching_ams):
    page = mn.get(reverse("console:detail", args=[reaching_ams.pk])).content.decode()
    assert 'id="reaches-units"' in page and "reikt tot in" in page and "Amsterdam" in page
    assert "Midden-Nederland" not in page.split('id="reaches-units"')[1].split("</p>")[0]


def test_the_other_unit_sees_a_released_reaching_action_read_only_and_marked(
    mn, ams, reaching_ams, operator_mn
):
    overview = ams.get(reverse("console:index")).content.decode()
    assert "Overval tankstation" not in overview  # a draft stays with its own unit
    assert ams.get(reverse("console:neighbour", args=[reaching_ams.pk])).status_code == 404

    services.action_release(action=reaching_ams, by=operator_mn)
    services.tip_submit(action=reaching_ams, text="Ik zag een rode auto", phone="0612345678")

    overview = ams.get(reverse("console:active")).content.decode()
    assert 'id="reaching-actions"' in overview and "andere eenheid" in overview
    page = ams.get(reverse("console:neighbour", args=[reaching_ams.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "Overval tankstation" in html
    assert "rode auto" not in html and "0612345678" not in html  # tips stay with the unit
    # Still not theirs to see in full, or to change.
    assert ams.get(reverse("console:detail", args=[reaching_ams.pk])).status_code == 403
    response = ams.post(reverse("console:update", args=[reaching_ams.pk]), {"text": "Niet van ons"})
    assert response.status_code == 403
    # Its own unit does not list it among "other units".
    assert 'id="reaching-actions"' not in mn.get(reverse("console:active")).content.decode()


def test_an_action_within_its_own_region_reaches_no_other_unit(mn, draft_mn):
    assert list(draft_mn.reaches_units.all()) == []
    page = mn.get(reverse("console:detail", args=[draft_mn.pk])).content.decode()
    assert 'id="reaches-units"' not in page


def test_the_reach_estimate_names_the_other_regions_the_circle_reaches_into(mn, alerted):
    near_border = point_at(UTRECHT, 15_000, bearing_deg=330)
    query = {"lat": near_border[0], "lon": near_border[1], "time_critical": "on"}

    wide = mn.get(reverse("console:reach"), {**query, "radius_m": 30_000}).json()
    small = mn.get(
        reverse("console:reach"), {"lat": UTRECHT[0], "lon": UTRECHT[1], "radius_m": 2000}
    ).json()

    assert "Amsterdam" in wide["reaches_into"] and "Midden-Nederland" not in wide["reaches_into"]
    assert "reikt tot in" in wide["reaches_note"] and "Amsterdam" in wide["reaches_note"]
    assert (small["reaches_into"], small["reaches_note"]) == ([], "")


def test_a_draft_shows_a_small_reach_as_fewer_than_ten(mn, draft_mn, alerted):
    # Three people in the circle (two by SMS, one by push): the page says fewer than ten.
    response = mn.get(reverse("console:detail", args=[draft_mn.pk]))
    assert response.context["reach_total"] == "minder dan 10"
    assert {row["n"] for row in response.context["reach"]} == {"minder dan 10"}
    content = response.content.decode()
    assert "Ik heb het bereik gezien (minder dan 10 ontvangers)" in content


# AMBER Alerts: every regional operator sees a running one, read-only ---------------------------


@pytest.fixture
def amber(national_operator, alerted, photo):
    action = services.action_create(
        by=national_operator,
        **action_fields(kind="amber_alert", title="AMBER Alert: Sanne (6)", photo=photo),
    )
    return action


def test_a_regional_operator_sees_a_running_amber_alert_read_only(
    mn, ams, amber, national_operator, second_national_operator
):
    assert "Sanne" not in ams.get(reverse("console:active")).content.decode()  # a draft
    assert ams.get(reverse("console:neighbour", args=[amber.pk])).status_code == 404

    approve_and_release(amber, national_operator, second_national_operator)
    services.tip_submit(action=amber, text="Ik zag haar bij het station", phone="0612345678")

    for client in (mn, ams):
        overview = client.get(reverse("console:active")).content.decode()
        assert 'id="reaching-actions"' in overview and "Sanne" in overview
        page = client.get(reverse("console:neighbour", args=[amber.pk]))
        html = page.content.decode()
        assert page.status_code == 200 and "AMBER Alert: Sanne (6)" in html
        assert "hele land" in html
        assert "bij het station" not in html and "0612345678" not in html
        assert "<form" not in html.split('id="neighbour-note"')[1]
        # Read-only: neither its full page nor any change.
        assert client.get(reverse("console:detail", args=[amber.pk])).status_code == 403
        update = client.post(reverse("console:update", args=[amber.pk]), {"text": "Niet van ons"})
        assert update.status_code == 403


@pytest.mark.parametrize(
    "upload", [hostile_photos.header_truncated_jpeg, hostile_photos.data_truncated_jpeg]
)
def test_it_refuses_a_truncated_photo(mn, upload):
    response = mn.post(reverse("console:create"), _form_data(photo=upload()))

    assert response.status_code == 400
    assert str(photos.MSG_BROKEN) in response.content.decode()
    assert not Action.objects.exists()


# Free text and its counter (issue 10, item 10) ---------------------------------------------


def test_it_refuses_an_update_over_the_limit_on_the_form(mn, released_mn):
    from apps.actions.models import FOLLOW_UP_TEXT_MAX

    url = reverse("console:update", args=[released_mn.pk])
    response = mn.post(url, {"text": "x" * (FOLLOW_UP_TEXT_MAX + 1)})
    assert response.status_code == 400
    assert "niet meer dan 900 tekens" in response.content.decode()
    assert not released_mn.updates.exists()
    # Invisible characters do not count: they are not stored.
    response = mn.post(url, {"text": "x" * FOLLOW_UP_TEXT_MAX + "\u200b" * 5})
    assert response.status_code == 302
    assert released_mn.updates.get().text == "x" * FOLLOW_UP_TEXT_MAX


def test_the_text_fields_carry_their_counter_and_the_page_its_script(mn, released_mn):
    html = mn.get(reverse("console:detail", args=[released_mn.pk])).content.decode()
    for form in ("update", "end", "cancel"):
        field = re.search(rf'<textarea[^>]*id="{form}-text"[^>]*>', html)[0]
        assert 'maxlength="900"' in field
        assert 'data-counter-left="Tekens over: {left} van {max}"' in field
    assert '<script src="/static/js/char-counter.js" defer></script>' in html

    html = mn.get(reverse("console:create")).content.decode()
    field = re.search(r'<textarea[^>]*id="id_text"[^>]*>', html)[0]
    assert 'maxlength="1000"' in field and "data-counter-left" in field
    assert "js/char-counter.js" in html


def test_it_stores_the_console_forms_text_clean(mn):
    response = mn.post(
        reverse("console:create"),
        _form_data(title="Vermiste vrouw\u202e (79)", text="Loopt\u200b met rollator."),
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.title, action.text) == ("Vermiste vrouw (79)", "Loopt met rollator.")


def test_the_release_screen_shows_each_channel_s_text_as_it_will_be_sent(mn, operator_mn):
    """What the operator reads before release is what the senders make: the SMS with its
    parts, the call's script, the push; only for the channels the release uses."""
    from apps.actions import services
    from apps.channels import previews

    action = services.action_create(
        by=operator_mn,
        persons=[{"sex": "male", "age": "82", "clothing": "grijze jas"}],
        **action_fields(text="Loopt met een rollator.", text_de="Geht mit Rollator."),
    )
    page = mn.get(reverse("console:detail", args=[action.pk])).content.decode()
    texts = page.split('id="channel-texts"')[1].split("</section>")[0]
    expected = {
        row["channel"]: row
        for row in previews.channel_texts(services.action_message_preview(action), "nl")
    }
    from django.utils.html import escape

    assert escape(expected["sms"]["text"]) in texts
    assert escape(expected["voice"]["script"]) in texts
    assert escape(expected["webpush"]["title"]) in texts
    assert 'id="text-email"' not in texts  # a time-critical release goes without e-mail
    assert "Geht mit Rollator." in texts.split('id="sms-other-languages"')[1]
    assert not OutgoingMessage.objects.exists()  # the preview writes nothing


def test_in_development_an_edited_live_panel_template_is_rendered_anew(
    mn, released_mn, settings, monkeypatch
):
    """With DEBUG on, templates are read again as they change; the kept panel must not
    outlive an edit (its version names the template's text)."""
    from apps.actions import console

    settings.DEBUG = True
    before = _poll(mn, released_mn)
    original = console._fingerprint
    monkeypatch.setattr(console, "_fingerprint", lambda source: original(source + "edited"))
    after = _poll(mn, released_mn, before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
