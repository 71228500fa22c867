"""Management commands: sync_roles, load_demo and totp_code."""

import time
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.governance import demo, totp
from apps.governance.models import Organisation, User
from apps.governance.roles import ROLE_PERMISSIONS, Role


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def snapshot():
    """Everything load_demo writes, as plain values."""
    users = [
        (
            u.username,
            u.password,
            u.organisation_id,
            u.first_name,
            u.is_staff,
            u.is_active,
            sorted(u.groups.values_list("name", flat=True)),
        )
        for u in User.objects.order_by("username")
    ]
    organisations = list(
        Organisation.objects.order_by("name").values_list(
            "pk", "name", "kind", "police_unit_id", "municipality_id", "requires_mail_approval"
        )
    )
    teams = sorted(Organisation.municipalities.through.objects.values_list("pk", "organisation_id"))
    devices = list(
        TOTPDevice.objects.order_by("pk").values_list("pk", "user_id", "key", "confirmed")
    )
    groups = sorted(
        (g.name, sorted(g.permissions.values_list("codename", flat=True)))
        for g in Group.objects.all()
    )
    return users, organisations, teams, devices, groups


# sync_roles ------------------------------------------------------------------------------


def test_it_gives_each_role_exactly_its_permissions(geography):
    manager = Group.objects.get(name=Role.MANAGER.value)
    manager.permissions.add(Permission.objects.get(codename="delete_auditentry"))

    run("sync_roles")

    codenames = set(manager.permissions.values_list("content_type__app_label", "codename"))
    assert ("governance", "delete_auditentry") not in codenames
    assert ("governance", "view_auditentry") in codenames
    assert ("otp_totp", "add_totpdevice") in codenames
    assert Group.objects.filter(name__in=[r.value for r in ROLE_PERMISSIONS]).count() == 5


# load_demo -------------------------------------------------------------------------------


def test_it_loads_the_demo_users_and_prints_their_log_ins(geography, settings):
    settings.DEBUG = True

    output = run("load_demo")

    for spec in demo.USERS:
        user = User.objects.get(username=spec.username)
        assert user.check_password(demo.DEMO_PASSWORD)
        assert user.organisation.name == spec.organisation
        assert spec.username in output
        device = totp.confirmed_devices(user).get()
        assert totp.secret_base32(device) in output
    assert demo.DEMO_PASSWORD in output


def test_it_builds_the_demo_organisations_with_their_scope(geography, settings):
    settings.DEBUG = True
    run("load_demo")

    woerden = Organisation.objects.get(name="Gemeente Woerden")
    team = Organisation.objects.get(name="Politieteam Woerden-Oudewater-Montfoort")
    control_room = Organisation.objects.get(name="Meldkamer Midden-Nederland")
    assert woerden.requires_mail_approval
    assert woerden.municipality.code == "GM0632"
    assert not Organisation.objects.get(name="Gemeente Utrecht").requires_mail_approval
    assert sorted(team.municipalities.values_list("name", flat=True)) == [
        "Montfoort",
        "Oudewater",
        "Woerden",
    ]
    assert control_room.police_unit.name == "Midden-Nederland"
    assert set(User.objects.get(username="beheerder").groups.values_list("name", flat=True)) == {
        Role.MANAGER.value
    }


def test_it_loads_the_demo_twice_without_changing_anything(geography, settings):
    settings.DEBUG = True
    run("load_demo")
    first = snapshot()

    run("load_demo")

    assert snapshot() == first


def test_it_repairs_a_changed_demo_user(geography, settings):
    settings.DEBUG = True
    run("load_demo")
    user = User.objects.get(username="mail-woerden")
    user.set_password("iets-anders-12345")
    user.save()
    user.groups.clear()

    run("load_demo")

    user.refresh_from_db()
    assert user.check_password(demo.DEMO_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [Role.MAIL_AUTHOR.value]


def test_it_refuses_to_load_the_demo_without_debug(geography, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        run("load_demo")
    assert not User.objects.filter(username="beheerder").exists()


def test_it_finds_each_apps_demo_module(geography):
    from apps.governance.management.commands.load_demo import demo_modules

    assert demo in list(demo_modules())


# totp_code -------------------------------------------------------------------------------


def test_it_prints_the_current_code(operator_mn, settings):
    settings.DEBUG = True
    device = totp.confirmed_devices(operator_mn).get()

    code = run("totp_code", "operator-mn").strip()

    now = time.time()
    assert code in {totp.code_at(device, now + s) for s in (-30, 0)}
    assert device.verify_token(code)


def test_it_refuses_to_print_a_code_without_debug(operator_mn, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        run("totp_code", "operator-mn")


def test_it_names_an_unknown_user(geography, settings):
    settings.DEBUG = True

    with pytest.raises(CommandError, match="niemand"):
        run("totp_code", "niemand")
