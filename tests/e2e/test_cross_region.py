"""A circle that reaches into another unit's region: the operator is told before release,
and the other unit's operators see the running action, marked and read-only (issue 9)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.actions import services
from tests.actions.conftest import UTRECHT, action_fields, point_at
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in


@pytest.fixture(autouse=True)
def no_tiles(settings, live_server):
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": live_server.url + "/geen-kaarttegels/{z}/{x}/{y}.png",
    }


def test_the_neighbouring_unit_is_named_before_release_and_sees_the_action_after(
    make_page, operator_mn, operator_ams, assert_accessible
):
    near_border = point_at(UTRECHT, 15_000, bearing_deg=330)
    action = services.action_create(
        by=operator_mn,
        **action_fields(
            title="Overval tankstation", lat=near_border[0], lon=near_border[1], radius_m=30_000
        ),
    )

    mn = make_page()
    mn.goto(LOGIN_PATH)
    log_in(mn, operator_mn, current_code(operator_mn))
    expect(mn.get_by_role("heading", level=1)).to_have_text("Welkom, operator-mn")
    # While drawing a new circle the console names the other region before saving.
    mn.goto(reverse("console:create"))
    mn.locator("#id_lat").fill(f"{near_border[0]:.5f}")
    mn.locator("#id_lon").fill(f"{near_border[1]:.5f}")
    mn.locator("#id_radius_m").fill("30000")
    mn.locator("#id_radius_m").dispatch_event("input")
    expect(mn.locator("#reach-units")).to_contain_text("Amsterdam")
    mn.locator("#id_lat").fill(f"{UTRECHT[0]:.5f}")
    mn.locator("#id_lon").fill(f"{UTRECHT[1]:.5f}")
    mn.locator("#id_radius_m").fill("2000")
    mn.locator("#id_radius_m").dispatch_event("input")
    expect(mn.locator("#reach-units")).to_be_hidden()

    mn.goto(reverse("console:detail", args=[action.pk]))
    warning = mn.locator("#reaches-units")
    expect(warning).to_contain_text("reikt tot in")
    expect(warning).to_contain_text("Amsterdam")
    assert_accessible(mn, context={"exclude": [["#action-map"]]})
    mn.locator("#release-confirm").check()
    mn.locator("#release-button").click()
    expect(mn.locator("#action-state")).to_have_text("lopend")

    ams = make_page()
    ams.goto(LOGIN_PATH)
    log_in(ams, operator_ams, current_code(operator_ams))
    expect(ams.get_by_role("heading", level=1)).to_have_text("Welkom, operator-ams")
    ams.goto(reverse("console:index"))
    reaching = ams.locator("#reaching-actions")
    expect(reaching).to_contain_text("Overval tankstation")
    expect(reaching).to_contain_text("andere eenheid")
    expect(reaching).to_contain_text("Midden-Nederland")
    assert_accessible(ams)
    reaching.get_by_role("link", name="Overval tankstation").click()
    expect(ams.get_by_role("heading", level=1)).to_have_text("Overval tankstation")
    expect(ams.locator("#neighbour-note")).to_contain_text("Midden-Nederland")
    # Read-only: no forms to change or end the action.
    expect(ams.locator("main form[method=post]")).to_have_count(0)
    assert_accessible(ams, context={"exclude": [["#action-map"]]})
