"""The action's own rules: defaults per kind, where it lies, what its state allows, bad input."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.actions import services
from apps.actions.models import Action
from apps.governance import geo, policy
from apps.governance.models import Municipality, PoliceUnit

from .conftest import UTRECHT, action_fields


@pytest.mark.parametrize(
    ("kind", "time_critical"),
    [
        ("missing_person", True),
        ("missing_child", True),
        ("amber_alert", True),
        ("robbery", True),
        ("burglary", True),
        ("hit_and_run", True),
        ("suspicious_situation", False),
        ("other", False),
    ],
)
def test_it_knows_the_default_urgency_of_each_kind(kind, time_critical):
    assert Action.default_time_critical(kind) is time_critical


def test_it_takes_the_kinds_default_urgency_unless_the_operator_chooses(operator_mn):
    suspicious = services.action_create(
        by=operator_mn, **action_fields(kind="suspicious_situation")
    )
    assert suspicious.is_time_critical is False
    burglary = services.action_create(
        by=operator_mn, **action_fields(kind="burglary", is_time_critical=False)
    )
    assert burglary.is_time_critical is False


def test_it_lies_in_its_regions_municipalities(draft_mn, operator_mn, operator_ams):
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    assert draft_mn.police_unit == unit
    expected = set(Municipality.objects.filter(police_unit=unit).values_list("id", flat=True))
    assert draft_mn.scope().municipality_ids == expected
    assert policy.can(operator_mn, "action.manage", draft_mn)
    assert not policy.can(operator_ams, "action.manage", draft_mn)
    assert not policy.can(operator_ams, "action.view", draft_mn)


def test_it_makes_an_amber_alert_nationwide(national_operator, operator_mn, manager, photo):
    amber = services.action_create(
        by=national_operator, **action_fields(kind="amber_alert", photo=photo)
    )
    assert amber.police_unit.is_national
    assert amber.scope().nationwide
    assert amber.is_nationwide
    assert policy.can(national_operator, "action.manage", amber)
    assert not policy.can(operator_mn, "action.view", amber)
    assert policy.can(manager, "action.view", amber)
    assert not policy.can(manager, "action.manage", amber)


def test_it_allows_each_verb_only_in_its_state(draft_mn):
    assert not draft_mn.release_problems() and draft_mn.can_edit()
    assert not (draft_mn.can_update() or draft_mn.can_end() or draft_mn.can_cancel())
    assert not draft_mn.accepts_tips()
    draft_mn.state = Action.State.RELEASED
    assert draft_mn.release_problems() and not draft_mn.can_edit()
    assert draft_mn.can_update() and draft_mn.can_end() and draft_mn.can_cancel()
    assert draft_mn.accepts_tips()
    for state in (Action.State.ENDED, Action.State.CANCELLED):
        draft_mn.state = state
        assert not any(
            [
                not draft_mn.release_problems(),
                draft_mn.can_update(),
                draft_mn.can_end(),
                draft_mn.can_cancel(),
                draft_mn.accepts_tips(),
            ]
        )


def test_it_needs_a_photo_for_an_amber_alert(national_operator):
    amber = services.action_create(by=national_operator, **action_fields(kind="amber_alert"))
    assert amber.release_problems()
    assert "foto" in str(amber.release_problems()[0])


def test_it_keeps_an_amber_alert_time_critical(national_operator):
    with pytest.raises(ValidationError) as error:
        services.action_create(
            by=national_operator, **action_fields(kind="amber_alert", is_time_critical=False)
        )
    assert "is_time_critical" in error.value.message_dict


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("radius_m", 0),
        ("radius_m", 99),
        ("radius_m", 500_000),
        ("radius_m", 50_001),
        ("lat", 40.4),  # Madrid
        ("lon", -3.7),
        ("lat", 59.3),  # Stockholm
        ("lon", 18.1),
    ],
)
def test_it_refuses_a_radius_or_point_out_of_bounds(operator_mn, field, value):
    with pytest.raises(ValidationError) as error:
        services.action_create(by=operator_mn, **action_fields(**{field: value}))
    assert field in error.value.message_dict
    assert not Action.objects.exists()


@pytest.mark.parametrize(
    ("radius", "lat", "lon"),
    [(100, *UTRECHT), (50_000, geo.MIN_LAT, geo.MAX_LON), (50_000, geo.MAX_LAT, geo.MIN_LON)],
)
def test_it_accepts_the_limits(national_operator, radius, lat, lon):
    # A national operator: a regional one may only centre an action in its region.
    action = services.action_create(
        by=national_operator, **action_fields(radius_m=radius, lat=lat, lon=lon)
    )
    assert action.pk


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("radius_m", 0),
        ("lat", 10.0),
        ("lon", 30.0),
        ("lat", geo.MIN_LAT - 0.01),
        ("lon", geo.MAX_LON + 0.01),
    ],
)
def test_it_has_the_database_refuse_bad_geometry_too(draft_mn, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Action.objects.filter(pk=draft_mn.pk).update(**{field: value})


def test_it_labels_an_exercise(operator_mn):
    exercise = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    assert str(exercise).startswith("[OEFENING] ")


def test_an_action_s_scope_is_asked_of_the_database_once_until_its_unit_changes(
    operator_mn, django_assert_num_queries
):
    from apps.actions import services
    from apps.governance.models import PoliceUnit
    from tests.actions.conftest import action_fields

    action = services.action_create(by=operator_mn, **action_fields())
    action.refresh_from_db()
    first = action.scope()
    with django_assert_num_queries(0):
        assert action.scope() == first
    other = PoliceUnit.objects.exclude(pk=action.police_unit_id).exclude(is_national=True)[0]
    action.police_unit = other
    moved = action.scope()
    assert moved != first and moved.municipality_ids
