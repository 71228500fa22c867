"""Organisations and their people, with who changed what: scoped to what a manager may
see; changes made in the admin reach the history with their old and new values."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.governance import audit
from apps.governance.models import AuditEntry, Municipality
from apps.governance.roles import Role

LIST = reverse("governance:organisations")


def detail(organisation):
    return reverse("governance:organisation", args=[organisation.pk])


def admin_change(obj):
    return reverse(f"admin:governance_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def woerden_manager(make_staff_user, org_woerden):
    return make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])


def test_it_keeps_the_pages_from_staff_without_the_manager_role(
    staff_client, operator_mn, org_control_room_mn
):
    client = staff_client(operator_mn)

    assert client.get(LIST).status_code == 403
    assert client.get(detail(org_control_room_mn)).status_code == 403


def test_it_lists_every_organisation_to_a_nationwide_manager(
    staff_client, manager, org_woerden, org_utrecht
):
    response = staff_client(manager).get(LIST)

    assert {org_woerden, org_utrecht} <= set(response.context["organisations"])


def test_it_shows_a_municipal_manager_only_its_own_organisation(
    staff_client, woerden_manager, org_woerden, org_utrecht, utrecht_author
):
    client = staff_client(woerden_manager)

    listing = client.get(LIST)
    other = client.get(detail(org_utrecht))

    assert list(listing.context["organisations"]) == [org_woerden]
    assert other.status_code == 404
    assert "mail-utrecht" not in other.text


def test_it_shows_people_with_roles_but_no_secrets(
    staff_client, manager, woerden_author, woerden_approver, org_woerden
):
    from apps.governance.models import User

    User.objects.filter(pk=woerden_author.pk).update(
        first_name="Anna", last_name="de Vries", phone="0612345678"
    )

    response = staff_client(manager).get(detail(org_woerden))

    assert response.status_code == 200
    people = {p.username: p for p in response.context["people"]}
    assert people["mail-woerden"].roles == ["Mailauteur"]
    assert people["mail-woerden"].name == "Anna de Vries"
    assert people["goedkeurder-woerden"].roles == ["Mailgoedkeurder"]
    assert "0612345678" not in response.text
    assert "md5$" not in response.text  # no password hash
    assert "Gemeente" in response.text and "Woerden" in response.text


def test_it_shows_the_history_of_the_organisation_and_its_people_newest_first(
    staff_client, manager, woerden_author, org_woerden, org_utrecht, utrecht_author
):
    about_org = audit.record(verb="organisation.changed", actor=manager, target=org_woerden)
    about_user = audit.record(verb="user.changed", actor=manager, target=woerden_author)
    elsewhere = audit.record(verb="user.changed", actor=manager, target=utrecht_author)
    done_by_user = audit.record(verb="mailing.sent", actor=woerden_author)

    response = staff_client(manager).get(detail(org_woerden))

    ids = [e.pk for e in response.context["page"].object_list]
    assert ids == [about_user.pk, about_org.pk]
    assert elsewhere.pk not in ids and done_by_user.pk not in ids


def test_a_municipal_manager_sees_the_history_of_its_people_whoever_wrote_it(
    staff_client, woerden_manager, manager, woerden_author, utrecht_author, org_woerden
):
    by_national = audit.record(verb="user.changed", actor=manager, target=woerden_author)
    by_own = audit.record(verb="user.changed", actor=woerden_manager, target=woerden_author)
    about_org = audit.record(verb="organisation.changed", actor=manager, target=org_woerden)
    elsewhere = audit.record(verb="user.changed", actor=manager, target=utrecht_author)

    response = staff_client(woerden_manager).get(detail(org_woerden))

    ids = [e.pk for e in response.context["page"].object_list]
    assert by_own.pk in ids
    assert by_national.pk in ids  # a country-wide manager changed one of its people
    assert about_org.pk in ids
    assert elsewhere.pk not in ids


# Admin changes reach the history with what changed -----------------------------------------


def test_an_admin_change_to_an_organisation_records_old_and_new_values(
    staff_client, manager, org_woerden
):
    client = staff_client(manager)
    data = {
        "name": "Gemeente Woerden",
        "kind": "municipality",
        "municipality": org_woerden.municipality_id,
        "is_active": "on",
        # requires_mail_approval switched off
    }

    response = client.post(admin_change(org_woerden), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(verb="organisation.changed")
    assert entry.target_id == str(org_woerden.pk)
    assert {
        "field": "requires_mail_approval",
        "label": "Mailings vereisen goedkeuring",
        "old": True,
        "new": False,
    } in entry.detail["changes"]
    history = client.get(detail(org_woerden))
    assert entry.pk in [e.pk for e in history.context["page"].object_list]


def test_an_admin_role_change_records_the_roles_before_and_after(
    staff_client, manager, woerden_author, org_woerden, org_utrecht
):
    approver = Group.objects.get(name=Role.MAIL_APPROVER.value)
    data = {
        "username": "mail-woerden",
        "organisation": org_utrecht.pk,
        "groups": [approver.pk],
        "is_active": "on",
        "is_staff": "on",
        "phone": "0687654321",
    }

    response = staff_client(manager).post(admin_change(woerden_author), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    changes = {c["field"]: c for c in AuditEntry.objects.get(verb="user.changed").detail["changes"]}
    assert (changes["groups"]["old"], changes["groups"]["new"]) == (
        ["Mailauteur"],
        ["Mailgoedkeurder"],
    )
    assert (changes["organisation"]["old"], changes["organisation"]["new"]) == (
        "Gemeente Woerden",
        "Gemeente Utrecht",
    )
    # A private number: only that it changed.
    assert changes["phone"] == {"field": "phone", "label": "Eigen mobiel nummer", "hidden": True}
    assert "0687654321" not in str(AuditEntry.objects.get(verb="user.changed").detail)


def test_an_admin_password_change_is_audited_without_the_password(
    staff_client, manager, woerden_author
):
    url = reverse("admin:auth_user_password_change", args=[woerden_author.pk])
    secret = "een-ander-lang-wachtwoord-77"

    response = staff_client(manager).post(url, {"password1": secret, "password2": secret})

    assert response.status_code == 302
    entry = AuditEntry.objects.get(verb="user.changed", target_id=str(woerden_author.pk))
    assert secret not in str(entry.detail)
    assert entry.detail["changes"] == [{"field": "password", "hidden": True}]


def test_an_admin_addition_records_the_new_values(staff_client, manager, org_woerden):
    author = Group.objects.get(name=Role.MAIL_AUTHOR.value)
    secret = "een-heel-lang-wachtwoord-42"

    staff_client(manager).post(
        reverse("admin:governance_user_add"),
        {
            "username": "nieuw",
            "usable_password": "true",
            "password1": secret,
            "password2": secret,
            "organisation": org_woerden.pk,
            "groups": [author.pk],
            "is_staff": "on",
        },
    )

    entry = AuditEntry.objects.get(verb="user.added")
    changes = {c["field"]: c for c in entry.detail["changes"]}
    assert changes["organisation"] == {
        "field": "organisation",
        "label": "Organisatie",
        "old": None,
        "new": "Gemeente Woerden",
    }
    assert changes["groups"]["new"] == ["Mailauteur"]
    assert secret not in str(entry.detail)


def test_an_admin_change_of_inhabitants_records_old_and_new(staff_client, manager, woerden):
    Municipality.objects.filter(pk=woerden.pk).update(inhabitants=50_000)
    woerden.refresh_from_db()
    data = {
        "name": woerden.name,
        "province": woerden.province_id,
        "safety_region": woerden.safety_region_id,
        "police_unit": woerden.police_unit_id,
        "inhabitants": "52341",
        "lat": woerden.lat or "",
        "lon": woerden.lon or "",
    }

    response = staff_client(manager).post(admin_change(woerden), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(verb="municipality.changed")
    changes = {c["field"]: c for c in entry.detail["changes"]}
    assert (changes["inhabitants"]["old"], changes["inhabitants"]["new"]) == (50_000, 52_341)


def test_an_admin_change_to_an_authenticator_is_history_of_its_user(
    staff_client, manager, operator_mn, org_control_room_mn
):
    from apps.governance import totp

    device = totp.confirmed_devices(operator_mn).get()
    client = staff_client(manager)
    data = {
        "user": operator_mn.pk,
        "name": "telefoon van het werk",
        "confirmed": "on",
        "step": device.step,
        "t0": device.t0,
        "digits": device.digits,
        "tolerance": device.tolerance,
        "drift": device.drift,
        "throttling_failure_count": 0,
    }

    changed = client.post(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]), data)
    deleted = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )

    assert changed.status_code == deleted.status_code == 302
    entries = AuditEntry.objects.filter(
        target_type="governance.user", target_id=str(operator_mn.pk)
    )
    verbs = list(entries.values_list("verb", flat=True).order_by("id"))
    assert verbs == ["user.authenticator_changed", "user.authenticator_deleted"]
    change = entries.get(verb="user.authenticator_changed").detail["changes"]
    assert {
        "field": "name",
        "label": "Name",
        "old": device.name,
        "new": "telefoon van het werk",
    } in change
    assert device.key not in str(list(entries.values_list("detail", flat=True)))
    history = client.get(detail(org_control_room_mn))
    assert len(history.context["page"].object_list) == 2
