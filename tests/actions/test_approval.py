"""Two people for national alerts (actions/approval.py): an AMBER Alert, and each kind a
manager marks, goes out only once a second national operator approved the version they
saw; the console's screens and verbs for it; the managers' rules in the admin."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.actions import approval, services
from apps.actions.models import (
    Action,
    ActionApproval,
    ApprovalRule,
    PersonDescription,
    VehicleDescription,
)
from apps.channels.models import OutgoingMessage
from apps.governance.models import AuditEntry
from apps.governance.roles import Role

from .conftest import action_fields, release

pytestmark = pytest.mark.django_db


def audit_entries(action, verb):
    return AuditEntry.objects.filter(
        target_type="actions.action", target_id=str(action.pk), verb=verb
    )


def nothing_sent(action) -> bool:
    action.refresh_from_db()
    return (
        action.state == Action.State.DRAFT
        and action.release_message_id is None
        and not OutgoingMessage.objects.exists()
    )


@pytest.fixture
def amber(national_operator, photo):
    """An AMBER Alert drafted by the national operator "landelijk"."""
    return services.action_create(
        by=national_operator,
        persons=[{"sex": "female", "age": "6", "clothing": "roze jas"}],
        **action_fields(kind="amber_alert", title="AMBER Alert: Sanne (6)", photo=photo),
    )


@pytest.fixture
def second(second_national_operator):
    return second_national_operator


@pytest.fixture
def submitted(amber, national_operator):
    approval.action_submit(action=amber, by=national_operator)
    return amber


def approve(action, by):
    """Approve the version as it stands (as the approver's page shows it)."""
    return approval.action_approve(action=action, by=by, version=approval.action_version(action))


# Submitting ------------------------------------------------------------------------------------


def test_it_submits_an_amber_alert_without_sending_it(amber, national_operator):
    request = approval.action_submit(action=amber, by=national_operator)

    assert request.state == ActionApproval.State.SUBMITTED
    assert request.submitted_by == national_operator
    assert request.version == approval.action_version(amber)
    assert approval.pending(amber) == request
    assert nothing_sent(amber)
    assert audit_entries(amber, "action.submitted").get().actor == national_operator


def test_it_refuses_a_second_submission_and_one_that_could_not_be_released(
    submitted, national_operator
):
    with pytest.raises(ValidationError, match="al ter goedkeuring"):
        approval.action_submit(action=submitted, by=national_operator)
    no_photo = services.action_create(by=national_operator, **action_fields(kind="amber_alert"))
    with pytest.raises(ValidationError, match="foto"):
        approval.action_submit(action=no_photo, by=national_operator)
    assert not no_photo.approvals.exists()
    assert ActionApproval.objects.count() == 1


def test_it_lets_only_who_may_manage_the_action_submit_it(amber, operator_mn, manager):
    for user in (operator_mn, manager):
        with pytest.raises(PermissionDenied):
            approval.action_submit(action=amber, by=user)
    assert not amber.approvals.exists()


# Approving -------------------------------------------------------------------------------------


def test_a_second_national_operator_approves_and_so_releases_it(
    submitted, national_operator, second
):
    sent = approve(submitted, second)

    submitted.refresh_from_db()
    assert submitted.state == Action.State.RELEASED
    assert submitted.release_message == sent.message
    request = submitted.approvals.get()
    assert request.state == ActionApproval.State.APPROVED
    assert request.decided_by == second
    released = audit_entries(submitted, "action.released").get()
    assert released.actor == second
    approved = audit_entries(submitted, "action.approved").get()
    assert approved.actor == second
    assert approved.detail["submitted_by"] == national_operator.get_username()
    assert approval.pending(submitted) is None


def test_it_refuses_the_submitters_own_approval(submitted, national_operator):
    with pytest.raises(PermissionDenied) as refused:
        approve(submitted, national_operator)

    assert "tweede landelijk operator" in str(refused.value)
    assert nothing_sent(submitted)
    assert approval.pending(submitted) is not None
    assert not audit_entries(submitted, "action.approved").exists()


def test_it_refuses_the_maker_who_had_someone_else_submit_it(
    amber, national_operator, second, make_staff_user, org_national_unit
):
    third = make_staff_user("landelijk-3", org_national_unit, [Role.NATIONAL_OPERATOR])
    approval.action_submit(action=amber, by=second)

    with pytest.raises(PermissionDenied):
        approve(amber, national_operator)  # made it
    with pytest.raises(PermissionDenied):
        approve(amber, second)  # submitted it
    approve(amber, third)
    amber.refresh_from_db()
    assert amber.state == Action.State.RELEASED


def test_one_person_may_approve_their_own_exercise(national_operator, photo):
    exercise = services.action_create(
        by=national_operator, **action_fields(kind="amber_alert", is_exercise=True, photo=photo)
    )
    with pytest.raises(ValidationError):
        services.action_release(action=exercise, by=national_operator)  # still needs approval

    approval.action_submit(action=exercise, by=national_operator)
    approve(exercise, national_operator)

    exercise.refresh_from_db()
    assert exercise.state == Action.State.RELEASED
    assert audit_entries(exercise, "action.approved").get().detail["exercise"] is True


def test_a_regional_operator_cannot_approve(
    submitted, operator_mn, manager, make_staff_user, org_control_room_mn
):
    # A national operator's role in a regional organisation is not enough either.
    regional_national = make_staff_user(
        "regio-landelijk", org_control_room_mn, [Role.NATIONAL_OPERATOR]
    )
    for user in (operator_mn, manager, regional_national):
        with pytest.raises(PermissionDenied):
            approve(submitted, user)
        with pytest.raises(PermissionDenied):
            approval.action_return(action=submitted, by=user, reason="Nee")
    assert nothing_sent(submitted)
    assert approval.pending(submitted) is not None


def _change_title(action):
    Action.objects.filter(pk=action.pk).update(title="AMBER Alert: Sanne (7)")


def _change_text(action):
    Action.objects.filter(pk=action.pk).update(text="Gezien bij het station.")


def _change_photo(action):
    Action.objects.filter(pk=action.pk).update(photo="actions/een-andere.png")


def _move_point(action):
    Action.objects.filter(pk=action.pk).update(lat=action.lat + 0.01)


def _change_radius(action):
    Action.objects.filter(pk=action.pk).update(radius_m=action.radius_m + 100)


def _change_kind(action):
    Action.objects.filter(pk=action.pk).update(kind=Action.Kind.MISSING_CHILD)


def _make_exercise(action):
    Action.objects.filter(pk=action.pk).update(is_exercise=True)


def _change_time_critical(action):
    Action.objects.filter(pk=action.pk).update(is_time_critical=False)


def _change_person(action):
    PersonDescription.objects.filter(action=action).update(clothing="blauwe jas")


def _add_vehicle(action):
    VehicleDescription.objects.create(action=action, colour="rood", licence_plate="XX-12-YY")


@pytest.mark.parametrize(
    "change",
    [
        _change_title,
        _change_text,
        _change_photo,
        _move_point,
        _change_radius,
        _change_kind,
        _make_exercise,
        _change_time_critical,
        _change_person,
        _add_vehicle,
    ],
)
def test_it_refuses_a_version_changed_since_the_approver_opened_it(submitted, second, change):
    seen = approval.action_version(submitted)  # the approver's page
    change(submitted)

    with pytest.raises(ValidationError) as refused:
        approval.action_approve(action=submitted, by=second, version=seen)

    assert refused.value.code == "changed"
    assert "gewijzigd sinds u haar opende" in refused.value.messages[0]
    assert nothing_sent(submitted)
    assert approval.pending(submitted) is not None


def test_it_refuses_a_version_other_than_the_one_submitted(submitted, second):
    _change_text(submitted)  # behind the services' back, after submitting

    with pytest.raises(ValidationError, match="nadat zij werd ingediend"):
        approve(submitted, second)  # the version the approver sees now
    assert nothing_sent(submitted)


def test_editing_a_submitted_draft_withdraws_it(submitted, national_operator, second):
    seen = approval.action_version(submitted)
    submitted.title = "AMBER Alert: Sanne (7)"
    services.action_save_draft(action=submitted, by=national_operator, changed=["title"])

    request = submitted.approvals.get()
    assert request.state == ActionApproval.State.WITHDRAWN
    assert audit_entries(submitted, "action.withdrawn").get().detail["edited"] is True
    with pytest.raises(ValidationError, match="wacht niet"):
        approval.action_approve(action=submitted, by=second, version=seen)
    assert nothing_sent(submitted)


def test_the_submitter_withdraws_a_request(submitted, national_operator, second):
    approval.action_withdraw(action=submitted, by=national_operator)

    assert approval.pending(submitted) is None
    with pytest.raises(ValidationError):
        approve(submitted, second)
    with pytest.raises(ValidationError):
        approval.action_withdraw(action=submitted, by=national_operator)
    approval.action_submit(action=submitted, by=national_operator)  # again, later
    assert approval.pending(submitted) is not None


def test_two_approvers_at_once_release_it_once(
    submitted, second, make_staff_user, org_national_unit
):
    third = make_staff_user("landelijk-3", org_national_unit, [Role.NATIONAL_OPERATOR])
    seen = approval.action_version(submitted)  # both opened the same page
    approval.action_approve(action=submitted, by=second, version=seen)

    with pytest.raises(ValidationError, match="wacht niet"):
        approval.action_approve(action=Action.objects.get(pk=submitted.pk), by=third, version=seen)
    assert OutgoingMessage.objects.count() == 1
    assert audit_entries(submitted, "action.released").count() == 1


# Returning -------------------------------------------------------------------------------------


def test_it_returns_it_with_a_reason_and_refuses_an_empty_one(submitted, national_operator, second):
    for reason in ("", "   ", "\u200b"):
        with pytest.raises(ValidationError) as refused:
            approval.action_return(action=submitted, by=second, reason=reason)
        assert "reason" in refused.value.error_dict
    assert approval.pending(submitted) is not None

    approval.action_return(action=submitted, by=second, reason="De foto is van een ander kind.")

    request = submitted.approvals.get()
    assert request.state == ActionApproval.State.RETURNED
    assert request.reason == "De foto is van een ander kind."
    assert request.decided_by == second
    assert nothing_sent(submitted)
    entry = audit_entries(submitted, "action.returned").get()
    assert "foto" not in str(entry.detail)  # the reason stays off the trail
    approval.action_submit(action=submitted, by=national_operator)  # back to the submitter


def test_it_refuses_a_return_by_the_submitter(submitted, national_operator):
    with pytest.raises(PermissionDenied):
        approval.action_return(action=submitted, by=national_operator, reason="Toch niet")


# No path around it -----------------------------------------------------------------------------


def test_a_direct_release_of_an_unapproved_amber_alert_is_refused(amber, national_operator, second):
    with pytest.raises(ValidationError, match="goedkeuring"):
        services.action_release(action=amber, by=national_operator)
    approval.action_submit(action=amber, by=national_operator)
    for user in (national_operator, second):
        with pytest.raises(ValidationError, match="goedkeuring"):
            services.action_release(action=amber, by=user)
    assert nothing_sent(amber)


def test_a_kind_a_manager_marks_needs_approval(draft_mn, operator_mn, manager, national_operator):
    approval.approval_rule_add(kind="missing_person", by=manager)

    with pytest.raises(ValidationError, match="goedkeuring"):
        services.action_release(action=draft_mn, by=operator_mn)
    approval.action_submit(action=draft_mn, by=operator_mn)
    approve(draft_mn, national_operator)

    draft_mn.refresh_from_db()
    assert draft_mn.state == Action.State.RELEASED
    entry = AuditEntry.objects.get(verb="approval_rule.added")
    assert entry.actor == manager and entry.detail == {"kind": "missing_person"}


def test_unmarked_kinds_release_as_before(draft_mn, operator_mn, manager):
    approval.approval_rule_add(kind="robbery", by=manager)

    with pytest.raises(ValidationError, match="geen goedkeuring nodig"):
        approval.action_submit(action=draft_mn, by=operator_mn)
    assert release(draft_mn, operator_mn).state == Action.State.RELEASED


def test_only_a_country_wide_manager_sets_the_rules_and_amber_stays_marked(
    manager, operator_mn, national_operator, make_staff_user, org_woerden
):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    for user in (local_manager, operator_mn, national_operator):
        with pytest.raises(PermissionDenied):
            approval.approval_rule_add(kind="missing_child", by=user)
    with pytest.raises(ValidationError, match="altijd"):
        approval.approval_rule_add(kind="amber_alert", by=manager)
    rule = approval.approval_rule_add(kind="missing_child", by=manager)
    with pytest.raises(ValidationError):
        approval.approval_rule_add(kind="missing_child", by=manager)
    with pytest.raises(PermissionDenied):
        approval.approval_rule_remove(rule=rule, by=local_manager)

    approval.approval_rule_remove(rule=rule, by=manager)

    assert not ApprovalRule.objects.exists()
    assert approval.kinds_needing_approval() == {"amber_alert"}
    assert AuditEntry.objects.filter(verb="approval_rule.removed", actor=manager).exists()


# The console -----------------------------------------------------------------------------------


def url(name, action):
    return reverse(f"console:{name}", args=[action.pk])


def test_the_operator_submits_from_the_console(staff_client, amber, national_operator):
    client = staff_client(national_operator)
    page = client.get(url("detail", amber)).content.decode()
    assert 'id="submit-form"' in page and 'id="release-form"' not in page

    response = client.post(url("submit", amber))

    assert response.status_code == 302
    assert approval.pending(amber).submitted_by == national_operator
    page = client.get(url("detail", amber)).content.decode()
    assert 'id="approval-state"' in page and 'id="withdraw-form"' in page
    assert 'id="approve-form"' not in page  # not their own
    assert client.get(url("submit", amber)).status_code == 405


def test_the_consoles_release_button_cannot_send_an_unapproved_amber_alert(
    staff_client, submitted, second
):
    response = staff_client(second).post(url("release", submitted), {"confirm": "yes"})

    assert response.status_code == 400
    assert "goedkeuring door een tweede landelijk operator" in response.content.decode()
    assert nothing_sent(submitted)


def test_the_second_operator_sees_it_waiting_and_exactly_what_goes_out(
    staff_client, submitted, second
):
    client = staff_client(second)
    overview = client.get(reverse("console:index")).content.decode()
    waiting = overview.split('id="awaiting-section"')[1].split("</section>")[0]
    assert "AMBER Alert: Sanne (6)" in waiting and "wacht op goedkeuring" in waiting
    assert "AMBER Alert: Sanne (6)" in client.get(reverse("console:awaiting")).content.decode()

    page = client.get(url("detail", submitted)).content.decode()
    assert 'id="approve-form"' in page and 'id="return-form"' in page
    assert f'name="version" value="{approval.action_version(submitted)}"' in page
    preview = page.split('id="approval-preview"')[1].split("</section>")[0]
    assert "Burgernet: AMBER Alert: Sanne (6)" in preview
    assert "roze jas" in preview and "Bel 0800-0011" in preview
    assert not OutgoingMessage.objects.exists()  # the preview was not kept


def test_the_second_operator_approves_in_the_console(staff_client, submitted, second):
    client = staff_client(second)
    version = approval.action_version(submitted)

    unconfirmed = client.post(url("approve", submitted), {"version": version})
    assert unconfirmed.status_code == 400 and nothing_sent(submitted)
    response = client.post(url("approve", submitted), {"version": version, "confirm": "yes"})

    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == Action.State.RELEASED


def test_the_console_refuses_a_changed_version_in_dutch(staff_client, submitted, second):
    client = staff_client(second)
    version = approval.action_version(submitted)
    _change_title(submitted)

    response = client.post(url("approve", submitted), {"version": version, "confirm": "yes"})

    assert response.status_code == 409
    assert "gewijzigd sinds u haar opende" in response.content.decode()
    assert nothing_sent(submitted)


def test_the_console_refuses_the_submitter_and_outsiders(
    staff_client, submitted, national_operator, operator_ams
):
    version = approval.action_version(submitted)
    own = staff_client(national_operator).post(
        url("approve", submitted), {"version": version, "confirm": "yes"}
    )
    assert own.status_code == 403
    outsider = staff_client(operator_ams).post(
        url("approve", submitted), {"version": version, "confirm": "yes"}
    )
    assert outsider.status_code == 403
    returned = staff_client(operator_ams).post(url("return", submitted), {"reason": "x"})
    assert returned.status_code == 403
    assert nothing_sent(submitted)


def test_the_second_operator_returns_it_and_the_submitter_reads_why(
    staff_client, submitted, national_operator, second
):
    client = staff_client(second)
    version = approval.action_version(submitted)

    empty = client.post(url("return", submitted), {"reason": " ", "version": version})
    assert empty.status_code == 400 and approval.pending(submitted) is not None
    assert "Schrijf waarom" in empty.content.decode()
    response = client.post(
        url("return", submitted), {"reason": "Verkeerde foto.", "version": version}
    )

    assert response.status_code == 302
    page = staff_client(national_operator).get(url("detail", submitted)).content.decode()
    assert 'id="approval-returned"' in page and "Verkeerde foto." in page
    assert 'id="submit-form"' in page


# The managers' rules in the admin --------------------------------------------------------------


RULES = reverse("admin:actions_approvalrule_changelist")
ADD_RULE = reverse("admin:actions_approvalrule_add")


def test_a_manager_marks_a_kind_in_the_admin_but_never_unmarks_amber(staff_client, manager):
    client = staff_client(manager)
    form = client.get(ADD_RULE).content.decode()
    assert 'value="missing_child"' in form and 'value="amber_alert"' not in form

    response = client.post(ADD_RULE, {"kind": "missing_child"})
    assert response.status_code == 302
    rule = ApprovalRule.objects.get()
    assert rule.changed_by == manager
    assert AuditEntry.objects.filter(verb="approval_rule.added").exists()
    assert client.post(ADD_RULE, {"kind": "amber_alert"}).status_code == 200  # refused
    delete = reverse("admin:actions_approvalrule_delete", args=[rule.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not ApprovalRule.objects.exists()
    assert AuditEntry.objects.filter(verb="approval_rule.removed").exists()


def test_staff_other_than_country_wide_managers_cannot_touch_the_rules(
    staff_client, operator_mn, national_operator, make_staff_user, org_woerden
):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER], is_staff=True)
    for user in (local_manager, operator_mn, national_operator):
        client = staff_client(user)
        assert client.get(RULES).status_code == 403
        assert client.post(ADD_RULE, {"kind": "missing_child"}).status_code == 403
    assert not ApprovalRule.objects.exists()


def test_the_admin_shows_an_actions_requests_for_approval(staff_client, submitted, second):
    change = reverse("admin:actions_action_change", args=[submitted.pk])
    page = staff_client(second).get(change)

    assert page.status_code == 200
    assert "ter goedkeuring: landelijk (" in page.content.decode()


def test_the_list_of_running_actions_and_drafts_marks_a_submitted_draft(
    staff_client, submitted, national_operator
):
    page = staff_client(national_operator).get(reverse("console:active")).content.decode()
    row = page.split("AMBER Alert: Sanne (6)")[0].rsplit("<tr", 1)[1]
    assert "wacht op goedkeuring" in row
    approval.action_withdraw(action=submitted, by=national_operator)
    page = staff_client(national_operator).get(reverse("console:active")).content.decode()
    row = page.split("AMBER Alert: Sanne (6)")[0].rsplit("<tr", 1)[1]
    assert "wacht op goedkeuring" not in row and "concept" in row
