"""Displays: per police unit, only running missing persons (the display channel's kinds),
within the display's length, conditional requests answered 304, a bad length refused, and
the full-screen page that says when nothing is on."""

from email.utils import parsedate_to_datetime

import pytest
from django.urls import reverse

from apps.actions import services
from apps.channels.models import Channel, ChannelSetting

from .conftest import AMSTERDAM, action_fields, approve_and_release, release

SITE = "https://www.burgernet.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def missing_mn_ended_at(action):
    action.refresh_from_db()
    return action.ended_at.replace(microsecond=0)


def board(client, slug="midden-nederland", **params):
    return client.get(reverse("displays:json", kwargs={"slug": slug}), params)


@pytest.fixture
def missing_mn(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


@pytest.fixture
def robbery_mn(operator_mn):
    action = services.action_create(
        by=operator_mn, **action_fields(kind="robbery", title="Overval bij de bank")
    )
    return release(action, operator_mn)


def test_it_shows_only_running_missing_persons(client, operator_mn, missing_mn, robbery_mn):
    exercise = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    release(exercise, operator_mn)
    services.action_create(by=operator_mn, **action_fields(title="Concept"))

    response = board(client)

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30"
    items = response.json()["items"]
    assert [item["url"] for item in items] == [missing_mn.page_url()]
    (item,) = items
    assert item["kind"] == "missing_person"
    assert item["title"] == "Vermiste man (82)"
    assert "grijze jas" in item["text"] and item["text"].endswith("(bij spoed 112).")
    assert item["photo"] is None


def test_it_shows_the_photo_of_a_running_action(client, operator_mn, photo):
    action = services.action_create(
        by=operator_mn, photo=photo, **action_fields(kind="missing_child", title="Vermist kind")
    )
    action = release(action, operator_mn)

    (item,) = board(client).json()["items"]

    assert item["photo"] == SITE + reverse("alerts:photo", kwargs={"ref": action.ref})


def test_it_shows_another_units_actions_only_there(client, operator_ams, missing_mn):
    action = services.action_create(
        by=operator_ams, **action_fields(lat=AMSTERDAM[0], lon=AMSTERDAM[1], title="Vermist A")
    )
    release(action, operator_ams)

    assert [i["title"] for i in board(client, "amsterdam").json()["items"]] == ["Vermist A"]
    assert [i["title"] for i in board(client).json()["items"]] == ["Vermiste man (82)"]


def test_it_clears_after_the_end(client, operator_mn, missing_mn):
    services.action_end(
        action=missing_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Gevonden.",
    )

    assert board(client).json()["items"] == []


@pytest.mark.parametrize("length", [40, 90, 160, 500])
def test_it_keeps_every_field_within_the_length(client, operator_mn, length):
    action = services.action_create(
        by=operator_mn,
        persons=[{"sex": "female", "age": "35", "clothing": "lange blauwe jas " * 8}],
        **action_fields(title="Vermiste vrouw met een lange titel " * 2, text="Uitleg. " * 60),
    )
    release(action, operator_mn)

    (item,) = board(client, lengte=length).json()["items"]

    assert all(len(item[key]) <= length for key in ("label", "title", "text"))
    if length >= 90:
        assert item["text"].endswith("(bij spoed 112).")


@pytest.mark.parametrize("value", ["39", "501", "abc", "-5", "9.5"])
def test_it_refuses_a_bad_length(client, missing_mn, value):
    response = board(client, lengte=value)

    assert response.status_code == 400
    assert "lengte" in response.json()["error"]


def test_it_answers_304_to_a_conditional_request(client, missing_mn):
    first = board(client)
    etag, last_modified = first["ETag"], first["Last-Modified"]

    again = client.get(first.wsgi_request.path, HTTP_IF_NONE_MATCH=etag)
    since = client.get(first.wsgi_request.path, HTTP_IF_MODIFIED_SINCE=last_modified)
    other_length = board(client, lengte=90, HTTP_IF_NONE_MATCH=etag)

    assert again.status_code == 304 and again.content == b""
    assert since.status_code == 304
    assert other_length.status_code == 200


def test_it_answers_in_full_once_the_content_changed(client, operator_mn, missing_mn):
    first = board(client)

    services.action_end(
        action=missing_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Gevonden.",
    )
    after = client.get(
        first.wsgi_request.path,
        HTTP_IF_NONE_MATCH=first["ETag"],
        HTTP_IF_MODIFIED_SINCE=first["Last-Modified"],
    )

    assert after.status_code == 200 and after.json()["items"] == []
    # The end counts as a change although the action left the board.
    assert parsedate_to_datetime(after["Last-Modified"]) == missing_mn_ended_at(missing_mn)


def test_it_shows_nothing_while_the_display_channel_is_paused(client, missing_mn):
    ChannelSetting.objects.update_or_create(
        channel=Channel.DISPLAY, defaults={"state": ChannelSetting.State.PAUSED}
    )

    assert board(client).json()["items"] == []


def test_it_shows_the_kinds_a_manager_added(client, missing_mn, robbery_mn):
    ChannelSetting.objects.update_or_create(
        channel=Channel.DISPLAY, defaults={"kinds": ["missing_person", "robbery"]}
    )

    assert len(board(client).json()["items"]) == 2


def test_it_reads_a_constant_number_of_queries(client, operator_mn, django_assert_max_num_queries):
    for n in range(5):
        release(
            services.action_create(by=operator_mn, **action_fields(title=f"Vermist {n}")),
            operator_mn,
        )
    with django_assert_max_num_queries(4):
        assert len(board(client).json()["items"]) == 5


def test_it_answers_404_for_an_unknown_unit(client, geography):
    assert board(client, "atlantis").status_code == 404
    assert client.get(reverse("displays:page", kwargs={"slug": "atlantis"})).status_code == 404


def test_it_refuses_to_write(client, missing_mn):
    assert client.post(reverse("displays:json", kwargs={"slug": "amsterdam"})).status_code == 405


def test_the_page_shows_the_running_actions_and_refreshes_itself(client, missing_mn):
    response = client.get(reverse("displays:page", kwargs={"slug": "midden-nederland"}))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="nl">' in html
    assert "Vermiste man (82)" in html
    assert '<meta http-equiv="refresh" content="30">' in html
    assert 'data-refresh="30"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_page_says_when_nothing_is_on(client, geography):
    url = reverse("displays:page", kwargs={"slug": "amsterdam"})

    response = client.get(url, {"verversen": "2"})

    html = response.content.decode()
    assert "Geen vermissingen in deze regio" in html
    assert 'data-refresh="2"' in html


def test_it_shows_an_amber_alert_on_every_units_board_and_in_every_feed(
    client, national_operator, second_national_operator, photo
):
    amber = services.action_create(
        by=national_operator,
        persons=[{"sex": "female", "age": "6", "clothing": "roze jas"}],
        **action_fields(kind="amber_alert", title="AMBER Alert: Sanne (6)", photo=photo),
    )
    approve_and_release(amber, national_operator, second_national_operator)

    for slug in ("amsterdam", "limburg", "midden-nederland"):
        (item,) = board(client, slug).json()["items"]
        assert item["title"] == "AMBER Alert: Sanne (6)" and item["photo"]
    limburg = client.get(reverse("feeds:province", kwargs={"slug": "limburg"}))
    assert amber.page_url() in limburg.content.decode()


def test_the_board_in_cap_links_each_shown_action_s_latest_valid_cap_message(
    client, operator_mn, missing_mn, robbery_mn
):
    from lxml import etree

    from apps.actions.cap_read import read_alert

    url = reverse("displays:cap", kwargs={"slug": "midden-nederland"})
    response = client.get(url)
    assert response.status_code == 200
    feed = etree.fromstring(response.content)
    atom = "{http://www.w3.org/2005/Atom}"
    links = [
        link.get("href")
        for link in feed.iter(f"{atom}link")
        if link.get("type") == "application/cap+xml"
    ]
    assert len(links) == 1  # the missing person, not the robbery
    alert = read_alert(client.get(links[0].removeprefix(SITE)).content)
    assert alert.infos[0].web == missing_mn.page_url()
    assert client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304

    services.action_end(
        action=missing_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Terecht.",
    )
    after = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert after.status_code == 200
    assert b"application/cap+xml" not in after.content
