"""The share card of the citizens' action page: the Open Graph and Twitter tags a chat app
or social network reads when a link is shared, the photo only while the action runs, and
the outcome (without the photo) after it."""

from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.actions import services

from .conftest import action_fields, release

SITE = "https://www.burgernet.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    cache.clear()
    yield
    cache.clear()


class _Head(HTMLParser):
    """The <meta> tags (by property or name) and the canonical link of a page."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.canonical: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            key = attrs.get("property") or attrs.get("name")
            if key:
                self.meta.setdefault(key, []).append(attrs.get("content"))
        elif tag == "link" and attrs.get("rel") == "canonical":
            self.canonical.append(attrs.get("href"))


def card(client, action) -> tuple[dict[str, str], list[str], str]:
    response = client.get(reverse("alerts:action", kwargs={"ref": action.ref}))
    assert response.status_code == 200
    html = response.content.decode()
    head = _Head()
    head.feed(html)
    for key, values in head.meta.items():
        assert len(values) == 1, key  # each tag once
    return {key: values[0] for key, values in head.meta.items()}, head.canonical, html


def url_of(action) -> str:
    return SITE + reverse("alerts:action", kwargs={"ref": action.ref})


@pytest.fixture
def released(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


@pytest.fixture
def released_with_photo(operator_mn, photo):
    action = services.action_create(
        by=operator_mn,
        persons=[{"sex": "female", "age": "9", "clothing": "rode jas"}],
        photo=photo,
        **action_fields(kind="missing_child", title="Vermist meisje (9)"),
    )
    return release(action, operator_mn)


def test_it_carries_the_card_tags_of_a_running_action(client, released):
    meta, canonical, _html = card(client, released)

    assert meta["og:title"] == "Burgernet: Vermiste man (82)"
    assert meta["og:type"] == "article"
    assert meta["og:locale"] == "nl_NL"
    assert meta["og:url"] == url_of(released)
    assert canonical == [url_of(released)]
    assert meta["og:description"].startswith("Vermissing. Loopt slecht, is in de war.")
    assert "0800-0011" in meta["og:description"]
    assert meta["twitter:title"] == meta["og:title"]
    assert meta["twitter:description"] == meta["og:description"]
    # No photo: a plain card, and no image tag at all.
    assert meta["twitter:card"] == "summary"
    assert "og:image" not in meta and "twitter:image" not in meta


def test_a_running_action_with_a_photo_shows_it_in_the_card(client, released_with_photo):
    meta, _canonical, _html = card(client, released_with_photo)

    photo = SITE + reverse("alerts:photo", kwargs={"ref": released_with_photo.ref})
    assert meta["og:image"] == photo
    assert meta["twitter:image"] == photo
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image:alt"] == "Foto bij de actie: Vermist meisje (9)"
    # A crawler comes without a session: the photo the card names is public.
    assert (
        client.get(reverse("alerts:photo", kwargs={"ref": released_with_photo.ref})).status_code
        == 200
    )


def test_the_card_text_is_short(client, operator_mn):
    action = release(
        services.action_create(by=operator_mn, **action_fields(text="Lange tekst. " * 70)),
        operator_mn,
    )
    meta, _canonical, _html = card(client, action)
    assert len(meta["og:description"]) <= 200
    assert meta["og:description"].endswith("…")


def test_after_the_end_the_card_says_the_outcome_and_drops_the_photo(
    client, released_with_photo, operator_mn
):
    services.action_end(
        action=released_with_photo,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Ze is thuis.",
    )
    meta, _canonical, html = card(client, released_with_photo)

    assert meta["og:title"] == "Burgernet: Afgelopen: Vermist meisje (9)"
    assert meta["og:description"] == "Gevonden. Ze is thuis."
    assert "og:image" not in meta and "twitter:image" not in meta
    assert meta["twitter:card"] == "summary"
    assert "gevonden" in html
    assert reverse("alerts:photo", kwargs={"ref": released_with_photo.ref}) not in html


def test_a_withdrawn_action_says_so_in_the_card_without_the_photo(
    client, released_with_photo, operator_mn
):
    services.action_cancel(action=released_with_photo, by=operator_mn, text="Per vergissing.")
    meta, _canonical, _html = card(client, released_with_photo)

    assert meta["og:title"] == "Burgernet: Ingetrokken: Vermist meisje (9)"
    assert meta["og:description"] == "Deze actie is ingetrokken. Per vergissing."
    assert "og:image" not in meta
    assert meta["twitter:card"] == "summary"


def test_an_exercise_is_named_so_and_its_photo_stays_out_of_the_card(client, operator_mn, photo):
    action = release(
        services.action_create(by=operator_mn, photo=photo, **action_fields(is_exercise=True)),
        operator_mn,
    )
    meta, _canonical, _html = card(client, action)
    assert meta["og:title"] == "Burgernet: OEFENING – Vermiste man (82)"
    assert "og:image" not in meta


def test_a_draft_has_no_page_and_no_card(client, draft_mn):
    response = client.get(reverse("alerts:action", kwargs={"ref": draft_mn.ref}))
    assert response.status_code == 404
    assert b"og:title" not in response.content


def test_the_card_escapes_what_the_operator_typed(client, operator_mn):
    title = 'Man "Kees" <script>alert(1)</script> & co'
    text = '"><meta property="og:image" content="https://evil.example/x.png">'
    action = release(
        services.action_create(by=operator_mn, **action_fields(title=title, text=text)),
        operator_mn,
    )
    meta, _canonical, html = card(client, action)

    assert "<script>alert(1)</script>" not in html
    assert 'content="https://evil.example' not in html
    assert meta["og:title"] == f"Burgernet: {title}"
    assert meta["twitter:title"] == f"Burgernet: {title}"
    assert text in meta["og:description"]
    assert "og:image" not in meta  # the injected tag did not become one
