"""Alerts from across the border in a real browser: the console shows a partner's alert
near the border (read from a local feed server) and an operator adopts it into a draft."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.actions import partners
from apps.actions.models import Action, PartnerAlert, PartnerFeed
from tests.actions.conftest import png_bytes
from tests.actions.partner_feed_server import BAARLE_HERTOG, FeedServer, atom, cap
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in


@pytest.fixture(autouse=True)
def no_tiles(settings, live_server):
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": live_server.url + "/geen-kaarttegels/{z}/{x}/{y}.png",
    }


@pytest.fixture
def feed_server(settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = True
    server = FeedServer()
    yield server
    server.stop()


@pytest.fixture
def operator_zwb(make_staff_user):
    from apps.governance import services
    from apps.governance.models import Organisation, PoliceUnit
    from apps.governance.roles import Role

    org = services.organisation_ensure(
        name="Meldkamer Zeeland-West-Brabant",
        kind=Organisation.Kind.CONTROL_ROOM,
        police_unit=PoliceUnit.objects.get(name="Zeeland-West-Brabant"),
    )
    return make_staff_user("operator-zwb", org, [Role.OPERATOR])


def test_the_console_shows_a_partners_alert_and_adopts_it_into_a_draft(
    page, feed_server, operator_zwb, assert_accessible, foreign_requests
):
    feed_server.serve("/foto.png", png_bytes(), headers={"Content-Type": "image/png"})
    feed_server.serve("/cap/1.xml", cap("BE-1", image=feed_server.url("/foto.png")))
    feed_server.serve("/feed.atom", atom(feed_server.url("/cap/1.xml")))
    feed = PartnerFeed.objects.create(
        name="Politie België", country="BE", url=feed_server.url("/feed.atom")
    )
    assert partners.feed_read(feed=feed).stored == 1

    page.goto(LOGIN_PATH)
    log_in(page, operator_zwb, current_code(operator_zwb))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, operator-zwb")
    page.goto(reverse("console:index"))
    section = page.get_by_role("region", name="Alerts bij de grens")
    expect(section).to_contain_text("België: vermiste persoon bij Baarle-Hertog")
    expect(section).to_contain_text("Bron: Politie België")
    assert_accessible(page)

    section.get_by_role("button", name="Overnemen als concept").click()

    expect(page.locator("#action-state")).to_have_text("concept")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "vermiste persoon bij Baarle-Hertog"
    )
    action = Action.objects.get()
    assert action.state == Action.State.DRAFT
    assert (action.lat, action.lon, action.radius_m) == (*BAARLE_HERTOG, 3000)
    assert "Bron: Politie België (België)." in action.text
    assert action.photo
    assert PartnerAlert.objects.get().adopted_action == action

    # Back on the overview the alert names the draft instead of offering it again.
    page.goto(reverse("console:index"))
    section = page.get_by_role("region", name="Alerts bij de grens")
    expect(section.get_by_role("link", name="Overgenomen als actie")).to_be_visible()
    expect(section.get_by_role("button", name="Overnemen als concept")).to_have_count(0)
    assert foreign_requests == []
