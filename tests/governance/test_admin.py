"""The admin, restricted by role (groups) and narrowed by scope (policy)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.governance import totp
from apps.governance.admin_scope import ScopedAdminMixin
from apps.governance.models import AuditEntry, Municipality, Organisation, User
from apps.governance.roles import Role

GOVERNANCE_MODELS = [
    "province",
    "safetyregion",
    "policeunit",
    "municipality",
    "postcodearea",
    "organisation",
    "user",
    "auditentry",
]


def changelist(model, app="governance"):
    return reverse(f"admin:{app}_{model}_changelist")


def change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def is_missing(response) -> bool:
    """The admin's answer for an object outside the user's queryset."""
    return response.status_code == 302 and response.url == reverse("admin:index")


# Every model has an admin ----------------------------------------------------------------


@pytest.mark.parametrize("model", GOVERNANCE_MODELS)
def test_it_shows_every_governance_model_to_a_manager(staff_client, manager, model):
    response = staff_client(manager).get(changelist(model))

    assert response.status_code == 200


@pytest.mark.parametrize("model", GOVERNANCE_MODELS)
def test_it_searches_and_filters_every_governance_model(staff_client, manager, model):
    from django.apps import apps
    from django.contrib import admin

    model_admin = admin.site._registry[apps.get_model("governance", model)]
    assert model_admin.search_fields
    # A province has nothing but its name to filter on.
    assert model_admin.list_filter or model == "province"
    response = staff_client(manager).get(changelist(model), {"q": "Woerden"})
    assert response.status_code == 200


def test_it_keeps_the_admin_closed_without_second_factor(staff_client, manager):
    response = staff_client(manager, verified=False).get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_it_keeps_the_admin_closed_to_staff_of_an_inactive_organisation(
    staff_client, manager, org_management
):
    Organisation.objects.filter(pk=org_management.pk).update(is_active=False)

    response = staff_client(manager).get(reverse("admin:index"))

    assert response.status_code == 302


# Scope: a municipality's staff ------------------------------------------------------------


def test_it_shows_a_municipality_user_only_its_own_organisation(
    staff_client, woerden_author, org_woerden, org_utrecht
):
    response = staff_client(woerden_author).get(changelist("organisation"))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [org_woerden]
    assert "Gemeente Utrecht" not in response.text


def test_it_does_not_open_another_municipalitys_organisation(
    staff_client, woerden_author, org_utrecht
):
    client = staff_client(woerden_author)

    response = client.get(change(org_utrecht))

    assert is_missing(response)
    follow = client.get(response.url)
    assert "bestaat niet" in follow.text or "does not exist" in follow.text


def test_it_opens_its_own_organisation_read_only(staff_client, woerden_author, org_woerden):
    client = staff_client(woerden_author)

    response = client.get(change(org_woerden))

    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    client.post(change(org_woerden), {"name": "Gekaapt", "kind": "municipality"})
    org_woerden.refresh_from_db()
    assert org_woerden.name == "Gemeente Woerden"


def test_it_does_not_open_another_municipality(staff_client, woerden_author, woerden, utrecht):
    client = staff_client(woerden_author)

    listing = client.get(changelist("municipality"))

    assert list(listing.context["cl"].result_list) == [woerden]
    assert client.get(change(woerden)).status_code == 200
    assert is_missing(client.get(change(utrecht)))


def test_it_shows_a_control_room_the_municipalities_of_its_region(
    staff_client, operator_mn, woerden, amsterdam
):
    client = staff_client(operator_mn)

    listing = client.get(changelist("municipality"), {"q": "Woerden"})

    assert list(listing.context["cl"].result_list) == [woerden]
    assert is_missing(client.get(change(amsterdam)))


def test_it_keeps_users_and_audit_from_non_managers(staff_client, woerden_author):
    client = staff_client(woerden_author)

    assert client.get(changelist("user")).status_code == 403
    assert client.get(changelist("auditentry")).status_code == 403
    assert client.get(changelist("totpdevice", "otp_totp")).status_code == 403
    index = client.get(reverse("admin:index"))
    assert changelist("auditentry") not in index.text
    assert changelist("user") not in index.text


def test_it_lists_only_what_a_role_may_see_on_the_index(staff_client, woerden_author):
    index = staff_client(woerden_author).get(reverse("admin:index"))

    assert changelist("organisation") in index.text
    assert changelist("municipality") in index.text
    assert changelist("postcodearea") not in index.text


# Managers --------------------------------------------------------------------------------


def test_it_lets_a_manager_see_every_organisation(
    staff_client, manager, org_woerden, org_utrecht, org_control_room_mn
):
    response = staff_client(manager).get(changelist("organisation"))

    shown = set(response.context["cl"].result_list)
    assert {org_woerden, org_utrecht, org_control_room_mn} <= shown


def test_it_lets_a_manager_add_an_organisation_and_checks_its_kind(staff_client, manager):
    client = staff_client(manager)
    url = reverse("admin:governance_organisation_add")

    refused = client.post(url, {"name": "Meldkamer Zonder Eenheid", "kind": "control_room"})
    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["police_unit"]
    assert not Organisation.objects.filter(name="Meldkamer Zonder Eenheid").exists()


def test_it_lets_a_manager_add_staff_with_organisation_and_roles(
    staff_client, manager, org_woerden
):
    client = staff_client(manager)
    author = Group.objects.get(name=Role.MAIL_AUTHOR.value)

    response = client.post(
        reverse("admin:governance_user_add"),
        {
            "username": "nieuwe-auteur",
            "usable_password": "true",
            "password1": "een-heel-lang-wachtwoord-42",
            "password2": "een-heel-lang-wachtwoord-42",
            "organisation": org_woerden.pk,
            "groups": [author.pk],
            "is_staff": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="nieuwe-auteur")
    assert user.organisation == org_woerden
    assert list(user.groups.all()) == [author]
    listing = client.get(changelist("user"), {"q": "nieuwe-auteur"})
    assert "Gemeente Woerden" in listing.text
    assert "Mailauteur" in listing.text
    entry = AuditEntry.objects.get(verb="user.added")
    assert (entry.actor, entry.target_id) == (manager, str(user.pk))
    assert "een-heel-lang-wachtwoord-42" not in str(entry.detail)


def test_it_writes_a_role_change_to_the_audit_trail(
    staff_client, manager, woerden_author, org_woerden
):
    approver = Group.objects.get(name=Role.MAIL_APPROVER.value)
    client = staff_client(manager)
    data = {
        "username": "mail-woerden",
        "organisation": org_woerden.pk,
        "groups": [approver.pk],
        "is_active": "on",
        "is_staff": "on",
    }

    response = client.post(change(woerden_author), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(woerden_author.groups.all()) == [approver]
    entry = AuditEntry.objects.get(verb="user.changed")
    assert entry.target_id == str(woerden_author.pk)
    assert entry.detail["fields"] == [{"changed": {"fields": ["rollen"]}}]
    assert entry.detail["changes"] == [
        {"field": "groups", "label": "rollen", "old": ["Mailauteur"], "new": ["Mailgoedkeurder"]}
    ]


def test_it_offers_only_role_groups_by_their_labels(staff_client, manager, woerden_author):
    Group.objects.create(name="iets-anders")

    response = staff_client(manager).get(change(woerden_author))

    choices = [
        label for _value, label in response.context["adminform"].form.fields["groups"].choices
    ]
    assert "Mailauteur" in choices
    assert "iets-anders" not in choices


def test_it_does_not_let_a_manager_make_a_superuser(staff_client, manager):
    client = staff_client(manager)

    response = client.get(change(manager))

    assert "is_superuser" not in response.context["adminform"].form.fields
    assert "user_permissions" not in response.context["adminform"].form.fields


def test_it_does_not_let_a_manager_change_a_superuser(staff_client, manager, make_staff_user):
    root = make_staff_user("root", None, [], is_superuser=True)
    client = staff_client(manager)

    response = client.post(change(root), {"username": "overgenomen"})

    assert response.status_code == 403
    root.refresh_from_db()
    assert root.username == "root"


def test_it_shows_the_audit_trail_to_managers_read_only(staff_client, manager):
    AuditEntry.objects.create(verb="mailing.release", actor_name="mail-woerden")
    entry = AuditEntry.objects.create(verb="action.end", actor_name="operator-mn")
    client = staff_client(manager)

    listing = client.get(changelist("auditentry"))
    detail = client.get(change(entry))

    assert listing.status_code == 200
    assert "action.end" in listing.text
    assert detail.status_code == 200
    assert not detail.context["has_change_permission"]
    assert not detail.context["has_delete_permission"]
    assert client.get(reverse("admin:governance_auditentry_add")).status_code == 403
    delete_url = reverse("admin:governance_auditentry_delete", args=[entry.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_lets_not_even_a_superuser_delete_audit_entries(staff_client, make_staff_user):
    root = make_staff_user("root", None, [], is_superuser=True)
    entry = AuditEntry.objects.create(verb="action.end")
    client = staff_client(root)

    listing = client.get(changelist("auditentry"))
    response = client.post(
        reverse("admin:governance_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert "delete_selected" not in listing.text
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_it_lets_managers_only_into_the_totp_devices(staff_client, manager, operator_mn):
    client = staff_client(manager)

    assert client.get(changelist("totpdevice", "otp_totp")).status_code == 200
    device = totp.confirmed_devices(operator_mn).first()
    assert client.get(change(device)).status_code == 200
    assert staff_client(operator_mn).get(change(device)).status_code == 403


def test_it_keeps_totp_devices_from_someone_given_the_permission_but_not_the_role(
    staff_client, woerden_author
):
    from django.contrib.auth.models import Permission

    woerden_author.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="otp_totp")
    )
    user = User.objects.get(pk=woerden_author.pk)

    assert staff_client(user).get(changelist("totpdevice", "otp_totp")).status_code == 403


# Setting up an authenticator ------------------------------------------------------------


def test_it_lets_a_manager_set_up_a_new_authenticator(staff_client, manager, woerden_author):
    client = staff_client(manager)
    url = reverse("admin:governance_user_authenticator", args=[woerden_author.pk])
    old = totp.confirmed_devices(woerden_author).get()

    client.post(url, {"start": "1"})
    pending = TOTPDevice.objects.get(user=woerden_author, confirmed=False)
    page = client.get(url)
    assert totp.secret_base32(pending) in page.text
    assert "<svg" in page.text
    # The old device keeps working until the new one is confirmed.
    assert totp.confirmed_devices(woerden_author).get() == old

    refused = client.post(url, {"confirm": "1", "otp_token": "12345x"})
    assert refused.status_code == 200
    assert not TOTPDevice.objects.get(pk=pending.pk).confirmed

    response = client.post(url, {"confirm": "1", "otp_token": totp.code_at(pending)})

    assert response.status_code == 302
    assert list(totp.confirmed_devices(woerden_author)) == [pending]
    entry = AuditEntry.objects.get(verb="user.authenticator_set_up")
    assert entry.actor == manager
    assert entry.target_id == str(woerden_author.pk)
    assert pending.key not in str(entry.detail)


def test_it_lets_no_one_else_set_up_an_authenticator(staff_client, operator_mn, woerden_author):
    url = reverse("admin:governance_user_authenticator", args=[woerden_author.pk])

    response = staff_client(operator_mn).post(url, {"start": "1"})

    assert response.status_code in (302, 403)
    assert not TOTPDevice.objects.filter(user=woerden_author, confirmed=False).exists()


def test_it_links_the_authenticator_set_up_from_the_user_page(
    staff_client, manager, woerden_author
):
    response = staff_client(manager).get(change(woerden_author))

    url = reverse("admin:governance_user_authenticator", args=[woerden_author.pk])
    assert url in response.text


def test_it_hides_a_confirmed_secret_in_the_totp_device_admin(staff_client, manager, operator_mn):
    device = totp.confirmed_devices(operator_mn).first()

    response = staff_client(manager).get(change(device))

    assert device.key not in response.text
    assert totp.secret_base32(device) not in response.text


# The mixin later apps use ----------------------------------------------------------------


def test_it_requires_a_municipality_path_or_an_own_queryset(rf, manager):
    from django.contrib import admin
    from django.core.exceptions import ImproperlyConfigured

    class Unplaced(ScopedAdminMixin, admin.ModelAdmin):
        pass

    request = rf.get("/")
    request.user = manager
    with pytest.raises(ImproperlyConfigured):
        Unplaced(Municipality, admin.site).get_queryset(request)


def test_it_offers_only_municipalities_in_scope_as_choices(rf, woerden_author, woerden):
    from django.contrib import admin

    from apps.governance.models import PostcodeArea

    class PostcodeScoped(ScopedAdminMixin, admin.ModelAdmin):
        scope_municipality_path = "municipality"

    request = rf.get("/")
    request.user = woerden_author
    field = PostcodeArea._meta.get_field("municipality")

    formfield = PostcodeScoped(PostcodeArea, admin.site).formfield_for_foreignkey(field, request)

    assert list(formfield.queryset) == [woerden]


def test_it_lets_a_manager_lift_a_log_in_lock_out(staff_client, manager, operator_mn):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username="operator-mn", ip_address="127.0.0.1", user_agent="x", failures_since_start=5
    )
    client = staff_client(manager)

    assert client.get(changelist("accessattempt", "axes")).status_code == 200
    response = client.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert staff_client(operator_mn).get(changelist("accessattempt", "axes")).status_code == 403


def test_lifting_a_lock_out_is_in_the_audit_trail_about_the_user(
    staff_client, manager, operator_mn
):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username="operator-mn", ip_address="127.0.0.1", user_agent="x", failures_since_start=5
    )
    staff_client(manager).post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}
    )

    entry = AuditEntry.objects.get(verb="user.lockout_lifted")
    assert entry.actor == manager
    assert entry.target_id == str(operator_mn.pk)


def test_a_municipal_manager_sees_and_lifts_only_the_lock_outs_of_their_own_people(
    staff_client, make_staff_user, org_woerden, woerden_author, operator_mn
):
    from axes.models import AccessAttempt

    local = staff_client(make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER]))
    own = AccessAttempt.objects.create(
        username=woerden_author.username, ip_address="10.0.0.1", failures_since_start=5
    )
    other = AccessAttempt.objects.create(
        username=operator_mn.username, ip_address="10.0.0.2", failures_since_start=5
    )
    unknown = AccessAttempt.objects.create(
        username="niemand", ip_address="10.0.0.3", failures_since_start=5
    )

    page = local.get(changelist("accessattempt", "axes")).content.decode()
    assert "10.0.0.1" in page and "10.0.0.2" not in page and "10.0.0.3" not in page
    assert "cleanup_expired_attempts" not in page  # axes' clean-up of everyone's
    for attempt in (other, unknown):
        url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
        assert local.post(url, {"post": "yes"}).status_code in (302, 404)
        assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    bulk = {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"}
    local.post(changelist("accessattempt", "axes"), bulk)
    assert AccessAttempt.objects.filter(pk=other.pk).exists()
    assert not AuditEntry.objects.filter(verb="user.lockout_lifted").exists()

    local.post(reverse("admin:axes_accessattempt_delete", args=[own.pk]), {"post": "yes"})
    assert not AccessAttempt.objects.filter(pk=own.pk).exists()
    assert AuditEntry.objects.get(verb="user.lockout_lifted").target_id == str(woerden_author.pk)


# Names -----------------------------------------------------------------------------------

# What the index said in English before the apps of other packages were named in Dutch.
ENGLISH_NAMES = [
    "Governance",
    "Axes",
    "Access attempts",
    "Access failures",
    "Access logs",
    "Otp_Totp",
    "TOTP devices",
    "Successful tasks",
    "Failed tasks",
    "Scheduled tasks",
    "Queued tasks",
]


def test_it_names_every_app_and_model_of_the_admin_in_dutch(staff_client, manager):
    from django.contrib import admin
    from django.utils import translation

    response = staff_client(manager).get(reverse("admin:index"))
    page = response.content.decode()
    for name in ENGLISH_NAMES:
        assert f">{name}<" not in page, name
    for name in ["Organisaties en gebieden", "Inlogbeveiliging", "Mislukte inlogpogingen"]:
        assert f">{name}<" in page, name
    for name in ["Tweede factor", "Authenticator-apps", "Achtergrondtaken", "Mislukte taken"]:
        assert f">{name}<" in page, name

    # Every registered model, on its change form's breadcrumb and title too.
    with translation.override("nl"):
        for model in admin.site._registry:
            opts = model._meta
            names = [str(opts.app_config.verbose_name), str(opts.verbose_name_plural)]
            for name in names:
                assert name.lower() not in (n.lower() for n in ENGLISH_NAMES), opts.label
    # English visitors get English names from the catalogue.
    with translation.override("en"):
        labels = {m._meta.label: str(m._meta.verbose_name_plural) for m in admin.site._registry}
        assert labels["axes.AccessAttempt"] == "failed log-in attempts"
        assert labels["otp_totp.TOTPDevice"] == "authenticator apps"
