"""Governance verbs: staff log-in and log-out, staff users and roles, their second factor."""

from collections.abc import Iterable

import django_otp
from django.contrib import auth
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, totp
from .models import Organisation, User
from .roles import Role, group_name

# Audit verbs written here.
LOGIN = "login"
LOGIN_FAILED = "login.failed"
LOGIN_LOCKED_OUT = "login.locked_out"
LOGOUT = "logout"
AUTHENTICATOR_SET_UP = "user.authenticator_set_up"


def staff_log_in(*, request, user: User, device: TOTPDevice | None) -> None:
    """Log a user in whose password (and code, where given) were checked."""
    auth.login(request, user)
    if device is not None:
        django_otp.login(request, device)
    audit.record(
        verb=LOGIN, actor=user, request=request, detail={"second_factor": device is not None}
    )


def staff_log_in_failed(*, request, username: str, reason: str, user: User | None = None):
    """Write a failed log-in to the audit trail: the username tried and why, never secrets."""
    locked_out = bool(getattr(request, "axes_locked_out", False))
    audit.record(
        verb=LOGIN_LOCKED_OUT if locked_out else LOGIN_FAILED,
        actor=user,
        request=request,
        detail={"username": username[:150], "reason": reason},
    )


def second_factor_failed(*, request, username: str) -> None:
    """A wrong code counts as a failed log-in for django-axes, like a wrong password.

    Without this, whoever knows a password could try codes without ever being locked out.
    """
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def staff_log_out(*, request) -> None:
    if request.user.is_authenticated:
        audit.record(verb=LOGOUT, request=request)
    auth.logout(request)


@transaction.atomic
def roles_set(*, user: User, roles: Iterable[Role]) -> None:
    """Give a user exactly these roles (groups made by roles.sync_roles)."""
    names = {group_name(Role(role)) for role in roles}
    groups = list(Group.objects.filter(name__in=names))
    missing = names - {g.name for g in groups}
    if missing:
        raise ValueError(f"role groups missing, run sync_roles: {sorted(missing)}")
    user.groups.set(groups)
    user.__dict__.pop("_burgernet_roles", None)


@transaction.atomic
def staff_user_ensure(
    *,
    username: str,
    organisation: Organisation | None,
    roles: Iterable[Role],
    password: str,
    first_name: str = "",
    last_name: str = "",
    is_staff: bool = True,
) -> User:
    """Create or update a staff user to exactly these values (idempotent: an unchanged
    user is not written, and an unchanged password is not re-hashed)."""
    roles = list(roles)
    user = User.objects.filter(username=username).first() or User(username=username)
    changed = user.pk is None
    if changed or not user.check_password(password):
        user.set_password(password)
        changed = True
    fields = {
        "organisation": organisation,
        "first_name": first_name,
        "last_name": last_name,
        "is_staff": is_staff,
        "is_active": True,
    }
    for name, value in fields.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed = True
    if changed:
        user.save()
    wanted = {group_name(Role(role)) for role in roles}
    if set(user.groups.values_list("name", flat=True)) != wanted:
        roles_set(user=user, roles=roles)
    return user


@transaction.atomic
def totp_device_ensure(*, user: User, key: str, name: str = totp.DEVICE_NAME) -> TOTPDevice:
    """Give a user one confirmed TOTP device with this key (hex); idempotent."""
    device, created = TOTPDevice.objects.get_or_create(
        user=user, name=name, defaults={"key": key, "confirmed": True}
    )
    if not created and (device.key != key or not device.confirmed):
        device.key, device.confirmed = key, True
        device.save(update_fields=["key", "confirmed"])
    return device


@transaction.atomic
def authenticator_start(*, user: User) -> TOTPDevice:
    """Begin setting up a new authenticator: an unconfirmed device with a fresh key.

    The old device keeps working until the new one is confirmed with a code.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=totp.DEVICE_NAME, confirmed=False)


def pending_authenticator(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


@transaction.atomic
def authenticator_confirm(*, device: TOTPDevice, token: str, by: User, request=None) -> bool:
    """Confirm a new authenticator with a code from it; it then replaces the old ones."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, confirmed=False)
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    audit.record(verb=AUTHENTICATOR_SET_UP, actor=by, target=device.user, request=request)
    return True


@transaction.atomic
def organisation_ensure(
    *,
    name: str,
    kind: str,
    police_unit=None,
    municipality=None,
    municipalities=(),
    requires_mail_approval: bool = False,
) -> Organisation:
    """Create or update an organisation to exactly these values (idempotent)."""
    values = {
        "kind": kind,
        "police_unit": police_unit,
        "municipality": municipality,
        "requires_mail_approval": requires_mail_approval,
        "is_active": True,
    }
    organisation = Organisation.objects.filter(name=name).first()
    if organisation is None:
        organisation = Organisation.objects.create(name=name, **values)
    elif any(getattr(organisation, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(organisation, k, v)
        organisation.save()
    wanted = {m.pk for m in municipalities}
    if set(organisation.municipalities.values_list("pk", flat=True)) != wanted:
        organisation.municipalities.set(wanted)
    return organisation
