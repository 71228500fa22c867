"""The outcome of an action (uitkomst): recorded at the end, corrected later on the ended
action's page (services.action_outcome_set), and the incident's municipality kept by the
action itself."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.actions import services
from apps.actions.models import Action
from apps.governance.models import AuditEntry, Municipality, StaleDay

from .conftest import AMSTERDAM, UTRECHT, action_fields, release

pytestmark = pytest.mark.django_db

WOERDEN = (52.0857, 4.8830)


@pytest.fixture
def mn(staff_client, operator_mn):
    return staff_client(operator_mn)


@pytest.fixture
def ams(staff_client, operator_ams):
    return staff_client(operator_ams)


@pytest.fixture
def released(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


@pytest.fixture
def ended(released, operator_mn):
    services.action_end(
        action=released,
        by=operator_mn,
        result="found_safe",
        information_contributed=True,
        calls_registered=2,
        text="Gevonden.",
    )
    released.refresh_from_db()
    StaleDay.objects.all().delete()  # as after the next refresh
    return released


def outcome(action):
    action.refresh_from_db()
    return (action.result, action.information_contributed, action.calls_registered)


# At the end -------------------------------------------------------------------------------


def test_the_end_records_the_whole_outcome(ended):
    assert outcome(ended) == ("found_safe", True, 2)
    entry = AuditEntry.objects.get(verb="action.ended")
    assert entry.detail["contributed"] is True and entry.detail["calls"] == 2


def test_the_end_has_the_report_count_the_release_day_again(released, operator_mn):
    from apps.governance import reporting

    services.action_end(
        action=released,
        by=operator_mn,
        result="arrested",
        information_contributed=False,
        text="Aangehouden.",
    )
    day = reporting.local_day(released.released_at)
    stale = set(StaleDay.objects.filter(day=day).values_list("collector", flat=True))
    assert stale == {"actions", "action_messages"}


def test_a_tip_on_a_long_running_action_has_its_release_day_counted_again(released):
    from datetime import timedelta

    from apps.governance import reporting

    services.tip_submit(action=released, text="Vandaag gezien.")
    assert not StaleDay.objects.exists()  # the hourly refresh counts the last days anyway

    Action.objects.filter(pk=released.pk).update(
        released_at=released.released_at - timedelta(days=30)
    )
    released.refresh_from_db()
    services.tip_submit(action=released, text="Weer gezien.")
    assert StaleDay.objects.filter(
        day=reporting.local_day(released.released_at), collector="actions"
    ).exists()


def test_the_end_needs_to_know_whether_information_contributed(released, operator_mn):
    with pytest.raises(ValidationError) as caught:
        services.action_end(action=released, by=operator_mn, result="arrested", text="Klaar.")
    assert "information_contributed" in caught.value.error_dict
    assert outcome(released) == ("", None, 0)
    assert released.state == Action.State.RELEASED


def test_the_end_refuses_negative_calls(released, operator_mn):
    with pytest.raises(ValidationError):
        services.action_end(
            action=released,
            by=operator_mn,
            result="arrested",
            information_contributed=False,
            calls_registered=-1,
            text="Klaar.",
        )
    released.refresh_from_db()
    assert released.state == Action.State.RELEASED


def test_the_console_ends_with_the_outcome(mn, released):
    response = mn.post(
        reverse("console:end", args=[released.pk]),
        {
            "result": "arrested",
            "information_contributed": "no",
            "calls_registered": "4",
            "text": "Aangehouden.",
        },
    )
    assert response.status_code == 302
    assert outcome(released) == ("arrested", False, 4)


def test_the_console_refuses_an_end_without_contributed(mn, released):
    response = mn.post(
        reverse("console:end", args=[released.pk]),
        {"result": "arrested", "information_contributed": "", "text": "Aangehouden."},
    )
    assert response.status_code == 400
    assert 'id="end-information_contributed"' in response.content.decode()
    released.refresh_from_db()
    assert released.state == Action.State.RELEASED


# Corrected later ----------------------------------------------------------------------------


def test_an_ended_actions_outcome_can_be_corrected(ended, operator_mn):
    services.action_outcome_set(
        action=ended,
        by=operator_mn,
        result="not_found",
        information_contributed=False,
        calls_registered=5,
    )
    assert outcome(ended) == ("not_found", False, 5)
    entry = AuditEntry.objects.get(verb="action.outcome")
    assert entry.target_id == str(ended.pk)
    assert entry.detail == {
        "old": {"result": "found_safe", "information_contributed": True, "calls_registered": 2},
        "new": {"result": "not_found", "information_contributed": False, "calls_registered": 5},
    }


def test_a_correction_marks_the_release_day_stale_for_the_report(ended, operator_mn):
    from apps.governance import reporting

    services.action_outcome_set(
        action=ended, by=operator_mn, result="arrested", information_contributed=True
    )
    assert StaleDay.objects.filter(
        day=reporting.local_day(ended.released_at), collector="actions"
    ).exists()


def test_an_unchanged_outcome_writes_nothing(ended, operator_mn):
    services.action_outcome_set(
        action=ended,
        by=operator_mn,
        result="found_safe",
        information_contributed=True,
        calls_registered=2,
    )
    assert not AuditEntry.objects.filter(verb="action.outcome").exists()
    assert not StaleDay.objects.exists()


@pytest.mark.parametrize(
    "values, field",
    [
        ({"result": "escaped", "information_contributed": True}, "result"),
        ({"result": "", "information_contributed": True}, "result"),
        ({"result": "arrested", "information_contributed": None}, "information_contributed"),
        (
            {"result": "arrested", "information_contributed": True, "calls_registered": -3},
            "calls_registered",
        ),
    ],
)
def test_a_bad_outcome_is_refused_and_changes_nothing(ended, operator_mn, values, field):
    with pytest.raises(ValidationError) as caught:
        services.action_outcome_set(action=ended, by=operator_mn, **values)
    assert field in caught.value.error_dict
    assert outcome(ended) == ("found_safe", True, 2)
    assert not AuditEntry.objects.filter(verb="action.outcome").exists()
    assert not StaleDay.objects.exists()


def test_the_model_refuses_an_ended_action_without_outcome(ended):
    ended.information_contributed = None
    with pytest.raises(ValidationError) as caught:
        ended.full_clean()
    assert "information_contributed" in caught.value.error_dict


def test_another_regions_operator_cannot_correct_it(ended, operator_ams):
    with pytest.raises(PermissionDenied):
        services.action_outcome_set(
            action=ended, by=operator_ams, result="arrested", information_contributed=False
        )
    assert outcome(ended) == ("found_safe", True, 2)


@pytest.mark.parametrize("state", ["draft", "released", "cancelled"])
def test_only_an_ended_actions_outcome_can_be_corrected(draft_mn, operator_mn, state):
    action = draft_mn
    if state != "draft":
        action = release(draft_mn, operator_mn)
    if state == "cancelled":
        services.action_cancel(action=action, by=operator_mn, text="Vergissing.")
    with pytest.raises(ValidationError):
        services.action_outcome_set(
            action=action, by=operator_mn, result="arrested", information_contributed=True
        )
    assert outcome(action) == ("", None, 0)
    assert not AuditEntry.objects.filter(verb="action.outcome").exists()


def test_the_ended_page_shows_the_outcome_and_the_correction_form(mn, ended):
    page = mn.get(reverse("console:detail", args=[ended.pk])).content.decode()
    assert 'id="outcome-result">gevonden<' in page
    assert 'id="outcome-contributed">ja<' in page
    assert 'id="outcome-calls">2<' in page
    assert 'id="outcome-form"' in page


def test_a_running_actions_page_has_no_correction_form(mn, released):
    page = mn.get(reverse("console:detail", args=[released.pk])).content.decode()
    assert 'id="outcome-form"' not in page


def test_the_console_corrects_the_outcome(mn, ended):
    response = mn.post(
        reverse("console:outcome", args=[ended.pk]),
        {"result": "arrested", "information_contributed": "no", "calls_registered": ""},
    )
    assert response.status_code == 302
    assert outcome(ended) == ("arrested", False, 0)


def test_the_console_refuses_a_bad_correction(mn, ended):
    response = mn.post(
        reverse("console:outcome", args=[ended.pk]),
        {"result": "arrested", "information_contributed": "yes", "calls_registered": "-1"},
    )
    assert response.status_code == 400
    assert 'id="outcome-calls_registered"' in response.content.decode()
    assert outcome(ended) == ("found_safe", True, 2)


def test_the_console_refuses_another_regions_correction(ams, ended):
    response = ams.post(
        reverse("console:outcome", args=[ended.pk]),
        {"result": "arrested", "information_contributed": "no"},
    )
    assert response.status_code == 403
    assert outcome(ended) == ("found_safe", True, 2)


# The municipality of the incident point -------------------------------------------------------


def test_the_action_keeps_the_municipality_of_its_point(draft_mn, operator_mn):
    assert draft_mn.municipality == Municipality.objects.get(code="GM0344")  # Utrecht

    draft_mn.lat, draft_mn.lon = WOERDEN
    services.action_save_draft(action=draft_mn, by=operator_mn, changed=["lat", "lon"])
    draft_mn.refresh_from_db()
    assert draft_mn.municipality == Municipality.objects.get(code="GM0632")  # Woerden


def test_the_municipality_follows_a_point_saved_with_update_fields(draft_mn):
    draft_mn.lat, draft_mn.lon = AMSTERDAM
    draft_mn.save(update_fields=["lat", "lon"])
    draft_mn.refresh_from_db()
    assert draft_mn.municipality == Municipality.objects.get(code="GM0363")


def test_a_save_without_the_point_leaves_the_municipality(draft_mn):
    woerden = Municipality.objects.get(code="GM0632")
    Action.objects.filter(pk=draft_mn.pk).update(municipality=woerden)
    action = Action.objects.get(pk=draft_mn.pk)
    action.title = "Andere titel"
    action.save()
    action.refresh_from_db()
    assert action.municipality == woerden  # the point did not move: not looked up again


def test_an_action_made_by_hand_gets_its_municipality(operator_mn):
    fields = action_fields(lat=UTRECHT[0], lon=UTRECHT[1])
    action = Action.objects.create(police_unit=operator_mn.organisation.police_unit, **fields)
    assert action.municipality == Municipality.objects.get(code="GM0344")


def test_each_tip_is_counted_on_the_action(released):
    services.tip_submit(action=released, text="Gezien bij de brug.")
    services.tip_submit(action=released, text="Nu bij het station.")
    released.refresh_from_db()
    assert released.tips_counted == 2


def test_the_migration_fills_tip_counts_and_municipalities_of_existing_actions(released):
    import importlib

    from django.apps import apps

    name = "apps.actions.migrations.0013_tips_counted_and_municipality"
    migration = importlib.import_module(name)
    services.tip_submit(action=released, text="Gezien.")
    Action.objects.filter(pk=released.pk).update(tips_counted=0, municipality=None)

    migration.fill(apps, None)

    released.refresh_from_db()
    assert released.tips_counted == 1
    assert released.municipality == Municipality.objects.get(code="GM0344")
