"""The security headers (web/headers.py): the Content-Security-Policy, the
Permissions-Policy and no-store on every page with personal data; and no inline script or
style in any template or rendered page, so that the policy needs no exception."""

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from apps.web import headers

CSP = "Content-Security-Policy"
TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def directives(response) -> dict[str, list[str]]:
    policy = response[CSP]
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


# Content-Security-Policy ---------------------------------------------------------------------


@pytest.fixture
def osm_tiles(settings):
    settings.LEAFLET_CONFIG = {
        **settings.LEAFLET_CONFIG,
        "TILES": "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
    }
    settings.SITE_URL = "https://burgernet.example"


@pytest.fixture
def make_mailing(db):
    """make_mailing(author, areas=[…]) → a draft, as tests/mail's fixture of that name."""
    from apps.mail import services
    from tests.mail.conftest import inquiry_fields

    def make(author, *, areas=()):
        mailing = services.mailing_create(by=author, **inquiry_fields())
        for area in areas:
            services.area_add(mailing=mailing, by=author, **area)
        return mailing

    return make


def assert_policy(response):
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == [
        "'self'",
        "data:",
        "https://*.tile.openstreetmap.org",
        "https://burgernet.example",
    ]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]


def test_a_public_page_has_the_policy(client, db, osm_tiles):
    assert_policy(client.get(reverse("participants:home")))


def test_the_console_has_the_policy(staff_client, operator_mn, osm_tiles):
    assert_policy(staff_client(operator_mn).get(reverse("console:index")))


def test_the_admin_has_the_policy(staff_client, manager, osm_tiles):
    assert_policy(staff_client(manager).get(reverse("admin:index")))


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://tiles.example.nl/{z}/{x}/{y}.png", "https://tiles.example.nl"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8123/tegels/{z}/{x}/{y}.png", "http://127.0.0.1:8123"),
        ("/tiles/{z}/{x}/{y}.png", ""),
        ("", ""),
    ],
)
def test_it_names_the_host_of_the_tiles(url, source):
    assert headers.source_of(url) == source


def test_the_images_follow_the_tiles_in_the_settings(client, db, settings):
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "TILES": "https://kaart.example/{z}"}
    response = client.get(reverse("participants:home"))
    assert "https://kaart.example" in directives(response)["img-src"]


def test_the_mail_preview_allows_exactly_the_styles_of_the_email(
    staff_client, woerden_author, make_mailing
):
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    response = staff_client(woerden_author).get(reverse("mail:detail", args=[mailing.pk]))
    html = response.context["preview"]["html"]
    style_src = directives(response)["style-src"]
    assert style_src[:2] == ["'self'", "'unsafe-hashes'"]
    assert sorted(style_src[2:]) == sorted(headers.inline_style_hashes(html))
    assert len(style_src) > 5  # the e-mail's many inline styles
    assert directives(response)["script-src"] == ["'self'"]


def test_it_hashes_style_attributes_and_blocks_as_the_browser_sees_them():
    def sha256(text):
        return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"

    html = '<p style="color: #154273;">a</p><style>p { margin: 0 }</style><p style="a&amp;b">'
    assert headers.inline_style_hashes(html) == [
        sha256("color: #154273;"),
        sha256("a&b"),
        sha256("p { margin: 0 }"),
    ]


# Permissions-Policy ------------------------------------------------------------------------


def features(response) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))


def test_pages_ask_for_no_powerful_feature(client, db, staff_client, operator_mn):
    for response in (
        client.get(reverse("participants:home")),
        client.get(reverse("participants:register")),
        staff_client(operator_mn).get(reverse("console:index")),
    ):
        policy = features(response)
        assert policy["geolocation"] == "()"
        assert policy["camera"] == "()"
        assert policy["microphone"] == "()"
        assert set(policy.values()) == {"()"}


def test_the_web_app_may_ask_for_the_location_and_nothing_else(client, db):
    policy = features(client.get(reverse("participants:webapp")))
    assert policy.pop("geolocation") == "(self)"
    assert policy["camera"] == "()"
    assert set(policy.values()) == {"()"}


def test_a_feature_must_be_known_to_the_settings():
    with pytest.raises(KeyError):
        headers.permissions_policy({"telepathy": "self"})


# no-store ----------------------------------------------------------------------------------


def assert_not_stored(response):
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_console_is_never_stored(staff_client, operator_mn):
    client = staff_client(operator_mn)
    assert_not_stored(client.get(reverse("console:index")))
    assert_not_stored(client.get(reverse("console:create")))


def test_staff_pages_and_the_admin_are_never_stored(staff_client, manager, woerden_author):
    assert_not_stored(staff_client(woerden_author).get(reverse("mail:index")))
    assert_not_stored(staff_client(manager).get(reverse("admin:index")))
    changelist = reverse("admin:participants_participant_changelist")
    assert_not_stored(staff_client(manager).get(changelist))


def test_the_mail_inbox_is_never_stored(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(woerden_author)
    response = staff_client(woerden_author).get(reverse("mail_inbox:inbox", args=[mailing.pk]))
    assert_not_stored(response)


def test_the_citizens_manage_pages_are_never_stored(client, db, settings):
    from apps.participants import services
    from apps.participants.models import Participant

    settings.SMS_BACKEND = "locmem"
    participant = Participant.objects.create(phone="+31612345678")
    token = services._new_manage_link(participant)
    assert client.post(reverse("participants:manage_link", args=[token])).status_code == 302
    for name in ("manage", "manage_preferences", "manage_email", "delete"):
        assert_not_stored(client.get(reverse(f"participants:{name}")))


def test_a_public_page_for_a_visitor_without_a_session_may_be_kept(client, db):
    response = client.get(reverse("participants:home"))
    assert "no-store" not in response.get("Cache-Control", "")


# No inline script or style -----------------------------------------------------------------

# E-mails are not pages: mail clients need their styles inline, and no policy applies there.
EMAIL_TEMPLATES = {"email"}
INLINE = [
    ("an inline <script>", re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)),
    ("an on…= handler", re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)),
    ("a style= attribute", re.compile(r"\bstyle\s*=", re.IGNORECASE)),
    ("a <style> block", re.compile(r"<style\b", re.IGNORECASE)),
]


def page_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        if not EMAIL_TEMPLATES & set(path.relative_to(TEMPLATES).parts):
            yield path


@pytest.mark.parametrize(
    "path", list(page_templates()), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_template_has_inline_script_or_style(path):
    text = path.read_text()
    found = [what for what, pattern in INLINE if pattern.search(text)]
    assert not found, f"{path.relative_to(TEMPLATES)} has {', '.join(found)}"


class InlineFinder(HTMLParser):
    """Inline script and style in a rendered page; a JSON data block (json_script) runs
    nothing and is allowed, and so is the e-mail in the mail preview's srcdoc (the e-mail's
    own styles, allowed by hash)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in attributes:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
        if "style" in attributes:
            self.found.append(f"<{tag} style=…>")
        if tag == "style":
            self.found.append("<style>")
        data_block = attributes.get("type") == "application/json"
        if tag == "script" and "src" not in attributes and not data_block:
            self.found.append(f"<script {attributes}>")


def assert_no_inline_code(response):
    assert response.status_code == 200, response.status_code
    finder = InlineFinder()
    finder.feed(response.content.decode())
    assert finder.found == [], response.request["PATH_INFO"]


def test_public_pages_render_without_inline_code(client, db, settings):
    settings.SITE_URL = "http://testserver"
    for name in ("home", "register", "manage_request", "webapp"):
        assert_no_inline_code(client.get(reverse(f"participants:{name}")))
    assert_no_inline_code(client.get(reverse("governance:login")))


def test_staff_pages_render_without_inline_code(
    staff_client, operator_mn, woerden_author, manager, make_mailing
):
    operator = staff_client(operator_mn)
    for name in ("console:index", "console:create", "governance:home"):
        assert_no_inline_code(operator.get(reverse(name)))
    author = staff_client(woerden_author)
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    for name in ("mail:detail", "mail:edit", "mail:areas", "mail_inbox:inbox"):
        assert_no_inline_code(author.get(reverse(name, args=[mailing.pk])))
    assert_no_inline_code(author.get(reverse("mail:create")))
    admin = staff_client(manager)
    for name in (
        "admin:index",
        "admin:participants_participant_changelist",
        "admin:governance_user_changelist",
        "admin:governance_user_add",
        "admin:mail_mailing_changelist",
        "admin:actions_action_changelist",
    ):
        assert_no_inline_code(admin.get(reverse(name)))
