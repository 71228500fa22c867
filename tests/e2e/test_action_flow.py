"""A Burgernetactie from start to end in a real browser.

An operator logs in with a TOTP code, makes an action with the point clicked on the map
(the map tiles are configured but absent), sees the reach and releases it. A citizen's
web-app subscription, with keys made here and registered through the app's own endpoint
from the app's page, gets the alert at the local push service, and the test decrypts it.
The citizen sends a tip with a photo from the action page; it shows up on the operator's
page by itself. The operator ends the action; the end message reaches the same device.

The outbox runs for real: the release writes the rows, and `outbox_worker` claims and
sends them with the outbox workers' own loop.
"""

import io
import json
import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.actions.models import Action, Tip
from apps.bench.pushendpoint import make_subscriber
from apps.channels import vapid
from apps.channels.models import Delivery
from apps.participants.models import Device
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in

TITLE = "Vermiste man (82)"
TIP_TEXT = "Man in grijze jas zit op een bankje bij de kerk."
END_TEXT = "De man is veilig thuisgebracht. Dank voor het uitkijken."


@pytest.fixture(autouse=True)
def site(settings, live_server, tmp_path):
    """Links to the live server, photos in a temporary folder, and map tiles that are
    configured but not there (the pages must work without them)."""
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


def png(colour=(20, 120, 200), size=(64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def subscribe_from_the_app(citizen, subscriber, *, at: tuple[float, float]) -> str:
    """What the web app does once the browser has a push subscription: send it (with the
    page's CSRF token, through the app's own device.js) and report the area cell (computed
    by the app's own geohash.js). Returns the device ref the server gave."""
    body = {**subscriber.subscription_info(), "device": "", "language": "nl"}
    answer = citizen.evaluate(
        """async ([subscribeUrl, cellUrl, body, lat, lon]) => {
            const csrf = document.querySelector("#webapp input[name=csrfmiddlewaretoken]").value;
            const subscribed = await BurgernetDevice.postJSON(subscribeUrl, body, csrf);
            const cell = BurgernetGeohash.encode(lat, lon, 5);
            const reported = await BurgernetDevice.postJSON(
                cellUrl, {device: subscribed.data.device, cell: cell}, csrf);
            return {subscribed, reported, cell};
        }""",
        [
            reverse("participants:webapp_subscribe"),
            reverse("participants:webapp_cell"),
            body,
            *at,
        ],
    )
    assert answer["subscribed"]["status"] == 200, answer
    assert answer["reported"] == {"status": 200, "data": {"cell": answer["cell"]}}
    return answer["subscribed"]["data"]["device"]


def wait_for_pushes(push_service, push_id: str, count: int, timeout: float = 10.0) -> list:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pushes = push_service.pushes_for(push_id)
        if len(pushes) >= count:
            return pushes
        time.sleep(0.05)
    return push_service.pushes_for(push_id)


def test_an_operator_alerts_a_citizen_who_sends_a_tip_and_hears_the_end(
    make_page,
    live_server,
    operator_mn,
    push_service,
    outbox_worker,
    assert_accessible,
    foreign_requests,
):
    operator = make_page()
    citizen = make_page()

    # The citizen's phone opens the web app; its subscription (keys made here, like a
    # browser's) goes to the local push service. A second phone is in Amsterdam.
    citizen.goto("/app/")
    expect(citizen.locator("#webapp")).to_have_attribute("data-vapid-key", vapid.public_key())
    assert_accessible(citizen)
    phone = make_subscriber(push_service.url_for("phone-utrecht"))
    far_phone = make_subscriber(push_service.url_for("phone-amsterdam"))

    # The operator logs in and starts a new action.
    operator.goto(LOGIN_PATH)
    log_in(operator, operator_mn, current_code(operator_mn))
    expect(operator.get_by_role("heading", level=1)).to_have_text("Welkom, operator-mn")
    operator.goto(reverse("console:create"))
    expect(operator.get_by_role("heading", level=1)).to_have_text("Nieuwe actie")

    operator.locator("#id_kind").select_option("missing_person")
    # A missing person is time-critical by default: the form says so by itself.
    expect(operator.locator("#id_is_time_critical")).to_be_checked()
    operator.locator("#id_title").fill(TITLE)
    operator.locator("#id_text").fill("Loopt slecht en is in de war.")
    operator.locator("#id_person-0-sex").select_option("male")
    operator.locator("#id_person-0-age").fill("82")
    operator.locator("#id_person-0-clothing").fill("grijze jas, blauwe pet")

    # The point: a click on the map (its centre), which has no tiles to show.
    operator.locator("#point-map").click()
    expect(operator.locator("#id_lat")).not_to_have_value("")
    lat = float(operator.locator("#id_lat").input_value())
    lon = float(operator.locator("#id_lon").input_value())
    assert 51.9 < lat < 52.3 and 5.0 < lon < 5.6, (lat, lon)  # the map's centre, near Utrecht
    expect(operator.locator("#point-map path.leaflet-interactive")).to_have_count(1)  # circle

    # Now the citizen's phone is in the circle, the other far away.
    device_ref = subscribe_from_the_app(citizen, phone, at=(lat, lon))
    subscribe_from_the_app(citizen, far_phone, at=(52.3731, 4.8926))
    assert Device.objects.count() == 2

    # The reach follows the radius; one device is shown as fewer than ten, never the number.
    operator.locator("#id_radius_m").fill("3000")
    operator.locator("#id_radius_m").dispatch_event("input")
    reach = operator.locator("#reach-table")
    expect(reach).to_be_visible()
    expect(reach.locator("tr", has_text="web-app (push)")).to_contain_text("minder dan 10")
    expect(operator.locator("#reach-status")).to_have_text("Totaal: minder dan 10")
    assert_accessible(operator, context={"exclude": [["#point-map"]]})

    operator.get_by_role("button", name="Opslaan als concept").click()
    expect(operator.locator(".messages, .message").first).to_contain_text(
        "De actie is als concept opgeslagen."
    )
    action = Action.objects.get()
    assert (action.state, action.radius_m) == (Action.State.DRAFT, 3000)
    assert (round(action.lat, 5), round(action.lon, 5)) == (round(lat, 5), round(lon, 5))

    # The draft opened again: its point is on the map; the clothing is corrected.
    operator.get_by_role("link", name="Concept bewerken").click()
    expect(operator.get_by_role("heading", level=1)).to_have_text("Concept bewerken")
    expect(operator.locator("#id_title")).to_have_value(TITLE)
    expect(operator.locator("#point-map path.leaflet-interactive")).to_have_count(1)
    operator.locator("#id_person-0-clothing").fill("grijze jas, rode pet")
    operator.get_by_role("button", name="Opslaan als concept").click()
    expect(
        operator.locator("#signalement-title + ul, #signalement-title ~ ul").first
    ).to_contain_text("rode pet")
    release_reach = operator.locator("#release-reach")
    expect(release_reach.locator("tfoot")).to_contain_text("minder dan 10")

    # Release: the outbox writes the rows and a worker claims and sends them.
    operator.get_by_label(re.compile("Ik heb het bereik gezien")).check()
    operator.get_by_role("button", name="Actie versturen").click()
    expect(operator.locator("#action-state")).to_have_text("lopend")
    assert outbox_worker()["sent"] >= 1

    [alert] = wait_for_pushes(push_service, "phone-utrecht", 1)
    assert push_service.pushes_for("phone-amsterdam") == []
    payload = json.loads(phone.decrypt(alert.body))
    action.refresh_from_db()
    page_url = f"{live_server.url}/actie/{action.ref}/"
    assert payload["title"] == f"Burgernet: {TITLE}"
    assert "82 jaar" in payload["body"] and "rode pet" in payload["body"]
    assert "0800-0011" in payload["body"]
    assert payload["url"] == page_url
    assert alert.headers["urgency"] == "high"
    assert alert.headers["topic"]
    release_delivery = Delivery.objects.get(message=action.release_message)
    assert release_delivery.state == Delivery.State.SENT
    assert str(release_delivery.device.ref) == device_ref

    # The operator's page counts it, without a reload.
    sending = operator.locator("#sending-table")
    expect(sending.locator("tbody tr").first).to_contain_text("web-app (push)")
    expect(sending.locator("tbody tr td").nth(3)).to_have_text("1", timeout=10_000)
    assert_accessible(operator, context={"exclude": [["#action-map"]]})

    # The citizen opens the push: the action page, which passes axe.
    citizen.goto(payload["url"])
    expect(citizen.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(citizen.locator("#call-button")).to_have_attribute("href", "tel:08000011")
    assert_accessible(citizen)

    # A tip with a photo, sent from the page.
    citizen.get_by_label("Wat heeft u gezien?").fill(TIP_TEXT)
    citizen.get_by_label("Foto (niet verplicht)").set_input_files(
        {"name": "bankje.png", "mimeType": "image/png", "buffer": png()}
    )
    citizen.get_by_role("button", name="Tip versturen").click()
    expect(citizen.locator("#tip-sent")).to_contain_text("Bedankt voor uw tip.")
    assert_accessible(citizen)
    tip = Tip.objects.get()
    assert tip.photo and tip.phone == ""

    # It appears on the operator's page by itself, with its photo.
    tip_item = operator.locator(f"#tip-{tip.pk}")
    expect(tip_item).to_contain_text(TIP_TEXT, timeout=10_000)
    tip_photo = tip_item.locator("img.tip-photo")
    expect(tip_photo).to_be_visible()
    expect(tip_photo).to_have_js_property("naturalWidth", 64)
    expect(tip_item).to_contain_text("anoniem")

    # While nothing changes, the panel is left as it is (a screen reader does not read the
    # live region again): the next poll is answered 304 and the node stays the same.
    operator.evaluate("document.getElementById('live-panel').dataset.seen = 'yes'")
    with operator.expect_response(lambda r: "/live/" in r.url, timeout=10_000) as polled:
        pass
    assert polled.value.status == 304
    operator.wait_for_timeout(300)
    expect(operator.locator("#live-panel")).to_have_attribute("data-seen", "yes")

    # The operator marks the tip read (its button submits the form around the panel).
    tip_item.get_by_role("button", name="Gelezen").click()
    expect(operator.locator(f"#tip-{tip.pk}")).not_to_have_class(re.compile("unread"))
    expect(operator.locator(f"#tip-{tip.pk}").get_by_role("button", name="Gelezen")).to_have_count(
        0
    )
    tip.refresh_from_db()
    assert tip.is_read

    # The operator ends the action; the end message goes to the same device.
    operator.locator("#end-result").select_option("found_safe")
    operator.locator("#end-information_contributed").select_option("yes")
    operator.locator("#end-text").fill(END_TEXT)
    operator.get_by_role("button", name="Beëindigen en afloopbericht versturen").click()
    expect(operator.locator("#action-state")).to_have_text("beëindigd")
    outbox_worker()

    pushes = wait_for_pushes(push_service, "phone-utrecht", 2)
    assert len(pushes) == 2
    assert push_service.pushes_for("phone-amsterdam") == []
    end = json.loads(phone.decrypt(pushes[1].body))
    assert end["title"] == f"Burgernet: Afgelopen: {TITLE}"
    code = Action.objects.get(title=TITLE).verification_code
    assert end["body"] == f"gevonden. {END_TEXT}\nControlecode {code}"
    assert end["url"] == page_url
    assert pushes[1].headers["topic"] == alert.headers["topic"]  # replaces an unread alert

    # The citizen's page tells how it ended and takes no more tips.
    citizen.goto(end["url"])
    expect(citizen.locator("#end-message")).to_contain_text(END_TEXT)
    expect(citizen.locator("#tip-form")).to_have_count(0)
    assert_accessible(citizen)
    assert foreign_requests == []
