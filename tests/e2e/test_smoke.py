"""The public site opens in a real browser, passes axe-core, and speaks English on request."""

from urllib.parse import urlsplit

from playwright.sync_api import expect


def test_it_serves_an_accessible_dutch_home_page(page, assert_accessible, foreign_requests):
    response = page.goto("/")

    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    assert foreign_requests == []


def test_it_switches_the_language_to_english(page):
    page.goto("/")

    page.get_by_label("Taal", exact=True).select_option("en")
    page.get_by_role("button", name="Kies taal").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header").get_by_role("combobox")).to_have_value("en")
    assert urlsplit(page.url).path == "/"
