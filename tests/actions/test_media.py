"""Photos served through checked views: an action's photo only while the action is public,
a citizen's tip photo only to the staff of the action's region; no uploads folder is served
as such. Also the staff home page's links to the console and Burgernetmail, per role."""

import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.actions import media, services

from .conftest import action_fields, png_bytes, release

SITE = "https://www.burgernet.example"
HOME_URL = reverse("governance:home")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def draft_with_photo(operator_mn, photo):
    return services.action_create(
        by=operator_mn, photo=photo, **action_fields(kind="missing_child", title="Meisje (9)")
    )


@pytest.fixture
def released_with_photo(draft_with_photo, operator_mn):
    return release(draft_with_photo, operator_mn)


@pytest.fixture
def exercise_with_photo(operator_mn, photo):
    action = services.action_create(
        by=operator_mn, photo=photo, **action_fields(is_exercise=True, title="Oefening")
    )
    return release(action, operator_mn)


@pytest.fixture
def tip_with_photo(released_with_photo):
    return services.tip_submit(
        action=released_with_photo,
        text="Meisje gezien bij het station.",
        photo=SimpleUploadedFile("IMG_4711.png", png_bytes(), content_type="image/png"),
    )


def photo_url(action) -> str:
    return reverse("alerts:photo", kwargs={"ref": action.ref})


def console_photo_url(action) -> str:
    return reverse("console:photo", args=[action.pk])


def tip_photo_url(tip) -> str:
    return reverse("console:tip_photo", args=[tip.pk])


def stored_bytes(field_file) -> bytes:
    with field_file.storage.open(field_file.name, "rb") as handle:
        return handle.read()


# The public photo of an action -----------------------------------------------------------


def test_it_serves_a_released_actions_photo_with_its_type(client, released_with_photo):
    response = client.get(photo_url(released_with_photo))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == media.RELEASED_CACHE
    assert b"".join(response.streaming_content) == stored_bytes(released_with_photo.photo)


def test_it_keeps_a_drafts_photo_off_the_public_url(
    client, staff_client, draft_with_photo, manager
):
    url = photo_url(draft_with_photo)

    assert client.get(url).status_code == 404
    assert staff_client(manager).get(url).status_code == 404


@pytest.mark.parametrize("how", ["end", "cancel"])
def test_it_serves_the_photo_of_an_action_that_is_over_without_caching(
    client, released_with_photo, operator_mn, how
):
    if how == "end":
        services.action_end(
            action=released_with_photo,
            by=operator_mn,
            information_contributed=True,
            result="found_safe",
            text="Thuis.",
        )
    else:
        services.action_cancel(action=released_with_photo, by=operator_mn, text="Vergissing.")

    response = client.get(photo_url(released_with_photo))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == media.OVER_CACHE


def test_it_keeps_an_exercise_photo_from_citizens_and_other_regions(
    client, staff_client, exercise_with_photo, operator_ams, operator_mn
):
    url = photo_url(exercise_with_photo)

    assert client.get(url).status_code == 404
    assert staff_client(operator_ams).get(url).status_code == 404
    assert staff_client(operator_mn, verified=False).get(url).status_code == 404


def test_it_serves_an_exercise_photo_privately_to_staff_of_the_region(
    staff_client, exercise_with_photo, operator_mn, manager
):
    for user in (operator_mn, manager):
        response = staff_client(user).get(photo_url(exercise_with_photo))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == media.PRIVATE_CACHE


def test_it_shows_an_exercise_photo_on_the_page_only_to_those_who_may_see_it(
    client, staff_client, exercise_with_photo, operator_mn
):
    page = reverse("alerts:action", kwargs={"ref": exercise_with_photo.ref})
    url = photo_url(exercise_with_photo)

    assert url not in client.get(page).content.decode()
    assert f'src="{url}"' in staff_client(operator_mn).get(page).content.decode()


def test_it_answers_404_for_an_action_without_photo_or_a_lost_file(
    client, released_with_photo, draft_mn, operator_mn
):
    services.action_release(action=draft_mn, by=operator_mn)
    assert client.get(photo_url(draft_mn)).status_code == 404

    released_with_photo.photo.storage.delete(released_with_photo.photo.name)
    assert client.get(photo_url(released_with_photo)).status_code == 404


def test_it_answers_only_get_and_head_for_a_photo(client, released_with_photo):
    url = photo_url(released_with_photo)

    assert client.head(url).status_code == 200
    assert client.post(url).status_code == 405


def test_it_points_the_push_image_at_the_photo_view(client, released_with_photo, operator_mn):
    url = SITE + photo_url(released_with_photo)
    update = services.action_update(action=released_with_photo, by=operator_mn, text="Nieuws.")

    assert released_with_photo.release_message.data["image"] == url
    assert update.message.data["image"] == url
    assert client.get(url.removeprefix(SITE)).status_code == 200


def test_it_serves_no_uploads_folder_even_in_debug(settings, client, tip_with_photo):
    module = importlib.import_module("burgernet.urls")
    settings.DEBUG = True
    try:
        debug_patterns = importlib.reload(module).urlpatterns
    finally:
        settings.DEBUG = False
        importlib.reload(module)

    assert not any("media" in str(pattern.pattern) for pattern in debug_patterns)
    assert client.get(f"/{settings.MEDIA_URL}{tip_with_photo.photo.name}").status_code == 404


# The console's photo of an action (drafts too) -------------------------------------------


def test_it_shows_a_drafts_photo_in_the_console_to_its_region(
    client, staff_client, draft_with_photo, operator_mn, operator_ams, woerden_author
):
    url = console_photo_url(draft_with_photo)
    response = staff_client(operator_mn).get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == media.PRIVATE_CACHE
    assert staff_client(operator_ams).get(url).status_code == 404
    assert staff_client(woerden_author).get(url).status_code == 403
    assert client.get(url).status_code == 302  # to the log-in


def test_it_points_the_console_pages_at_the_console_photo(
    staff_client, draft_with_photo, operator_mn
):
    mn = staff_client(operator_mn)
    url = console_photo_url(draft_with_photo)

    detail = mn.get(reverse("console:detail", args=[draft_with_photo.pk])).content.decode()
    edit = mn.get(reverse("console:edit", args=[draft_with_photo.pk])).content.decode()

    assert f'id="action-photo" src="{url}"' in detail
    assert f'id="current-photo" src="{url}"' in edit


# Tip photos --------------------------------------------------------------------------------


def test_it_serves_a_tip_photo_privately_to_the_operator_of_the_region_and_a_manager(
    staff_client, tip_with_photo, operator_mn, manager
):
    for user in (operator_mn, manager):
        response = staff_client(user).get(tip_photo_url(tip_with_photo))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == stored_bytes(tip_with_photo.photo)


def test_it_keeps_a_tip_photo_from_anonymous_users(client, tip_with_photo):
    response = client.get(tip_photo_url(tip_with_photo))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("governance:login"))


def test_it_keeps_a_tip_photo_from_another_region_and_other_roles(
    staff_client, tip_with_photo, operator_ams, woerden_author, operator_mn
):
    url = tip_photo_url(tip_with_photo)

    assert staff_client(operator_ams).get(url).status_code == 404
    assert staff_client(woerden_author).get(url).status_code == 403
    assert staff_client(operator_mn, verified=False).get(url).status_code == 302


def test_it_answers_404_for_a_tip_without_photo(staff_client, released_with_photo, operator_mn):
    tip = services.tip_submit(action=released_with_photo, text="Geen foto.")

    assert staff_client(operator_mn).get(tip_photo_url(tip)).status_code == 404


def test_it_links_tip_photos_in_the_console_through_the_view(
    staff_client, tip_with_photo, operator_mn
):
    action = tip_with_photo.action
    html = staff_client(operator_mn).get(reverse("console:live", args=[action.pk])).text

    assert f'src="{tip_photo_url(tip_with_photo)}"' in html
    assert tip_with_photo.photo.name not in html


def test_it_gives_citizens_no_address_of_a_tip_photo(client, tip_with_photo):
    action = tip_with_photo.action
    html = client.get(reverse("alerts:action", kwargs={"ref": action.ref})).text

    assert tip_photo_url(tip_with_photo) not in html
    assert tip_with_photo.photo.name not in html


# The staff home page's links -------------------------------------------------------------


def test_it_links_an_operator_to_the_console_only(staff_client, operator_mn):
    html = staff_client(operator_mn).get(HOME_URL).text

    assert 'href="/meldkamer/" id="link-console"' in html
    assert 'id="link-mail"' not in html


def test_it_links_a_mail_author_to_burgernetmail_only(staff_client, woerden_author):
    html = staff_client(woerden_author).get(HOME_URL).text

    assert 'href="/mail/" id="link-mail"' in html
    assert 'id="link-console"' not in html


def test_it_links_a_manager_to_both(staff_client, manager):
    html = staff_client(manager).get(HOME_URL).text

    assert 'id="link-console"' in html and 'id="link-mail"' in html


def test_it_links_nowhere_for_staff_without_an_organisation(staff_client, make_staff_user):
    from apps.governance.roles import Role

    user = make_staff_user("los", None, [Role.OPERATOR, Role.MAIL_AUTHOR])
    html = staff_client(user).get(HOME_URL).text

    assert 'id="link-console"' not in html and 'id="link-mail"' not in html
