"""The site's own error pages (400, 403, 404, 500): Dutch, on the site's layout, with a way
on, never Django's bare English page. Rendered as in production, with DEBUG off."""

import re
import uuid

import pytest
from django.conf import settings
from django.template import loader
from django.test import Client, override_settings
from django.urls import reverse

from apps.actions import public, services

# What Django's built-in pages say; none of it may show.
DJANGO_DEFAULTS = ("Bad Request", "Forbidden", "Not Found", "Server Error")
UTRECHT = (52.0907, 5.1214)

pytestmark = pytest.mark.usefixtures("_debug_off")


@pytest.fixture
def _debug_off():
    with override_settings(DEBUG=False):
        yield


def _page(response) -> str:
    html = response.content.decode()
    for text in DJANGO_DEFAULTS:
        assert text not in html
    return html


def _heading(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert match, "the page has no heading"
    return match.group(1).strip()


def _draft_of_midden_nederland(operator):
    return services.action_create(
        by=operator,
        kind="missing_person",
        title="Vermiste man (82)",
        text="Loopt slecht.",
        lat=UTRECHT[0],
        lon=UTRECHT[1],
        radius_m=2000,
    )


def test_it_shows_a_dutch_404_to_a_citizen_following_a_dead_action_link(client, db):
    response = client.get(reverse("alerts:action", kwargs={"ref": uuid.uuid4()}))

    assert response.status_code == 404
    html = _page(response)
    assert '<html lang="nl">' in html
    assert _heading(html) == "Deze pagina bestaat niet"
    assert 'href="/static/css/burgernet.css"' in html  # the site's layout
    assert f'href="{reverse("participants:home")}"' in html
    assert reverse("governance:home") not in html


def test_it_shows_the_404_in_english_to_whom_chose_english(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/bestaat/niet/")

    assert response.status_code == 404
    assert '<html lang="en">' in _page(response)


def test_it_offers_staff_their_start_page_on_a_404(staff_client, operator_mn):
    response = staff_client(operator_mn).get(reverse("console:detail", args=[999_999]))

    assert response.status_code == 404
    html = _page(response)
    assert _heading(html) == "Deze pagina bestaat niet"
    assert f'href="{reverse("governance:home")}"' in html
    assert 'class="staff"' in html  # the staff layout


def test_it_shows_a_dutch_403_with_the_staff_home_for_another_regions_action(
    staff_client, operator_mn, operator_ams
):
    action = _draft_of_midden_nederland(operator_mn)
    response = staff_client(operator_ams).get(reverse("console:detail", args=[action.pk]))

    assert response.status_code == 403
    html = _page(response)
    assert '<html lang="nl">' in html
    assert _heading(html) == "U heeft geen toegang tot deze pagina"
    assert f'href="{reverse("governance:home")}"' in html
    assert action.title not in html


def test_it_shows_the_403_to_staff_without_the_role(staff_client, woerden_author):
    response = staff_client(woerden_author).get(reverse("console:index"))

    assert response.status_code == 403
    assert _heading(_page(response)) == "U heeft geen toegang tot deze pagina"


def test_it_shows_a_dutch_400_for_a_request_it_cannot_handle(client, db):
    response = client.get("/", HTTP_HOST="niet-toegestaan.example")  # DisallowedHost

    assert response.status_code == 400
    html = _page(response)
    assert '<html lang="nl">' in html
    assert _heading(html) == "Dit verzoek kunnen wij niet verwerken"
    # On the site's layout, with a working language switch (the request was there).
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_shows_a_dutch_500_when_a_view_fails(db, monkeypatch):
    def broken(ref):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(public, "_public_action", broken)
    client = Client(raise_request_exception=False)
    response = client.get(reverse("alerts:action", kwargs={"ref": uuid.uuid4()}))

    assert response.status_code == 500
    html = _page(response)
    assert '<html lang="nl">' in html
    assert _heading(html) == "Er ging bij ons iets mis"
    assert "database went away" not in html
    assert 'href="/static/css/burgernet.css"' in html


def test_it_shows_the_500_in_the_chosen_language(db, monkeypatch):
    monkeypatch.setattr(public, "_public_action", lambda ref: 1 / 0)
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("alerts:action", kwargs={"ref": uuid.uuid4()}))

    assert response.status_code == 500
    assert '<html lang="en">' in _page(response)


def test_it_renders_the_500_page_without_request_context_or_database():
    # No `db` fixture: any query here fails the test. Django renders 500.html like this.
    html = loader.get_template("500.html").render()

    assert _heading(html) == "Er ging bij ons iets mis"
    assert "<main" in html and 'class="skip-link"' in html
    for text in DJANGO_DEFAULTS:
        assert text not in html


def test_it_shows_a_dutch_page_for_a_form_sent_without_a_valid_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/aanmelden/", {"phone": "0612345678"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Dit formulier is verlopen" in body
    assert "CSRF verification failed" not in body
    assert 'lang="nl"' in body
