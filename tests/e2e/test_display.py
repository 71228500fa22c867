"""The full-screen display page in a real browser: empty at first, it shows a missing
person the operator releases and clears again after the end, by its own refresh (the
script polling the JSON; without script, the meta refresh)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.actions import services
from tests.actions.conftest import action_fields

EMPTY = "Geen vermissingen in deze regio"
TITLE = "Vermiste vrouw (67)"


@pytest.fixture(autouse=True)
def site(settings, live_server, tmp_path):
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")


def display_url(refresh: int = 1) -> str:
    return reverse("displays:page", kwargs={"slug": "midden-nederland"}) + f"?verversen={refresh}"


def release_and_end(operator, page):
    """The operator releases a missing person; the display shows it; the operator ends it;
    the display clears."""
    action = services.action_create(
        by=operator,
        persons=[{"sex": "female", "age": "67", "clothing": "rode regenjas"}],
        **action_fields(title=TITLE),
    )
    services.action_release(action=action, by=operator)
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.get_by_text("rode regenjas")).to_be_visible()
    expect(page.get_by_text(EMPTY)).to_have_count(0)

    action.refresh_from_db()
    services.action_end(
        action=action,
        by=operator,
        result="found_safe",
        text="Gevonden.",
        information_contributed=True,
    )
    expect(page.get_by_text(EMPTY)).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE)).to_have_count(0)


def test_the_display_shows_a_released_missing_person_and_clears_after_the_end(
    page, operator_mn, assert_accessible
):
    page.goto(display_url())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Midden-Nederland")
    expect(page.get_by_text(EMPTY)).to_be_visible()
    assert_accessible(page)
    loads = []
    page.on("load", lambda _page: loads.append(1))

    release_and_end(operator_mn, page)

    assert loads == []  # the script refreshed it, not a reload


def test_the_display_refreshes_itself_without_script(make_page, operator_mn):
    page = make_page(java_script_enabled=False)
    page.goto(display_url())
    expect(page.get_by_text(EMPTY)).to_be_visible()

    release_and_end(operator_mn, page)
