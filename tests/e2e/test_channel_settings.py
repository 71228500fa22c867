"""A manager pauses SMS and sets a ceiling in the browser; an operator's release screen then
shows what the ceiling cuts (issue 11)."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.actions import services
from apps.channels.models import CeilingStep, ChannelSetting, OutgoingMessage
from tests.actions import conftest as actions_fixtures
from tests.actions.conftest import UTRECHT, action_fields, point_at
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in

make_participant = actions_fixtures.make_participant  # the fixture, here too


@pytest.fixture(autouse=True)
def no_tiles(settings, live_server):
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": live_server.url + "/geen-kaarttegels/{z}/{x}/{y}.png",
    }


def test_a_manager_pauses_sms_sets_a_ceiling_and_the_operator_sees_the_cut(
    make_page, manager, operator_mn, make_participant, assert_accessible
):
    for n in range(12):
        make_participant(point_at(UTRECHT, 100 + 100 * n, 30 * n))
    action = services.action_create(by=operator_mn, **action_fields(title="Vermist meisje"))

    page = make_page()
    page.goto(LOGIN_PATH)
    log_in(page, manager, current_code(manager))
    page.locator("#link-channels").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kanalen")
    assert_accessible(page)
    page.locator("#channel-sms").get_by_role("link").click()

    # Pause SMS.
    page.get_by_label("gepauzeerd").check()
    page.locator("#setting-form").get_by_label("Toelichting").fill("Storing bij de sms-gateway")
    page.locator("#setting-save").click()
    expect(page.locator("#channel-state")).to_contain_text("gepauzeerd")
    assert ChannelSetting.objects.get(channel="sms").state == "paused"
    assert_accessible(page)

    # The operator's release screen no longer offers SMS.
    operator = make_page()
    operator.goto(LOGIN_PATH)
    log_in(operator, operator_mn, current_code(operator_mn))
    operator.goto(reverse("console:detail", args=[action.pk]))
    expect(operator.locator("#release-reach")).to_be_visible()
    expect(operator.locator("#reach-sms")).to_have_count(0)

    # Resume SMS with a ceiling of 10 from today.
    page.get_by_label("in gebruik").check()
    page.locator("#setting-save").click()
    expect(page.locator("#channel-state")).to_contain_text("in gebruik")
    form = page.locator("#ceiling-form")
    form.get_by_label("Vanaf").fill(timezone.localdate().isoformat())
    form.get_by_label("Hoogstens ontvangers per bericht").fill("10")
    form.get_by_label("Toelichting").fill("Proef met een plafond")
    page.locator("#ceiling-add").click()
    expect(page.locator("#schedule")).to_contain_text("hoogstens 10 per bericht")
    expect(page.locator("#schedule")).to_contain_text("geldt nu")
    assert CeilingStep.objects.get(channel="sms").max_recipients == 10

    # Twelve in the area, ten get the SMS: the operator is told before release.
    operator.reload()
    expect(operator.locator("#reach-sms")).to_contain_text("12 in het gebied")
    expect(operator.locator("#reach-sms")).to_contain_text("plafond van 10")
    expect(operator.locator("#reach-cut-note")).to_be_visible()
    # And each channel's text as it will be sent: the SMS with its parts, the call, the push.
    expect(operator.locator("#text-sms")).to_contain_text("Bel 0800-0011")
    expect(operator.locator("#sms-parts")).to_contain_text("GSM-7")
    expect(operator.locator("#text-voice")).to_contain_text("0 8 0 0")
    expect(operator.locator("#text-webpush")).to_contain_text("Vermist meisje")
    operator.locator("#sms-other-languages summary").click()
    expect(operator.locator("#sms-other-languages")).to_contain_text("Call 0800-0011")
    assert_accessible(operator, context={"exclude": [["#action-map"]]})


def test_a_test_push_needs_the_web_app_on_this_device(make_page, manager):
    page = make_page()
    page.goto(LOGIN_PATH)
    log_in(page, manager, current_code(manager))
    page.goto(reverse("governance:channel", args=["webpush"]))
    page.locator("#push-test-send").click()
    expect(page.locator("#push-test-problem")).to_contain_text("web-app niet aan")
    assert not OutgoingMessage.objects.exists()
