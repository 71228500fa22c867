"""Staff roles: Django groups with the permissions each role needs in the admin.

A role says what a user may do; the organisation says where (see policy.py).
"""

from enum import StrEnum

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    OPERATOR = "operator"  # meldkamer: actions in its region
    NATIONAL_OPERATOR = "national_operator"  # Landelijke Eenheid: AMBER Alerts, nationwide
    MAIL_AUTHOR = "mail_author"  # Burgernetmail: composes mailings
    MAIL_APPROVER = "mail_approver"  # Burgernetmail: approves mailings
    MANAGER = "manager"  # Burgernet-beheer: organisations, users, settings, reports


ROLE_LABELS = {
    Role.OPERATOR: _("Meldkameroperator"),
    Role.NATIONAL_OPERATOR: _("Landelijk operator (AMBER Alert)"),
    Role.MAIL_AUTHOR: _("Mailauteur"),
    Role.MAIL_APPROVER: _("Mailgoedkeurder"),
    Role.MANAGER: _("Beheerder"),
}

# Reading an action and all that came of it (its signalement, updates, end message, tips).
_ACTIONS_READ = frozenset(
    {
        "actions.view_action",
        "actions.view_persondescription",
        "actions.view_vehicledescription",
        "actions.view_actionupdate",
        "actions.view_endmessage",
        "actions.view_tip",
    }
)

# What a control-room operator works with in the admin; a national operator the same
# (what only they may do, an AMBER Alert, is the policy's "action.amber", not a permission).
_OPERATOR_PERMISSIONS = _ACTIONS_READ | {
    "governance.view_municipality",
    "governance.view_policeunit",
    "actions.add_action",
    "actions.change_action",
    "actions.add_persondescription",
    "actions.change_persondescription",
    "actions.delete_persondescription",
    "actions.add_vehicledescription",
    "actions.change_vehicledescription",
    "actions.delete_vehicledescription",
}

# Reading mailings and their answers: mailings are written in the mail screens, the admin
# shows them read-only.
_MAIL_READ = frozenset(
    {
        "mail.view_mailing",
        "mail.view_mailingarea",
        "mail.view_mailtemplate",
        "mail.view_response",
        "mail.view_responseentry",
    }
)

# Writing templates: an organisation's own (apps/mail/admin.py keeps national ones out).
_MAIL_TEMPLATES = frozenset(
    {"mail.add_mailtemplate", "mail.change_mailtemplate", "mail.delete_mailtemplate"}
)

# Model permissions per role, "app_label.codename". Later apps add their models here.
ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.OPERATOR: set(_OPERATOR_PERMISSIONS),
    Role.NATIONAL_OPERATOR: set(_OPERATOR_PERMISSIONS),
    Role.MAIL_AUTHOR: {
        "governance.view_municipality",
        "governance.view_organisation",
        *_MAIL_READ,
        *_MAIL_TEMPLATES,
    },
    Role.MAIL_APPROVER: {
        "governance.view_municipality",
        "governance.view_organisation",
        *_MAIL_READ,
    },
    Role.MANAGER: {
        "governance.view_province",
        "governance.view_safetyregion",
        "governance.view_policeunit",
        "governance.view_municipality",
        "governance.change_municipality",
        "governance.view_postcodearea",
        "governance.add_organisation",
        "governance.change_organisation",
        "governance.view_organisation",
        "governance.add_user",
        "governance.change_user",
        "governance.view_user",
        "governance.view_auditentry",
        # Managers set up the second factor of staff and lift log-in lock-outs.
        "otp_totp.add_totpdevice",
        "otp_totp.change_totpdevice",
        "otp_totp.delete_totpdevice",
        "otp_totp.view_totpdevice",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "participants.view_participant",
        "participants.delete_participant",
        "participants.view_address",
        "django_q.view_success",
        "django_q.view_failure",
        "django_q.view_schedule",
        "django_q.view_ormq",
        *_ACTIONS_READ,
        *_MAIL_READ,
        *_MAIL_TEMPLATES,
    },
}


def group_name(role: Role) -> str:
    return role.value


@transaction.atomic
def sync_roles() -> None:
    """Create the role groups and give each exactly its permissions (idempotent).

    Run after migrate (make run and the test fixtures do); a permission whose model does
    not exist yet is skipped.
    """
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name(role))
        wanted = []
        for perm in sorted(perms):
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found:
                wanted.append(found)
        group.permissions.set(wanted)


def roles_of(user) -> set[Role]:
    """The roles of a user (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_burgernet_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = {role for role in Role if group_name(role) in names}
        user._burgernet_roles = cached
    return cached
