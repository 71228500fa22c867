"""Staff log in with password and TOTP code in a real browser; the admin keeps each
municipality to its own objects.

Each TOTP code is used at most once per test: django-otp refuses a code used before, and
refuses any code for a moment after a wrong one.
"""

import re
import time

from django.urls import reverse
from playwright.sync_api import expect

from apps.governance import totp
from tests.conftest import TEST_PASSWORD

LOGIN_PATH = "/medewerkers/inloggen/"
HOME_PATH = "/medewerkers/"


def current_code(user) -> str:
    return totp.code_at(totp.confirmed_devices(user).get())


def wrong_code(user) -> str:
    """A code the device accepts at no time step within its tolerance."""
    device = totp.confirmed_devices(user).get()
    now = time.time()
    accepted = {totp.code_at(device, now + step * device.step) for step in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in accepted)


def log_in(page, user, code: str) -> None:
    page.get_by_label("Gebruikersnaam").fill(user.get_username())
    page.get_by_label("Wachtwoord").fill(TEST_PASSWORD)
    page.get_by_label("Code uit de authenticator-app").fill(code)
    page.get_by_role("button", name="Inloggen").click()


def test_it_logs_a_staff_user_in_with_password_and_totp_code(
    page, operator_mn, assert_accessible, foreign_requests
):
    page.goto(LOGIN_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen voor medewerkers")
    assert_accessible(page)

    log_in(page, operator_mn, current_code(operator_mn))

    expect(page).to_have_url(re.compile(re.escape(HOME_PATH) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, operator-mn")
    main = page.get_by_role("main")
    expect(main.get_by_role("region", name="Uw organisatie")).to_contain_text(
        "Meldkamer Midden-Nederland"
    )
    expect(page.get_by_role("button", name="Uitloggen")).to_be_visible()
    assert_accessible(page)
    assert foreign_requests == []


def test_it_keeps_a_staff_user_with_a_wrong_code_out(page, operator_mn, assert_accessible):
    page.goto(LOGIN_PATH)

    log_in(page, operator_mn, wrong_code(operator_mn))

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("De code is onjuist of verlopen")
    code_field = page.get_by_label("Code uit de authenticator-app")
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_otp_token_error")).to_contain_text("De code is onjuist of verlopen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen voor medewerkers")
    assert_accessible(page)

    # Still out: the staff home sends them back to the log-in page.
    page.goto(HOME_PATH)
    expect(page).to_have_url(re.compile(re.escape(LOGIN_PATH)))
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen voor medewerkers")
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)


def test_it_keeps_a_municipality_user_to_its_own_organisation_in_the_admin(
    page, woerden_author, org_woerden, org_utrecht, assert_accessible
):
    page.goto(LOGIN_PATH)
    log_in(page, woerden_author, current_code(woerden_author))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, mail-woerden")

    page.goto("/beheer/")
    page.get_by_role("link", name="Organisaties", exact=True).click()

    # The list of organisations holds Woerden only.
    expect(page).to_have_url(re.compile(r"/beheer/governance/organisation/$"))
    results = page.locator("#result_list")
    expect(results.get_by_role("link", name="Gemeente Woerden")).to_be_visible()
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(page.locator("body")).not_to_contain_text("Gemeente Utrecht")

    # Its own organisation opens.
    results.get_by_role("link", name="Gemeente Woerden").click()
    expect(page.locator("#content")).to_contain_text("Gemeente Woerden")

    # Utrecht's, asked for directly, does not: the admin says it does not exist.
    utrecht_url = reverse("admin:governance_organisation_change", args=[org_utrecht.pk])
    page.goto(utrecht_url)
    expect(page).to_have_url(re.compile(r"/beheer/$"))
    expect(page.locator(".messagelist")).to_contain_text(
        f"Organisatie met ID ‘{org_utrecht.pk}’ bestaat niet"
    )
    expect(page.locator("body")).not_to_contain_text("Gemeente Utrecht")
