"""Actions in the admin: each region sees its own, managers see all, drafts only are edited,
and only through the service."""

import pytest
from django.urls import reverse

from apps.actions import services
from apps.actions.models import Action
from apps.governance.models import AuditEntry, PoliceUnit
from apps.web import photos
from tests import hostile_photos

from .conftest import UTRECHT, action_fields

CHANGELIST = reverse("admin:actions_action_changelist")
ADD = reverse("admin:actions_action_add")


def change_url(action):
    return reverse("admin:actions_action_change", args=[action.pk])


def is_not_found(response) -> bool:
    """The admin's answer for an object outside the user's scope: "does not exist"."""
    return response.status_code == 302 and response.url == reverse("admin:index")


def add_form(**overrides) -> dict:
    data = {
        "kind": "burglary",
        "is_time_critical": "on",
        "title": "Inbraak in woning",
        "text": "",
        "lat": str(UTRECHT[0]),
        "lon": str(UTRECHT[1]),
        "radius_m": "1500",
        "police_unit": str(PoliceUnit.objects.get(name="Midden-Nederland").pk),
    }
    for prefix in ("persons", "vehicles", "updates", "tips"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update({"end_message-TOTAL_FORMS": "0", "end_message-INITIAL_FORMS": "0"})
    data.update(overrides)
    return data


def test_it_shows_an_operator_the_actions_of_its_own_region(
    staff_client, operator_mn, draft_mn, draft_ams
):
    client = staff_client(operator_mn)
    html = client.get(CHANGELIST).content.decode()
    assert draft_mn.title in html
    assert draft_ams.title not in html
    assert client.get(change_url(draft_mn)).status_code == 200
    assert is_not_found(client.get(change_url(draft_ams)))


def test_it_shows_a_manager_every_action_read_only(staff_client, manager, draft_mn, draft_ams):
    client = staff_client(manager)
    html = client.get(CHANGELIST).content.decode()
    assert draft_mn.title in html and draft_ams.title in html
    page = client.get(change_url(draft_mn)).content.decode()
    assert 'name="title"' not in page
    assert client.get(ADD).status_code == 403


@pytest.mark.parametrize("user_fixture", ["woerden_author", "police_team_user"])
def test_it_hides_actions_from_mail_staff(request, staff_client, user_fixture, draft_mn):
    client = staff_client(request.getfixturevalue(user_fixture))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(draft_mn)).status_code in (302, 403)


def test_it_creates_a_draft_through_the_service(staff_client, operator_mn):
    client = staff_client(operator_mn)
    response = client.post(ADD, add_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    action = Action.objects.get()
    assert action.state == Action.State.DRAFT
    assert action.created_by == operator_mn
    assert action.organisation == operator_mn.organisation
    assert AuditEntry.objects.filter(verb="action.created", actor=operator_mn).exists()


def test_it_offers_an_operator_only_its_own_region(staff_client, operator_mn):
    client = staff_client(operator_mn)
    form = client.get(ADD).context["adminform"].form
    assert list(form.fields["police_unit"].queryset.values_list("name", flat=True)) == [
        "Midden-Nederland"
    ]
    amsterdam = PoliceUnit.objects.get(name="Amsterdam")
    response = client.post(ADD, add_form(police_unit=str(amsterdam.pk)))
    assert response.status_code == 200  # an invalid choice
    assert not Action.objects.exists()


def test_it_refuses_a_bad_radius_in_the_admin(staff_client, operator_mn):
    response = staff_client(operator_mn).post(ADD, add_form(radius_m="500000"))
    assert response.status_code == 200
    assert "radius_m" in response.context["adminform"].form.errors
    assert not Action.objects.exists()


def test_it_edits_a_draft_but_shows_a_released_action_read_only(
    staff_client, operator_mn, draft_mn
):
    client = staff_client(operator_mn)
    data = add_form(kind="missing_person", title="Vermiste man (83)")
    data.update({"persons-TOTAL_FORMS": "1", "persons-INITIAL_FORMS": "1"})
    person = draft_mn.persons.get()
    data.update(
        {
            "persons-0-id": str(person.pk),
            "persons-0-action": str(draft_mn.pk),
            "persons-0-sex": "male",
            "persons-0-age": "83",
            "persons-0-clothing": "grijze jas",
        }
    )
    response = client.post(change_url(draft_mn), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    draft_mn.refresh_from_db()
    assert draft_mn.title == "Vermiste man (83)"
    assert AuditEntry.objects.filter(verb="action.changed", actor=operator_mn).exists()

    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.RELEASED)
    page = client.get(change_url(draft_mn)).content.decode()
    assert 'name="title"' not in page
    assert 'name="persons-0-age"' not in page


# Photos: linked through the checked views, never under /media/ ----------------------------


def test_a_drafts_photo_widget_links_to_the_console_photo_view(staff_client, operator_mn, photo):
    action = services.action_create(by=operator_mn, photo=photo, **action_fields())
    client = staff_client(operator_mn)
    page = client.get(change_url(action)).content.decode()
    photo_url = reverse("console:photo", args=[action.pk])
    assert 'name="photo"' in page  # the draft is editable: the file input is there
    assert f'href="{photo_url}"' in page
    assert "/media/" not in page
    assert client.get(photo_url).status_code == 200


def test_a_released_actions_read_only_photo_links_to_the_console_photo_view(
    staff_client, operator_mn, manager, photo
):
    action = services.action_create(by=operator_mn, photo=photo, **action_fields())
    Action.objects.filter(pk=action.pk).update(state=Action.State.RELEASED)
    photo_url = reverse("console:photo", args=[action.pk])
    for user in (operator_mn, manager):
        client = staff_client(user)
        page = client.get(change_url(action)).content.decode()
        assert 'name="photo"' not in page
        assert f'href="{photo_url}"' in page
        assert "/media/" not in page
        assert client.get(photo_url).status_code == 200


def test_an_action_without_a_photo_shows_no_photo_link(staff_client, operator_mn, draft_mn):
    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.RELEASED)
    page = staff_client(operator_mn).get(change_url(draft_mn)).content.decode()
    assert reverse("console:photo", args=[draft_mn.pk]) not in page


def test_a_tips_photo_in_the_inline_links_to_the_tip_photo_view(
    staff_client, operator_mn, draft_mn, photo
):
    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.RELEASED)
    draft_mn.refresh_from_db()
    tip = services.tip_submit(action=draft_mn, text="Man gezien bij de Neude.", photo=photo)
    client = staff_client(operator_mn)
    page = client.get(change_url(draft_mn)).content.decode()
    tip_url = reverse("console:tip_photo", args=[tip.pk])
    assert "Man gezien bij de Neude." in page
    assert f'href="{tip_url}"' in page
    assert "/media/" not in page
    assert client.get(tip_url).status_code == 200


# The centre of an action lies in the operator's region, whatever the path (issue 9) -------


def test_the_admin_refuses_a_centre_in_another_region_and_creates_nothing(
    staff_client, operator_mn
):
    from .conftest import AMSTERDAM

    response = staff_client(operator_mn).post(
        ADD, add_form(lat=str(AMSTERDAM[0]), lon=str(AMSTERDAM[1]))
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "buiten het werkgebied" in str(errors)
    assert not Action.objects.exists()


def test_the_admin_refuses_to_move_a_drafts_centre_into_another_region(
    staff_client, operator_mn, draft_mn
):
    from .conftest import AMSTERDAM

    form = add_form(lat=str(AMSTERDAM[0]), lon=str(AMSTERDAM[1]), kind=draft_mn.kind)
    response = staff_client(operator_mn).post(change_url(draft_mn), form)

    assert response.status_code == 200
    assert "buiten het werkgebied" in str(response.context["adminform"].form.errors)
    draft_mn.refresh_from_db()
    assert (draft_mn.lat, draft_mn.lon) == UTRECHT


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (hostile_photos.header_truncated_jpeg, photos.MSG_BROKEN),
        (hostile_photos.data_truncated_jpeg, photos.MSG_BROKEN),
        (hostile_photos.pixel_bomb_upload, photos.MSG_TOO_MANY_PIXELS),
    ],
)
def test_the_admin_refuses_a_photo_the_gate_refuses_on_the_form(
    staff_client, operator_mn, upload, message
):
    response = staff_client(operator_mn).post(ADD, add_form(photo=upload()))

    assert response.status_code == 200  # the admin's answer to a form with errors
    errors = response.context["adminform"].form.errors
    assert errors["photo"] == [str(message)]
    assert not Action.objects.exists()


def test_the_admin_stores_clean_text_and_refuses_an_action_text_over_the_limit(
    staff_client, operator_mn
):
    client = staff_client(operator_mn)
    response = client.post(ADD, add_form(text="x" * 1001))
    assert response.status_code == 200
    assert "text" in response.context["adminform"].form.errors
    assert not Action.objects.exists()

    response = client.post(
        ADD, add_form(title="Inbraak\u202e in woning", text="Via\u200b achterdeur")
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.title, action.text) == ("Inbraak in woning", "Via achterdeur")
