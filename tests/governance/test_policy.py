"""The scope policy: may this user do this verb on this object, for every role × scope."""

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from apps.governance import policy
from apps.governance.models import AuditEntry, Municipality, Organisation, PostcodeArea, User
from apps.governance.policy import Scope, can
from apps.governance.roles import Role


def fresh(user):
    """The user as a new request would load it (scope and roles are cached per object)."""
    return User.objects.get(pk=user.pk)


def at(*municipalities) -> Scope:
    """Where an object (an action, a mailing) lies."""
    return Scope.of_municipalities(m.pk for m in municipalities)


@pytest.fixture
def oudewater(municipality):
    return municipality("GM0589")


@pytest.fixture
def amersfoort(municipality):
    return municipality("GM0307")


# Control room Midden-Nederland -----------------------------------------------------------


def test_it_lets_an_operator_act_in_its_own_region(operator_mn, woerden, amersfoort):
    assert can(operator_mn, "action.view", woerden)
    assert can(operator_mn, "action.manage", woerden)
    assert can(operator_mn, "action.manage", at(woerden, amersfoort))


def test_it_keeps_an_operator_out_of_another_region(operator_mn, amsterdam, woerden):
    assert not can(operator_mn, "action.view", amsterdam)
    assert not can(operator_mn, "action.manage", amsterdam)
    # An action reaching across the border of the region is not wholly its own.
    assert not can(operator_mn, "action.manage", at(woerden, amsterdam))


def test_it_gives_a_control_room_exactly_the_municipalities_of_its_unit(operator_mn):
    scope = policy.user_scope(operator_mn)
    expected = set(
        Municipality.objects.filter(police_unit__name="Midden-Nederland").values_list(
            "pk", flat=True
        )
    )
    assert not scope.nationwide
    assert scope.municipality_ids == expected
    assert len(expected) > 20


def test_it_denies_an_operator_amber_alerts_and_mail(operator_mn, woerden):
    assert not can(operator_mn, "action.amber")
    assert not can(operator_mn, "mailing.compose", woerden)
    assert not can(operator_mn, "participant.view", woerden)
    assert not can(operator_mn, "audit.view")


def test_it_does_not_treat_an_object_without_a_place_as_inside_a_region(operator_mn):
    assert not can(operator_mn, "action.manage", Scope())
    assert not can(operator_mn, "action.manage", Scope.nation())


# Control room Amsterdam ------------------------------------------------------------------


def test_it_lets_the_amsterdam_operator_act_in_amsterdam_only(operator_ams, amsterdam, woerden):
    assert can(operator_ams, "action.manage", amsterdam)
    assert not can(operator_ams, "action.manage", woerden)


# National unit ---------------------------------------------------------------------------


def test_it_lets_the_national_operator_act_nationwide(national_operator, woerden, amsterdam):
    assert policy.user_scope(national_operator).nationwide
    assert can(national_operator, "action.amber")
    assert can(national_operator, "action.amber", Scope.nation())
    assert can(national_operator, "action.manage", at(woerden, amsterdam))


def test_it_keeps_the_national_operator_out_of_mail(national_operator, woerden):
    assert not can(national_operator, "mailing.compose", woerden)
    assert not can(national_operator, "user.manage")


# Municipality ----------------------------------------------------------------------------


def test_it_lets_a_mail_author_write_for_its_own_municipality(woerden_author, woerden, utrecht):
    assert can(woerden_author, "mailing.compose", woerden)
    assert can(woerden_author, "mailing.responses", woerden)
    assert not can(woerden_author, "mailing.compose", utrecht)
    assert not can(woerden_author, "mailing.view", utrecht)


def test_it_keeps_approval_for_approvers(woerden_author, woerden_approver, woerden):
    assert not can(woerden_author, "mailing.approve", woerden)
    assert can(woerden_approver, "mailing.approve", woerden)
    assert not can(woerden_approver, "mailing.compose", woerden)


def test_it_denies_a_mail_author_actions_and_personal_data(woerden_author, woerden):
    assert not can(woerden_author, "action.view", woerden)
    assert not can(woerden_author, "participant.view", woerden)
    assert not can(woerden_author, "organisation.manage")


def test_it_lets_the_utrecht_author_write_for_utrecht_only(utrecht_author, utrecht, woerden):
    assert can(utrecht_author, "mailing.compose", utrecht)
    assert not can(utrecht_author, "mailing.compose", woerden)


# Police team -----------------------------------------------------------------------------


def test_it_lets_a_police_team_write_in_each_of_its_municipalities(
    police_team_user, woerden, oudewater, municipality
):
    montfoort = municipality("GM0335")
    assert can(police_team_user, "mailing.compose", woerden)
    assert can(police_team_user, "mailing.compose", oudewater)
    assert can(police_team_user, "mailing.compose", at(woerden, oudewater, montfoort))


def test_it_keeps_a_police_team_inside_its_area(police_team_user, woerden, utrecht):
    assert not can(police_team_user, "mailing.compose", utrecht)
    assert not can(police_team_user, "mailing.compose", at(woerden, utrecht))
    assert not can(police_team_user, "mailing.compose", Scope.nation())


# Organisations ---------------------------------------------------------------------------


def test_it_shows_staff_their_own_organisation_only(
    woerden_author, org_woerden, org_utrecht, operator_mn, org_control_room_mn
):
    assert can(woerden_author, "organisation.view", org_woerden)
    assert not can(woerden_author, "organisation.view", org_utrecht)
    # Even a control room whose region holds Utrecht does not see the municipality's staff.
    assert not can(operator_mn, "organisation.view", org_utrecht)
    assert list(policy.visible_organisations(woerden_author)) == [org_woerden]
    assert list(policy.visible_organisations(operator_mn)) == [org_control_room_mn]


# Manager ---------------------------------------------------------------------------------


def test_it_lets_a_manager_see_participants_and_organisations_nationwide(
    manager, woerden, amsterdam, org_utrecht, org_woerden
):
    assert policy.user_scope(manager).nationwide
    assert can(manager, "participant.view", amsterdam)
    assert can(manager, "participant.view", at(woerden, amsterdam))
    assert can(manager, "organisation.manage", org_utrecht)
    assert can(manager, "audit.view")
    assert set(policy.visible_organisations(manager)) >= {org_utrecht, org_woerden}


def test_it_does_not_let_a_manager_run_actions(manager, woerden):
    assert can(manager, "action.view", woerden)
    assert not can(manager, "action.manage", woerden)
    assert not can(manager, "action.amber")


def test_it_narrows_users_and_audit_of_a_manager_outside_management(
    make_staff_user, org_woerden, woerden_author, utrecht_author
):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    AuditEntry.objects.create(verb="x", organisation=org_woerden)
    AuditEntry.objects.create(verb="y", organisation=utrecht_author.organisation)

    assert set(policy.manageable_users(local_manager)) == {local_manager, woerden_author}
    assert list(policy.visible_audit_entries(local_manager).values_list("verb", flat=True)) == ["x"]


def test_it_lets_only_managers_manage_users(manager, woerden_author, utrecht_author):
    assert set(policy.manageable_users(manager)) >= {woerden_author, utrecht_author}
    assert not policy.manageable_users(woerden_author).exists()
    assert not policy.visible_audit_entries(woerden_author).exists()


# Users that may do nothing ---------------------------------------------------------------


def test_it_gives_a_user_without_organisation_nothing(make_staff_user, woerden):
    loner = make_staff_user("zonder-organisatie", None, [Role.OPERATOR, Role.MANAGER])

    assert not can(loner, "action.view")
    assert not can(loner, "action.manage", woerden)
    assert not can(loner, "audit.view")
    assert policy.user_scope(loner).is_empty
    assert not policy.visible_organisations(loner).exists()


def test_it_gives_staff_of_an_inactive_organisation_nothing(
    operator_mn, org_control_room_mn, woerden
):
    Organisation.objects.filter(pk=org_control_room_mn.pk).update(is_active=False)
    user = fresh(operator_mn)

    assert not policy.in_service(user)
    assert not can(user, "action.view")
    assert not can(user, "action.manage", woerden)
    assert not can(user, "organisation.view", org_control_room_mn)
    assert policy.user_scope(user).is_empty


def test_it_gives_an_inactive_user_nothing(manager, woerden):
    User.objects.filter(pk=manager.pk).update(is_active=False)
    user = fresh(manager)

    assert not can(user, "participant.view", woerden)
    assert not can(user, "audit.view")


def test_it_gives_a_user_without_roles_nothing(make_staff_user, org_woerden, woerden):
    nobody = make_staff_user("zonder-rol", org_woerden, [])

    assert not can(nobody, "mailing.view", woerden)
    assert not can(nobody, "organisation.view", org_woerden)


def test_it_gives_an_anonymous_visitor_nothing(woerden):
    from django.contrib.auth.models import AnonymousUser

    assert not can(AnonymousUser(), "mailing.view", woerden)
    assert policy.user_scope(AnonymousUser()).is_empty


def test_it_lets_a_superuser_do_everything(make_staff_user, woerden, amsterdam):
    root = make_staff_user("root", None, [], is_superuser=True)

    assert can(root, "action.amber")
    assert can(root, "action.manage", at(woerden, amsterdam))
    assert can(root, "participant.delete", Scope.nation())
    assert policy.visible_organisations(root).count() == Organisation.objects.count()


# The policy itself -----------------------------------------------------------------------


def test_it_raises_on_an_unknown_verb(manager, make_staff_user):
    root = make_staff_user("root", None, [], is_superuser=True)
    with pytest.raises(KeyError):
        can(manager, "action.launch")
    with pytest.raises(KeyError):
        can(root, "participant.export")


def test_it_raises_permission_denied_through_require(woerden_author, woerden, utrecht):
    policy.require(woerden_author, "mailing.compose", woerden)
    with pytest.raises(PermissionDenied):
        policy.require(woerden_author, "mailing.compose", utrecht)


def test_it_places_a_postcode_area_in_its_municipality(woerden_author, woerden, utrecht):
    in_woerden = PostcodeArea.objects.filter(municipality=woerden).first()
    in_utrecht = PostcodeArea.objects.filter(municipality=utrecht).first()

    assert can(woerden_author, "mailing.compose", in_woerden)
    assert not can(woerden_author, "mailing.compose", in_utrecht)


def test_it_refuses_an_object_whose_place_it_does_not_know(manager):
    with pytest.raises(TypeError):
        policy.scope_of(object())


def test_it_filters_querysets_by_scope(woerden_author, police_team_user, manager):
    municipalities = Municipality.objects.all()

    woerden_only = policy.user_scope(woerden_author).filter(municipalities, "pk")
    team = policy.user_scope(police_team_user).filter(municipalities, "pk")

    assert list(woerden_only.values_list("code", flat=True)) == ["GM0632"]
    assert sorted(team.values_list("code", flat=True)) == ["GM0335", "GM0589", "GM0632"]
    assert policy.user_scope(manager).filter(municipalities, "pk").count() == 342
    assert not Scope().filter(municipalities, "pk").exists()


# The role × capability table (docs/roles.md) -----------------------------------------------

ROLES_DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
ROLE_COLUMNS = {
    "operator": Role.OPERATOR,
    "national operator": Role.NATIONAL_OPERATOR,
    "mail author": Role.MAIL_AUTHOR,
    "mail approver": Role.MAIL_APPROVER,
    "manager": Role.MANAGER,
}


def documented_table() -> dict[tuple[Role, str], bool]:
    """The table of docs/roles.md: (role, verb) → may it."""
    lines = ROLES_DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| capability |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")][1:]
    table = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        verb, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        for name, cell in zip(header, cells, strict=True):
            assert cell in ("yes", "no"), line
            table[ROLE_COLUMNS[name], verb.strip("`")] = cell == "yes"
    return table


TABLE = documented_table()


def test_the_documented_table_is_the_policys_table():
    assert {verb for _role, verb in TABLE} == set(policy.VERBS)
    assert {role for role, _verb in TABLE} == set(Role)
    for (role, verb), allowed in TABLE.items():
        assert (role in policy.VERBS[verb]) == allowed, (role, verb)


@pytest.mark.parametrize(("role", "verb"), sorted(TABLE), ids=lambda v: str(v))
def test_each_role_may_do_what_the_table_says(make_staff_user, org_management, role, verb):
    # A country-wide organisation, so that only the role decides.
    user = make_staff_user(f"rol-{role}", org_management, [role])
    assert policy.has_role_for(user, verb) == TABLE[role, verb]
    assert can(user, verb, Scope.nation()) == TABLE[role, verb]


def test_a_manager_neither_writes_nor_approves_mailings(manager, make_staff_user, org_woerden):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    for user in (manager, local_manager):
        woerden = org_woerden.municipality
        assert can(user, "mailing.view", woerden) and can(user, "mailing.responses", woerden)
        assert not can(user, "mailing.compose", woerden)
        assert not can(user, "mailing.approve", woerden)


def test_shown_count_says_fewer_than_ten_below_ten():
    assert [policy.shown_count(n) for n in (0, 1, 9)] == ["minder dan 10"] * 3
    assert policy.shown_count(10) == 10
    assert policy.shown_count(12_345) == 12_345
