"""Alerts from across the border: reading CAP, importing partner feeds from a local feed
server (valid, invalid, update, cancel), the fetch rules (SSRF), the console's list near
the border, adopting an alert into a draft, and the managers' feeds in the admin."""

import logging
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.actions import partners
from apps.actions.cap_read import InvalidCap, read_alert
from apps.actions.models import Action, PartnerAlert, PartnerFeed
from apps.governance.models import AuditEntry
from tests.actions.conftest import png_bytes
from tests.actions.partner_feed_server import BAARLE_HERTOG, NAMUR, FeedServer, atom, cap

AMBER_EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "cap" / "example-amber-alert.xml"


@pytest.fixture
def server():
    feed_server = FeedServer()
    yield feed_server
    feed_server.stop()


@pytest.fixture
def loopback(settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = True


@pytest.fixture
def feed(db, server, loopback):
    return PartnerFeed.objects.create(
        name="Politie België", country="BE", url=server.url("/feed.atom"), kind="atom"
    )


@pytest.fixture
def operator_zwb(make_staff_user, geography):
    from apps.governance import services
    from apps.governance.models import Organisation, PoliceUnit
    from apps.governance.roles import Role

    org = services.organisation_ensure(
        name="Meldkamer Zeeland-West-Brabant",
        kind=Organisation.Kind.CONTROL_ROOM,
        police_unit=PoliceUnit.objects.get(name="Zeeland-West-Brabant"),
    )
    return make_staff_user("operator-zwb", org, [Role.OPERATOR])


def _import(server, feed, *messages: tuple[str, bytes]):
    for path, body in messages:
        server.serve(path, body)
    server.serve("/feed.atom", atom(*(server.url(path) for path, _ in messages)))
    return partners.feed_read(feed=feed)


# Reading CAP -----------------------------------------------------------------------------------


def test_it_reads_the_example_amber_alert_with_the_code_that_reads_cap():
    alert = read_alert(AMBER_EXAMPLE.read_bytes())

    assert alert.identifier == "KAR0-0306112239-SW"
    assert alert.sender == "KARO@CLETS.DOJ.CA.GOV"
    assert alert.sent.utcoffset().total_seconds() == -7 * 3600
    assert (alert.status, alert.msg_type, alert.references) == ("Actual", "Alert", [])
    assert [info.language for info in alert.infos] == ["en-US", "es-US"]
    english = alert.infos[0]
    assert english.event == "Child Abduction"
    assert english.category == ["Rescue"]
    assert (english.urgency, english.severity, english.certainty) == (
        "Immediate",
        "Severe",
        "Likely",
    )
    assert english.headline == "Amber Alert in Los Angeles County"
    assert english.areas[0].desc == "Los Angeles County"
    assert english.areas[0].geocodes == [("SAME", "006037")]
    assert english.areas[0].circles == [] and english.areas[0].polygons == []


def test_it_reads_circles_polygons_resources_and_references():
    data = cap(
        "BE-2",
        msg_type="Update",
        references="alerts@politie.example.be,BE-1,2026-12-04T17:00:00+01:00",
        image="https://politie.example.be/foto.png",
    )
    alert = read_alert(data)
    info = alert.infos[0]
    assert alert.references == [("alerts@politie.example.be", "BE-1", "2026-12-04T17:00:00+01:00")]
    assert info.areas[0].circles == [(51.443, 4.927, 3.0)]
    assert info.resources == [("image/png", "https://politie.example.be/foto.png")]
    ring = "51.4,4.9 51.5,4.9 51.5,5.0 51.4,5.0 51.4,4.9"
    polygon = read_alert(cap("BE-3", polygon=ring)).infos[0].areas[0].polygons[0]
    assert polygon[0] == (51.4, 4.9) and len(polygon) == 5


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        cap("BE-1").replace(b"<msgType>Alert</msgType>", b""),  # a required element missing
        cap("BE-1", sent="2026-12-04T18:00:00Z"),  # "Z" is not valid CAP
        cap("BE-1", point=(95.0, 4.9)),  # off the globe
    ],
)
def test_it_refuses_what_is_not_valid_cap(data):
    with pytest.raises(InvalidCap):
        read_alert(data)


def test_it_does_not_expand_entities_in_a_partners_message():
    data = cap("BE-1", headline="&xxe;").replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        b'<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    )
    try:
        alert = read_alert(data)
    except InvalidCap:
        return
    assert "root:" not in alert.infos[0].headline


# Importing a feed ------------------------------------------------------------------------------


def test_it_imports_a_valid_alert_and_refuses_an_invalid_one_without_half_saving(
    server, feed, caplog
):
    invalid = cap("BE-BAD", headline="Geheime naam").replace(b"<status>Actual</status>", b"")
    with caplog.at_level(logging.WARNING, logger="apps.actions.partners"):
        result = _import(server, feed, ("/cap/1.xml", cap("BE-1")), ("/cap/2.xml", invalid))

    assert (result.stored, result.refused) == (1, 1)
    assert list(PartnerAlert.objects.values_list("identifier", flat=True)) == ["BE-1"]
    alert = PartnerAlert.objects.get()
    assert alert.headline == "vermiste persoon bij Baarle-Hertog"
    assert (alert.lat, alert.lon, alert.radius_m) == (*BAARLE_HERTOG, 3000)
    assert alert.is_active and alert.is_near_border
    feed.refresh_from_db()
    assert "not valid CAP 1.2" in feed.last_error
    assert feed.last_checked_at is not None
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert "Geheime naam" not in caplog.text and "Geheime" not in feed.last_error


def test_it_reads_a_cap_message_inline_in_the_feed_and_a_plain_cap_url(server, feed):
    server.serve("/feed.atom", atom(inline=cap("BE-INLINE")))
    assert partners.feed_read(feed=feed).stored == 1
    server.serve("/one.xml", cap("DE-1", headline="Vermisstes Kind in Aachen"))
    plain = PartnerFeed.objects.create(
        name="Polizei NRW", country="DE", url=server.url("/one.xml"), kind="cap"
    )
    assert partners.feed_read(feed=plain).stored == 1
    assert set(PartnerAlert.objects.values_list("identifier", flat=True)) == {"BE-INLINE", "DE-1"}


def test_it_replaces_an_alert_by_its_update_and_ends_it_by_a_cancel(server, feed):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    first = PartnerAlert.objects.get()
    reference = "alerts@politie.example.be,BE-1,2026-12-04T18:00:00+01:00"
    update = cap(
        "BE-2",
        msg_type="Update",
        references=reference,
        sent="2026-12-04T19:00:00+01:00",
        headline="vermiste persoon bij Baarle-Hertog: nieuwe foto",
    )
    _import(server, feed, ("/cap/1.xml", cap("BE-1")), ("/cap/2.xml", update))

    assert PartnerAlert.objects.count() == 1
    replaced = PartnerAlert.objects.get()
    assert replaced.pk == first.pk
    assert (replaced.identifier, replaced.msg_type) == ("BE-2", "Update")
    assert replaced.headline.endswith("nieuwe foto")

    cancel = cap(
        "BE-3",
        msg_type="Cancel",
        references="alerts@politie.example.be,BE-2,2026-12-04T19:00:00+01:00",
        sent="2026-12-04T20:00:00+01:00",
    )
    _import(server, feed, ("/cap/3.xml", cancel))
    replaced.refresh_from_db()
    assert not replaced.is_active
    assert list(partners.alerts_shown()) == []


@pytest.mark.parametrize(("status", "msg_type"), [("Exercise", "Alert"), ("Actual", "Ack")])
def test_it_keeps_no_exercise_and_no_acknowledgement(server, feed, status, msg_type):
    result = _import(server, feed, ("/cap/1.xml", cap("BE-1", status=status, msg_type=msg_type)))
    assert result.refused == 0
    assert PartnerAlert.objects.count() == 0


def test_a_cancel_in_an_exercise_does_not_end_a_real_alert(server, feed):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    cancel = cap(
        "BE-X",
        msg_type="Cancel",
        status="Exercise",
        references="alerts@politie.example.be,BE-1,2026-12-04T18:00:00+01:00",
    )
    _import(server, feed, ("/cap/2.xml", cancel))
    assert PartnerAlert.objects.get().is_active


def test_it_marks_an_expired_alert_inactive(server, feed):
    _import(server, feed, ("/cap/1.xml", cap("BE-OLD", expires="2020-01-01T00:00:00+01:00")))
    assert not PartnerAlert.objects.get().is_active
    assert list(partners.alerts_shown()) == []


def test_the_scheduled_task_reads_every_active_feed(server, feed):
    server.serve("/cap/1.xml", cap("BE-1"))
    server.serve("/feed.atom", atom(server.url("/cap/1.xml")))
    PartnerFeed.objects.create(
        name="Uit", country="DE", url=server.url("/other.atom"), is_active=False
    )
    results = partners.read_partner_feeds()
    assert list(results) == [feed.pk]
    assert PartnerAlert.objects.count() == 1
    assert "/other.atom" not in server.requests


def test_the_task_is_scheduled_by_the_migrations(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="actions.read_partner_feeds")
    assert schedule.func == "apps.actions.partners.read_partner_feeds"


# The fetch rules (SSRF) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://politie.example.be/feed",
        "https://10.0.0.5/feed",
        "https://127.0.0.1/feed",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/feed",
        "https://localhost/feed",
        "https://feeds.internal/feed",
        "https://intranet/feed",
        "https://user:pw@politie.example.be/feed",
    ],
)
def test_it_refuses_urls_that_are_not_public_https(url, settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = False
    assert partners.url_problem(url)


def test_it_accepts_a_public_https_url():
    assert partners.url_problem("https://alerts.politie.example.be/cap/feed.atom") == ""


def test_it_does_not_fetch_from_the_local_network_without_the_test_override(db, server, settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = False
    server.serve("/feed.atom", atom())
    feed = PartnerFeed.objects.create(name="x", country="BE", url=server.url("/feed.atom"))
    result = partners.feed_read(feed=feed)
    assert "not https" in result.error
    assert server.requests == []


def test_it_refuses_a_redirect_to_another_host(server, feed):
    server.serve(
        "/feed.atom", b"", status=302, headers={"Location": server.url("/x", host="localhost")}
    )
    result = partners.feed_read(feed=feed)
    assert "redirect to another host" in result.error
    assert server.requests == ["/feed.atom"]


def test_it_follows_a_redirect_on_the_same_host(server, feed):
    server.serve("/cap/1.xml", cap("BE-1"))
    server.serve("/new.atom", atom(server.url("/cap/1.xml")))
    server.serve("/feed.atom", b"", status=301, headers={"Location": "/new.atom"})
    assert partners.feed_read(feed=feed).stored == 1


def test_it_refuses_an_answer_larger_than_the_cap(server, feed):
    server.serve("/feed.atom", b"x" * (partners.MAX_BYTES + 1))
    result = partners.feed_read(feed=feed)
    assert "too large" in result.error
    assert PartnerAlert.objects.count() == 0


def test_it_refuses_a_name_that_resolves_into_the_local_network(monkeypatch, settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = False
    monkeypatch.setattr(
        partners.socket,
        "getaddrinfo",
        lambda *a, **k: [(2, 1, 6, "", ("10.1.2.3", 443))],
    )
    with pytest.raises(partners.FetchError, match="not public"):
        partners.fetch("https://alerts.politie.example.be/feed.atom")


# The console -----------------------------------------------------------------------------------


def test_the_console_lists_only_active_alerts_near_the_border(
    server, feed, operator_mn, staff_client
):
    _import(
        server,
        feed,
        ("/cap/1.xml", cap("BE-1")),
        ("/cap/2.xml", cap("BE-FAR", headline="vermiste vrouw bij Namen", point=NAMUR)),
        ("/cap/3.xml", cap("BE-OLD", headline="oude melding", expires="2020-01-01T00:00:00Z")),
    )
    assert PartnerAlert.objects.get(identifier="BE-FAR").is_near_border is False

    response = staff_client(operator_mn).get(reverse("console:index"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Alerts bij de grens" in html
    assert "België: vermiste persoon bij Baarle-Hertog" in html
    assert "Namen" not in html and "oude melding" not in html
    # Midden-Nederland may not place an action at Baarle: no adopt button for them.
    assert (
        reverse("console:partner_adopt", args=[PartnerAlert.objects.get(identifier="BE-1").pk])
        not in html
    )

    partial = staff_client(operator_mn).get(reverse("console:partner_alerts"))
    assert "België: vermiste persoon bij Baarle-Hertog" in partial.content.decode()


def test_the_console_offers_the_adopt_button_in_the_own_region(
    server, feed, operator_zwb, staff_client
):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    alert = PartnerAlert.objects.get()
    client = staff_client(operator_zwb)
    html = client.get(reverse("console:index")).content.decode()
    adopt = reverse("console:partner_adopt", args=[alert.pk])
    assert f'form="partner-adopt-form" formaction="{adopt}"' in html
    form = re.search(r'<form method="post" id="partner-adopt-form">(.*?)</form>', html, re.S)
    assert form and "csrfmiddlewaretoken" in form.group(1)
    # The refreshed list holds no token: it is the same at every refresh, so the console's
    # script leaves it in place (a screen reader does not read the live region again).
    first, again = (client.get(reverse("console:partner_alerts")) for _ in range(2))
    assert first.content == again.content
    assert "csrfmiddlewaretoken" not in first.content.decode()


# Adopting --------------------------------------------------------------------------------------


def test_it_adopts_an_alert_into_a_draft_with_area_text_and_photo(server, feed, operator_zwb):
    server.serve("/foto.png", png_bytes(), headers={"Content-Type": "image/png"})
    _import(server, feed, ("/cap/1.xml", cap("BE-1", image=server.url("/foto.png"))))
    alert = PartnerAlert.objects.get()

    action = partners.partner_alert_adopt(alert=alert, by=operator_zwb)

    assert action.state == Action.State.DRAFT
    assert action.kind == Action.Kind.MISSING_PERSON
    assert action.title == "vermiste persoon bij Baarle-Hertog"
    assert action.text.startswith("Vermist sinds vanmiddag")
    assert "Bron: Politie België (België)." in action.text
    assert (action.lat, action.lon, action.radius_m) == (*BAARLE_HERTOG, 3000)
    assert action.police_unit.name == "Zeeland-West-Brabant"
    assert action.photo
    alert.refresh_from_db()
    assert alert.adopted_action == action
    assert AuditEntry.objects.filter(verb="partner_alert.adopted").count() == 1

    with pytest.raises(ValidationError):
        partners.partner_alert_adopt(alert=alert, by=operator_zwb)
    assert Action.objects.count() == 1


def test_it_takes_no_photo_from_another_host(server, feed, operator_zwb):
    server.serve("/foto.png", png_bytes(), headers={"Content-Type": "image/png"})
    other_host = server.url("/foto.png", host="localhost")
    _import(server, feed, ("/cap/1.xml", cap("BE-1", image=other_host)))
    action = partners.partner_alert_adopt(alert=PartnerAlert.objects.get(), by=operator_zwb)
    assert not action.photo
    assert "/foto.png" not in server.requests


def test_it_takes_no_photo_that_is_not_an_image(server, feed, operator_zwb):
    server.serve("/foto.png", b"<html>no</html>", headers={"Content-Type": "image/png"})
    _import(server, feed, ("/cap/1.xml", cap("BE-1", image=server.url("/foto.png"))))
    action = partners.partner_alert_adopt(alert=PartnerAlert.objects.get(), by=operator_zwb)
    assert not action.photo


def test_it_maps_a_child_abduction_to_a_missing_child_not_an_amber_alert(
    server, feed, operator_zwb
):
    _import(server, feed, ("/cap/1.xml", cap("BE-1", event="child abduction")))
    action = partners.partner_alert_adopt(alert=PartnerAlert.objects.get(), by=operator_zwb)
    assert action.kind == Action.Kind.MISSING_CHILD


def test_it_holds_the_point_and_radius_to_what_an_action_may_have(server, feed, national_operator):
    near_rheine = (52.25, 7.55)  # Germany, east of the box Burgernet works in
    _import(server, feed, ("/cap/1.xml", cap("DE-1", point=near_rheine, radius_km=80)))
    alert = PartnerAlert.objects.get()
    assert alert.is_near_border
    action = partners.partner_alert_adopt(alert=alert, by=national_operator)
    assert (action.lat, action.lon) == (52.25, 7.4)
    assert action.radius_m == 50_000


def test_it_refuses_an_operator_of_another_region(server, feed, operator_ams, manager):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    alert = PartnerAlert.objects.get()
    with pytest.raises(PermissionDenied):
        partners.partner_alert_adopt(alert=alert, by=operator_ams)
    with pytest.raises(PermissionDenied):
        partners.partner_alert_adopt(alert=alert, by=manager)
    assert Action.objects.count() == 0
    alert.refresh_from_db()
    assert alert.adopted_action is None


def test_it_refuses_an_alert_that_was_cancelled(server, feed, operator_zwb):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    alert = PartnerAlert.objects.get()
    PartnerAlert.objects.filter(pk=alert.pk).update(is_active=False)
    with pytest.raises(ValidationError):
        partners.partner_alert_adopt(alert=alert, by=operator_zwb)
    assert Action.objects.count() == 0


def test_the_adopt_view_makes_the_draft_and_refuses_others(
    server, feed, operator_zwb, operator_ams, manager, staff_client
):
    _import(server, feed, ("/cap/1.xml", cap("BE-1")))
    alert = PartnerAlert.objects.get()
    url = reverse("console:partner_adopt", args=[alert.pk])

    assert staff_client(operator_zwb).get(url).status_code == 405
    assert staff_client(manager).post(url).status_code == 403
    refused = staff_client(operator_ams).post(url)
    assert refused.status_code == 302 and Action.objects.count() == 0

    response = staff_client(operator_zwb).post(url)
    action = Action.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("console:detail", args=[action.pk])


# The managers' feeds ---------------------------------------------------------------------------


def test_a_manager_adds_a_feed_with_a_public_https_url(manager, staff_client, settings):
    settings.PARTNER_FEEDS_ALLOW_LOOPBACK = False
    client = staff_client(manager)
    add = reverse("admin:actions_partnerfeed_add")
    data = {"name": "Politie België", "country": "BE", "kind": "atom", "is_active": "on"}

    refused = client.post(add, {**data, "url": "http://10.0.0.1/feed"})
    assert refused.status_code == 200 and PartnerFeed.objects.count() == 0

    saved = client.post(add, {**data, "url": "https://alerts.politie.example.be/feed.atom"})
    assert saved.status_code == 302
    assert PartnerFeed.objects.get().url == "https://alerts.politie.example.be/feed.atom"
    assert AuditEntry.objects.filter(verb="partner_feed.added").count() == 1


def test_an_operator_does_not_manage_the_feeds(operator_mn, staff_client):
    response = staff_client(operator_mn).get(reverse("admin:actions_partnerfeed_changelist"))
    assert response.status_code in (302, 403)
    with pytest.raises(PermissionDenied):
        partners.partner_feed_save(
            feed=PartnerFeed(name="x", country="BE", url="https://a.example.be/f"),
            by=operator_mn,
        )
    assert PartnerFeed.objects.count() == 0
