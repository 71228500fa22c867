"""What every staff request asks, asked cheaply: a police unit's municipalities (a control
room's scope, an action's scope) come from the cache and are forgotten as soon as a
municipality moves; the user comes with their organisation."""

import pytest
from django.contrib.auth import get_user
from django.core.cache import cache
from django.test import RequestFactory

from apps.governance import policy
from apps.governance.backends import StaffBackend
from apps.governance.models import Municipality, PoliceUnit, User

pytestmark = pytest.mark.django_db


def _fresh(user):
    """The user as the next request finds them (nothing kept on the object)."""
    return User.objects.get(pk=user.pk)


def test_a_units_municipalities_are_asked_of_the_database_once(
    geography, django_assert_num_queries
):
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    with django_assert_num_queries(1):
        first = Municipality.ids_in_unit(unit.pk)
    with django_assert_num_queries(0):
        assert Municipality.ids_in_unit(unit.pk) == first
    assert first == set(unit.municipalities.values_list("pk", flat=True))
    assert Municipality.objects.get(code="GM0632").pk in first  # Woerden


def test_moving_a_municipality_moves_it_in_every_scope_at_once(operator_mn, operator_ams):
    woerden = Municipality.objects.get(code="GM0632")
    mn, ams = woerden.police_unit, PoliceUnit.objects.get(name="Amsterdam")
    assert woerden.pk in policy.user_scope(_fresh(operator_mn)).municipality_ids
    assert woerden.pk in Municipality.ids_in_unit(mn.pk)
    assert woerden.pk not in Municipality.ids_in_unit(ams.pk)

    woerden.police_unit = ams
    woerden.save()

    assert woerden.pk not in policy.user_scope(_fresh(operator_mn)).municipality_ids
    assert woerden.pk in policy.user_scope(_fresh(operator_ams)).municipality_ids
    assert woerden.pk in Municipality.ids_in_unit(ams.pk)


def test_a_list_kept_by_another_request_before_the_move_committed_is_forgotten_on_commit(
    geography, django_capture_on_commit_callbacks
):
    woerden = Municipality.objects.get(code="GM0632")
    mn, ams = woerden.police_unit, PoliceUnit.objects.get(name="Amsterdam")
    old = Municipality.ids_in_unit(mn.pk)
    with django_capture_on_commit_callbacks(execute=True):
        woerden.police_unit = ams
        woerden.save()
        # Another web process reads the old list (its transaction does not see the move
        # yet) and keeps it in the shared cache.
        cache.set(f"governance.unit_municipalities:{mn.pk}", old)
    from apps.governance import models

    models._units_here.clear()  # as in another process, which has no copy of its own
    assert woerden.pk not in Municipality.ids_in_unit(mn.pk)


def test_deleting_a_municipality_takes_it_out_of_its_units_list(geography):
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    assert Municipality.ids_in_unit(unit.pk)
    extra = Municipality.objects.create(
        code="GM9999",
        name="Proefgemeente",
        province=unit.municipalities.first().province,
        safety_region=unit.municipalities.first().safety_region,
        police_unit=unit,
    )
    assert extra.pk in Municipality.ids_in_unit(unit.pk)
    extra.delete()
    assert extra.pk not in Municipality.ids_in_unit(unit.pk)


def test_the_staff_user_comes_with_their_organisation_in_one_query(
    operator_mn, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = StaffBackend().get_user(operator_mn.pk)
        assert user.organisation.name == operator_mn.organisation.name


def test_an_inactive_or_unknown_user_is_not_found_again(operator_mn):
    User.objects.filter(pk=operator_mn.pk).update(is_active=False)
    assert StaffBackend().get_user(operator_mn.pk) is None
    assert StaffBackend().get_user(987654) is None


def test_a_session_from_a_log_in_finds_the_user_through_the_staff_backend(client, operator_mn):
    client.force_login(operator_mn)
    request = RequestFactory().get("/")
    request.session = client.session
    user = get_user(request)
    assert user.pk == operator_mn.pk and user.is_authenticated
    assert "organisation" in user._state.fields_cache  # loaded with the user
