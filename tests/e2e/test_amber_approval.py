"""Two people for an AMBER Alert, in a real browser: national operator A submits the draft
for approval and cannot approve it; national operator B, logged in on another browser,
finds it waiting in the console's overview, sees what will be sent and approves it, which
releases it at once (actions/approval.py)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from apps.actions import services
from apps.actions.models import Action, ActionApproval
from apps.governance.models import AuditEntry
from apps.governance.roles import Role
from tests.e2e.test_action_flow import png
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in

TITLE = "AMBER Alert: Sanne (6)"


@pytest.fixture(autouse=True)
def site(settings, live_server, tmp_path):
    """Links to the live server, photos in a temporary folder, map tiles configured but
    absent (the pages must work without them)."""
    from django.core.cache import cache

    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": live_server.url + "/geen-kaarttegels/{z}/{x}/{y}.png",
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def amber(national_operator):
    """A's draft AMBER Alert, with its photo and signalement."""
    return services.action_create(
        by=national_operator,
        persons=[{"sex": "female", "age": "6", "clothing": "roze jas"}],
        kind="amber_alert",
        title=TITLE,
        text="Meegenomen bij de speeltuin.",
        photo=SimpleUploadedFile("sanne.png", png(), content_type="image/png"),
        lat=52.0907,
        lon=5.1214,
        radius_m=2000,
    )


def test_a_second_national_operator_approves_an_amber_alert(
    make_page, national_operator, make_staff_user, org_national_unit, amber, assert_accessible
):
    second = make_staff_user("landelijk-2", org_national_unit, [Role.NATIONAL_OPERATOR])
    detail = reverse("console:detail", args=[amber.pk])

    # A opens the draft: no release button, only "submit for approval".
    a = make_page()
    a.goto(LOGIN_PATH)
    log_in(a, national_operator, current_code(national_operator))
    expect(a.get_by_role("heading", level=1)).to_have_text("Welkom, landelijk")
    a.goto(detail)
    expect(a.locator("#release-form")).to_have_count(0)
    expect(a.locator("#release")).to_contain_text("tweede landelijk operator")
    a.get_by_role("button", name="Ter goedkeuring indienen").click()
    expect(a.locator("#approval-state")).to_contain_text("Ter goedkeuring ingediend door landelijk")
    expect(a.locator("#approve-form")).to_have_count(0)
    expect(a.locator("#approval-own")).to_be_visible()
    expect(a.locator("#action-state")).to_have_text("concept")
    assert amber.approvals.get().state == ActionApproval.State.SUBMITTED

    # B logs in elsewhere and finds it waiting in the overview.
    b = make_page()
    b.goto(LOGIN_PATH)
    log_in(b, second, current_code(second))
    expect(b.get_by_role("heading", level=1)).to_have_text("Welkom, landelijk-2")
    b.goto(reverse("console:index"))
    waiting = b.locator("#awaiting-section")
    expect(waiting).to_contain_text("wacht op goedkeuring")
    assert_accessible(b)
    waiting.get_by_role("link", name=TITLE).click()

    # What will be sent, exactly: the title and text as the alert carries them.
    preview = b.locator("#approval-preview")
    expect(preview).to_contain_text(f"Burgernet: {TITLE}")
    expect(preview).to_contain_text("roze jas")
    expect(preview).to_contain_text("Meegenomen bij de speeltuin.")
    expect(preview).to_contain_text("Gezien? Bel 0800-0011")
    assert_accessible(b, context={"exclude": [["#action-map"]]})

    b.get_by_label(re.compile("Ik heb deze actie gezien zoals zij wordt verstuurd")).check()
    b.get_by_role("button", name="Goedkeuren en versturen").click()
    expect(b.locator("#action-state")).to_have_text("lopend")
    expect(b.locator(".messages, .message").first).to_contain_text("Goedgekeurd")

    amber.refresh_from_db()
    assert amber.state == Action.State.RELEASED and amber.release_message_id
    released = AuditEntry.objects.get(verb="action.released", target_id=str(amber.pk))
    assert released.actor == second
    approved = AuditEntry.objects.get(verb="action.approved", target_id=str(amber.pk))
    assert approved.detail["submitted_by"] == "landelijk"

    # A's page shows it running too.
    a.goto(detail)
    expect(a.locator("#action-state")).to_have_text("lopend")
