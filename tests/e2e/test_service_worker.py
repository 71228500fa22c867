"""The web app's service worker in Chromium: pushes delivered to it through the DevTools
protocol (ServiceWorker.deliverPushMessage), as the browser's push service would."""

import json
import time

from django.urls import reverse

ALERT = {
    "title": "Vermist: meisje (8)",
    "body": "Lang blond haar, roze jas. Gezien bij het station.",
    "topic": "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6",
    "urgency": "high",
    "url": "/app/",
    "message": 41,
    "delivery": 9001,
}

SHOWN = """() => navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((list) => list.map((n) => ({title: n.title, tag: n.tag})))"""
CLOSE_ALL = """() => navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((list) => list.forEach((n) => n.close()))"""


def _app_with_worker(make_page, live_server):
    """The app page with its service worker active, notifications allowed; returns the page
    and deliver(payload), which hands a push to that worker."""
    page = make_page()
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    cdp = page.context.new_cdp_session(page)
    registrations: dict[str, str] = {}

    def updated(event):
        for registration in event["registrations"]:
            registrations[registration["scopeURL"]] = registration["registrationId"]

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    page.goto(reverse("participants:webapp"))
    assert page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.active !== null)")
    scope = live_server.url + reverse("participants:webapp")
    end = time.monotonic() + 10
    while scope not in registrations and time.monotonic() < end:
        page.wait_for_timeout(50)
    assert scope in registrations, registrations

    def deliver(payload: dict) -> None:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": live_server.url,
                "registrationId": registrations[scope],
                "data": json.dumps(payload),
            },
        )

    return page, deliver


def _wait_for_shown(page, predicate, timeout: float = 10.0) -> list[dict]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        shown = page.evaluate(SHOWN)
        if predicate(shown):
            return shown
        page.wait_for_timeout(50)
    return page.evaluate(SHOWN)


def test_the_app_shows_a_message_once_however_often_it_arrives(
    make_page, live_server, push_service
):
    page, deliver = _app_with_worker(make_page, live_server)

    deliver(ALERT)
    shown = _wait_for_shown(page, lambda shown: len(shown) == 1)
    assert shown == [{"title": ALERT["title"], "tag": ALERT["topic"]}]
    page.evaluate(CLOSE_ALL)  # the citizen read it and swiped it away
    assert _wait_for_shown(page, lambda shown: not shown) == []

    # The same message again, as after a worker died before it wrote down the push: silent.
    deliver(ALERT)
    page.wait_for_timeout(1000)
    assert page.evaluate(SHOWN) == []

    # An update of the action is a message of its own: it is shown (and replaces by tag).
    update = {**ALERT, "title": "Update: meisje (8)", "message": 42, "delivery": 9002}
    deliver(update)
    shown = _wait_for_shown(page, lambda shown: len(shown) == 1)
    assert shown == [{"title": update["title"], "tag": ALERT["topic"]}]


SHOWN_STICKY = """() => navigator.serviceWorker.ready
    .then((registration) => registration.getNotifications())
    .then((list) => list.map((n) => ({title: n.title, sticky: n.requireInteraction})))"""


def test_an_alert_stays_on_screen_but_its_end_message_does_not(
    make_page, live_server, push_service
):
    page, deliver = _app_with_worker(make_page, live_server)

    deliver(ALERT)
    _wait_for_shown(page, lambda shown: len(shown) == 1)
    assert page.evaluate(SHOWN_STICKY) == [{"title": ALERT["title"], "sticky": True}]
    page.evaluate(CLOSE_ALL)
    _wait_for_shown(page, lambda shown: not shown)

    # The end message of the same time-critical action: as urgent, but a follow-up.
    end = {
        **ALERT,
        "title": "Afgelopen: meisje (8)",
        "message": 43,
        "delivery": 9003,
        "what": "end",
        "follow_up": True,
    }
    deliver(end)
    _wait_for_shown(page, lambda shown: len(shown) == 1)
    assert page.evaluate(SHOWN_STICKY) == [{"title": end["title"], "sticky": False}]
