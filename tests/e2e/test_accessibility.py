"""axe-core on every page of the site, with the maps drawn: the public pages, a citizen's
registration and manage pages, the web app, the operator console, Burgernetmail (list,
compose, areas, detail, inbox), the log-in page and the admin (its index, and the list, the
add form and a change form of every model it shows).

A page fails on any serious or critical WCAG 2.1 A/AA finding; each test visits all pages
of its part and reports every finding at once. The map tiles come from a stub: the browser
answers every tile request with one small PNG, so each map draws its tiles (and its
controls), as on the real site, without the internet.
"""

import contextlib
import io
import re
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import AXE_RUN_OPTIONS, BLOCKING_IMPACTS, _axe_report, resident
from tests.e2e.test_registration import E164, fill_registration, last_sms_to

TILES_PATH = "/kaarttegels/"
MAP = ("#action-map",)
UTRECHT = (52.0907, 5.1214)


def _tile_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 232, 225)).save(buffer, format="PNG")
    return buffer.getvalue()


TILE = _tile_png()


@pytest.fixture(autouse=True)
def site(settings, live_server, tmp_path):
    """Links to the live server, photos in a temporary folder, SMS and e-mail kept in the
    process, postcodes from the offline table, and map tiles from the stub."""
    from django.core.cache import cache

    from apps.channels.senders import sms

    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SMS_BACKEND = "locmem"
    settings.GEOCODER_NL = "offline"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": live_server.url + TILES_PATH + "{z}/{x}/{y}.png",
    }
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


class Scanner:
    """Visits pages and collects the serious and critical axe findings of each."""

    def __init__(self):
        self.axe = Axe()
        self.findings: list[str] = []
        self.scanned: list[str] = []

    def check(self, page, maps: tuple[str, ...] = ()) -> None:
        """The page as it stands, once its maps (and those named in `maps`, which must be
        there) have drawn their tiles."""
        for selector in maps:
            expect(page.locator(f"{selector}.leaflet-container")).to_be_visible()
        maps = page.locator(".leaflet-container")
        for n in range(maps.count()):
            if maps.nth(n).is_visible():
                expect(maps.nth(n).locator("img.leaflet-tile-loaded").first).to_be_attached()
        options = AXE_RUN_OPTIONS
        results = self.axe.run(page, options=options)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
        self.scanned.append(page.url)
        if blocking:
            self.findings.append(f"{page.url}\n{_axe_report(blocking)}")

    def visit(self, page, path: str, status: int = 200, maps: tuple[str, ...] = ()) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response.status)
        self.check(page, maps)

    def assert_clean(self) -> None:
        if self.findings:
            pytest.fail("\n\n".join(self.findings), pytrace=False)


@pytest.fixture
def scanner():
    return Scanner()


@pytest.fixture
def visitor(make_page):
    """visitor(user=None, **context_options) → a page whose map tiles come from the stub;
    logged in as `user` (password and second factor done) when one is given."""
    from django.test import Client

    from apps.governance import totp

    def make(user=None, **options):
        page = make_page(**options)
        page.context.route(
            re.compile(re.escape(TILES_PATH)),
            lambda route: route.fulfill(status=200, content_type="image/png", body=TILE),
        )
        if user is not None:
            import django_otp

            client = Client()
            client.force_login(user)
            request = type("Request", (), {"session": client.session, "user": user})()
            django_otp.login(request, totp.confirmed_devices(user).get())
            request.session.save()
            page.context.add_cookies(
                [
                    {
                        "name": django_settings.SESSION_COOKIE_NAME,
                        "value": request.session.session_key,
                        "url": django_settings.SITE_URL,
                    }
                ]
            )
        return page

    return make


def png(size=(64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded_png(name="foto.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png(), content_type="image/png")


# Data the pages show ---------------------------------------------------------------------


@pytest.fixture
def actions(operator_mn):
    """A running action with a tip and its sending under way, an ended one, and a draft."""
    from apps.actions import services
    from apps.channels.models import Delivery
    from apps.participants.models import Address, Device, Participant

    # Someone in the circle on every channel, so the sending table has all its rows.
    participant = Participant.objects.create(
        phone="+31612340001", phone_confirmed_at=timezone.now(), wants_voice=True
    )
    Address.objects.create(
        participant=participant,
        label="Thuis",
        postcode="3511 AA",
        house_number=1,
        lat=UTRECHT[0],
        lon=UTRECHT[1],
        always_active=True,
    )
    Device.objects.create(
        endpoint="https://push.example.org/send/1",
        p256dh="key",
        auth="auth",
        cell="u178k",
        cell_lat=UTRECHT[0],
        cell_lon=UTRECHT[1],
        cell_updated_at=timezone.now(),
    )
    fields = {
        "kind": "missing_person",
        "text": "Loopt slecht en is in de war.",
        "lat": UTRECHT[0],
        "lon": UTRECHT[1],
        "radius_m": 2000,
    }
    person = [{"sex": "male", "age": "82", "clothing": "grijze jas"}]
    running = services.action_create(
        by=operator_mn, title="Vermiste man (82)", persons=person, **fields
    )
    services.action_release(action=running, by=operator_mn)
    services.tip_submit(
        action=running, text="Man met grijze jas bij de kerk.", photo=uploaded_png()
    )
    ended = services.action_create(by=operator_mn, title="Vermiste vrouw (77)", **fields)
    services.action_release(action=ended, by=operator_mn)
    services.action_end(
        action=ended,
        by=operator_mn,
        result="found_safe",
        text="Terecht.",
        information_contributed=False,
    )
    draft = services.action_create(
        by=operator_mn, title="Verdachte situatie", **{**fields, "kind": "suspicious_situation"}
    )
    # Sent, as the outbox workers would have (no push service or SMS gateway is asked).
    Delivery.objects.filter(state=Delivery.State.QUEUED).update(
        state=Delivery.State.SENT, sent_at=timezone.now()
    )
    for action in (running, ended, draft):
        action.refresh_from_db()
    return {"running": running, "ended": ended, "draft": draft}


@pytest.fixture
def mailings(woerden, woerden_author, woerden_approver):
    """A sent buurtonderzoek with an answer, and a draft with an area."""
    from apps.mail import services
    from apps.mail.models import Response

    neighbour = resident(woerden, 12)
    fields = {
        "kind": "inquiry",
        "subject": "Inbraak aan de Rijnstraat: heeft u iets gezien?",
        "body": "Beste bewoner,\n\nIn de nacht van maandag op dinsdag is er ingebroken.",
        "incident_date": date(2024, 3, 12),
        "incident_place": "Rijnstraat, Woerden",
        "response_days": 14,
    }
    sent = services.mailing_create(by=woerden_author, **fields)
    services.area_add(mailing=sent, by=woerden_author, kind="pc6", postcode="3441AB")
    services.mailing_submit(mailing=sent, by=woerden_author)
    services.mailing_approve(
        mailing=sent, by=woerden_approver, version=services.mailing_version(sent)
    )
    services.response_submit(
        mailing=sent,
        participant=neighbour,
        observation="Rond 3 uur reed er een scooter door de straat.",
        photo=uploaded_png(),
    )
    draft = services.mailing_create(by=woerden_author, **{**fields, "subject": "Concept"})
    services.area_add(mailing=draft, by=woerden_author, kind="pc6", postcode="3441AB")
    sent.refresh_from_db()
    return {
        "sent": sent,
        "draft": draft,
        "neighbour": neighbour,
        "response": Response.objects.get(mailing=sent),
    }


# The pages -------------------------------------------------------------------------------


def test_every_public_and_citizen_page_passes_axe(visitor, scanner, actions, mailings):
    from apps.mail import links
    from apps.participants import tokens

    page = visitor()
    for path in ["/", "/app/", "/beheren/", "/afgemeld/", "/medewerkers/inloggen/"]:
        scanner.visit(page, path)
    scanner.visit(page, "/bestaat-niet/", status=404)
    for action in (actions["running"], actions["ended"]):
        scanner.visit(page, reverse("alerts:action", kwargs={"ref": action.ref}), maps=MAP)

    # A buurtonderzoek's respond and unsubscribe pages, and a link that is not valid.
    sent, neighbour = mailings["sent"], mailings["neighbour"]
    scanner.visit(page, links.respond_url(links.make_respond_token(sent, neighbour)))
    scanner.visit(page, links.unsubscribe_url(links.make_unsubscribe_token(sent, neighbour)))
    scanner.visit(page, links.respond_url("ongeldig"), status=400)

    # Registration: the form with its errors, filled in, the code page, done.
    scanner.visit(page, "/aanmelden/")
    page.locator("#register-submit").click()
    expect(page.locator(".error-summary")).to_be_visible()
    scanner.check(page)
    fill_registration(page)
    page.locator("#register-submit").click()
    expect(page.locator("#id_code")).to_be_visible()
    scanner.check(page)
    page.locator("#id_code").fill("000000")
    page.locator("#code-submit").click()
    expect(page.locator(".error-summary")).to_be_visible()
    scanner.check(page)
    code = re.search(r"\b(\d{6})\b", last_sms_to(E164)).group(1)
    page.locator("#id_code").fill(code)
    page.locator("#code-submit").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("participants:registered"))))
    scanner.check(page)

    # The e-mail confirmation and a manage link, and every manage page behind it.
    from apps.participants.models import Participant
    from apps.participants.services import _new_manage_link

    participant = Participant.objects.get(phone=E164)
    scanner.visit(
        page, f"/e-mail/bevestigen/{tokens.make_email_token(participant.ref, participant.email)}/"
    )
    scanner.visit(page, "/beheren/verstuurd/")
    scanner.visit(page, f"/beheren/link/{_new_manage_link(participant)}/")
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(re.escape(reverse("participants:manage"))))
    scanner.check(page)
    address = participant.addresses.order_by("pk").first()
    for name, kwargs in [
        ("manage_preferences", {}),
        ("manage_email", {}),
        ("address_add", {}),
        ("address_edit", {"pk": address.pk}),
        ("delete", {}),
    ]:
        scanner.visit(page, reverse(f"participants:{name}", kwargs=kwargs))

    assert len(scanner.scanned) > 20
    scanner.assert_clean()


def test_every_console_page_passes_axe_with_its_map(visitor, scanner, actions, operator_mn):
    page = visitor(operator_mn)
    scanner.visit(page, reverse("governance:home"))
    scanner.visit(page, reverse("console:index"))
    scanner.visit(page, reverse("console:index") + "?q=man")
    scanner.visit(page, reverse("console:create"), maps=("#point-map",))
    page.locator("#point-map").click()  # the point and its circle on the map
    expect(page.locator("#point-map path.leaflet-interactive")).to_have_count(1)
    scanner.check(page)
    for action in actions.values():
        scanner.visit(page, reverse("console:detail", args=[action.pk]), maps=MAP)
    scanner.visit(page, reverse("console:edit", args=[actions["draft"].pk]))

    scanner.assert_clean()


def test_every_mail_page_passes_axe_with_its_map(
    visitor, scanner, mailings, woerden_author, woerden_approver
):
    sent, draft = mailings["sent"], mailings["draft"]
    page = visitor(woerden_author)
    for path in [
        reverse("mail:index"),
        reverse("mail:create"),
        reverse("mail:detail", args=[sent.pk]),
        reverse("mail:detail", args=[draft.pk]),
        reverse("mail:edit", args=[draft.pk]),
        reverse("mail_inbox:inbox", args=[sent.pk]),
        reverse("mail_inbox:response", args=[sent.pk, mailings["response"].number]),
    ]:
        scanner.visit(page, path)
    scanner.visit(page, reverse("mail:areas", args=[draft.pk]), maps=("#area-map",))

    # What the approver sees of a submitted mailing.
    from apps.mail import services

    services.mailing_submit(mailing=draft, by=woerden_author)
    scanner.visit(visitor(woerden_approver), reverse("mail:detail", args=[draft.pk]))

    scanner.assert_clean()


def _admin_paths(model) -> list[str]:
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    paths = [reverse(f"{name}_changelist")]
    with contextlib.suppress(NoReverseMatch):
        paths.append(reverse(f"{name}_add"))
    first = model.objects.order_by("pk").first()
    if first is not None:
        paths.append(reverse(f"{name}_change", args=[first.pk]))
    return paths


def test_every_admin_page_passes_axe(
    visitor, scanner, actions, mailings, make_staff_user, org_management
):
    from apps.governance.roles import Role

    superuser = make_staff_user(
        "super", org_management, [Role.MANAGER], is_superuser=True, is_staff=True
    )
    page = visitor(superuser)
    scanner.visit(page, reverse("admin:index"))
    for model in admin.site._registry:
        for path in _admin_paths(model):
            response = page.goto(path)
            # A model the admin shows but lets no one add to answers 403 on its add form.
            if response.status == 403:
                continue
            assert response.status == 200, (path, response.status)
            scanner.check(page)
    scanner.visit(page, reverse("admin:governance_user_authenticator", args=[superuser.pk]))

    assert len(scanner.scanned) > 3 * len(admin.site._registry) // 2
    scanner.assert_clean()


# Layout ----------------------------------------------------------------------------------


def test_the_console_shows_the_whole_sending_table_on_a_1280_px_screen(
    visitor, actions, operator_mn
):
    page = visitor(operator_mn, viewport={"width": 1280, "height": 800})
    page.goto(reverse("console:detail", args=[actions["ended"].pk]))
    table = page.locator("#sending-table")
    expect(table.locator("tbody tr")).to_have_count(4)  # the alert on 3 channels, the end
    opened = table.get_by_role("columnheader", name="Geopend in de app")
    expect(opened).to_be_visible()
    expect(opened).to_be_in_viewport()
    # Nothing of the table is behind its scroll box's edge, nor past the page's.
    sizes = page.evaluate(
        """() => {
            const box = document.querySelector("#sending .table-scroll");
            const cell = document.querySelector("#sending-table thead th:last-child");
            return {
                scroll: box.scrollWidth, client: box.clientWidth,
                right: cell.getBoundingClientRect().right,
                boxRight: box.getBoundingClientRect().right,
                page: document.documentElement.scrollWidth, viewport: window.innerWidth,
            };
        }"""
    )
    assert sizes["scroll"] <= sizes["client"], sizes
    assert sizes["right"] <= sizes["boxRight"] + 0.5, sizes
    assert sizes["page"] <= sizes["viewport"], sizes
