"""Participants in the admin: managers only, read-only, deleting through the service."""

import re

import pytest
from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.participants.models import Address, Participant

CHANGELIST = reverse("admin:participants_participant_changelist")


@pytest.fixture
def participant(make_participant):
    return make_participant("+31612345678", email="iemand@example.org", addresses=2)


def test_it_shows_participants_to_a_manager(staff_client, manager, participant):
    client = staff_client(manager)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "+31612345678" in response.content.decode()
    page = client.get(reverse("admin:participants_participant_change", args=[participant.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "3441 AB" in html
    assert "Woerden" in html
    assert 'name="phone"' not in html  # read-only


def test_it_finds_a_participant_by_the_number_as_people_write_it(
    staff_client, manager, participant
):
    other = Participant.objects.create(phone="+31687654321")
    response = staff_client(manager).post(CHANGELIST, {"q": "06 12 34 56 78"}, follow=True)
    html = response.content.decode()
    assert "+31612345678" in html
    assert other.phone not in html


def search_address(response) -> str:
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.parametrize("term", ["06 12 34 56 78", "+31612345678", "iemand@example.org"])
def test_the_search_keeps_the_number_and_the_address_out_of_the_url(
    staff_client, manager, participant, term
):
    client = staff_client(manager)
    other = Participant.objects.create(phone="+31687654321")

    address = search_address(client.post(CHANGELIST, {"q": term, "confirmed": "yes"}))

    assert "?" in address
    for part in ("612345678", "iemand", "example", "%40", "%2B31"):
        assert part not in address
    assert "confirmed=yes" in address  # the filters stay
    page = client.get(address)
    html = page.content.decode()
    assert "+31612345678" in html
    assert other.phone not in html
    assert f'value="{term}"' in html  # the box shows what was searched for
    assert 'method="post" role="search"' in html
    # Links from the list (filters, the participant) carry the key, not the term.
    links = " ".join(re.findall(r'href="([^"]*)"', html))
    assert "q%3Dk-" in links
    for part in ("612345678", "iemand", "%2B31"):
        assert part not in links


def test_a_search_typed_into_the_address_is_moved_out_of_it(staff_client, manager, participant):
    client = staff_client(manager)
    address = search_address(client.get(CHANGELIST, {"q": "0612345678"}))
    assert "612345678" not in address
    assert "+31612345678" in client.get(address).content.decode()


def test_the_key_means_nothing_in_another_session(staff_client, manager, participant):
    other = Participant.objects.create(phone="+31687654321")
    address = search_address(staff_client(manager).post(CHANGELIST, {"q": "0612345678"}))
    html = staff_client(manager).get(address).content.decode()
    assert 'value=""' in html  # no search: the term is not in this session
    assert other.phone in html


def test_staff_who_may_not_see_participants_cannot_search(staff_client, operator_mn):
    client = staff_client(operator_mn)
    assert client.post(CHANGELIST, {"q": "0612345678"}).status_code == 403
    assert client.get(CHANGELIST, {"q": "0612345678"}).status_code == 403
    assert "participants.admin-searches" not in client.session


@pytest.mark.parametrize("user_fixture", ["operator_mn", "woerden_author", "national_operator"])
def test_it_hides_participants_from_staff_who_are_not_managers(
    request, staff_client, user_fixture, participant
):
    client = staff_client(request.getfixturevalue(user_fixture))
    assert client.get(CHANGELIST).status_code == 403
    change = reverse("admin:participants_participant_change", args=[participant.pk])
    assert client.get(change).status_code == 403
    delete = reverse("admin:participants_participant_delete", args=[participant.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Participant.objects.filter(pk=participant.pk).exists()
    index = client.get(reverse("admin:index")).content.decode()
    assert CHANGELIST not in index


def test_it_hides_participants_from_staff_without_a_role(
    staff_client, make_staff_user, org_management, participant
):
    client = staff_client(make_staff_user("zonder-rol", org_management, []))
    assert client.get(CHANGELIST).status_code == 403


def test_it_keeps_anonymous_visitors_out(client, participant):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "+31612345678" not in response.content.decode()


def test_it_lets_a_manager_delete_through_the_same_service(staff_client, manager, participant):
    client = staff_client(manager)
    delete = reverse("admin:participants_participant_delete", args=[participant.pk])
    assert client.get(delete).status_code == 200
    response = client.post(delete, {"post": "yes"}, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 302
    assert not Participant.objects.filter(pk=participant.pk).exists()
    assert not Address.objects.filter(participant_id=participant.pk).exists()
    entry = AuditEntry.objects.get(verb="participant.deleted")
    assert entry.actor == manager
    assert entry.detail == {"by": "staff"}
    assert entry.ip == "192.0.2.10"


def test_it_lets_a_manager_delete_several_with_the_action(staff_client, manager, make_participant):
    first = make_participant("+31612345601")
    second = make_participant("+31612345602")
    response = staff_client(manager).post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Participant.objects.filter(pk__in=[first.pk, second.pk]).count() == 0
    assert AuditEntry.objects.filter(verb="participant.deleted").count() == 2


def test_it_offers_no_way_to_add_or_edit_participants(staff_client, manager, participant):
    client = staff_client(manager)
    assert client.get(reverse("admin:participants_participant_add")).status_code == 403
    change = reverse("admin:participants_participant_change", args=[participant.pk])
    client.post(change, {"phone": "+31699999999"})
    participant.refresh_from_db()
    assert participant.phone == "+31612345678"
