"""The scope policy: may this user do this verb on this object?

Every staff view and admin screen asks here, never inline. A role decides which verbs a
user may do; the user's organisation decides where (its scope: a set of municipalities,
or the whole country). An object says where it lies through `scope()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext

from .geo import in_circle_q
from .models import AuditEntry, Municipality, Organisation, PoliceUnit, PostcodeArea, User
from .roles import Role, roles_of

ALL_ROLES = frozenset(Role)

# verb → the roles that may do it. Verbs are "<object>.<what>". docs/roles.md is this table
# written out, role by role; tests/governance/test_policy.py holds every cell of it.
VERBS: dict[str, frozenset[Role]] = {
    "action.view": frozenset({Role.OPERATOR, Role.NATIONAL_OPERATOR, Role.MANAGER}),
    "action.manage": frozenset({Role.OPERATOR, Role.NATIONAL_OPERATOR}),
    "action.amber": frozenset({Role.NATIONAL_OPERATOR}),
    # The second person for an alert that needs two (actions/approval.py): a national
    # operator, and only with a country-wide scope (approval.may_approve).
    "action.approve": frozenset({Role.NATIONAL_OPERATOR}),
    "mailing.view": frozenset({Role.MAIL_AUTHOR, Role.MAIL_APPROVER, Role.MANAGER}),
    # Managers follow mailings (view, responses) but neither write nor approve them: a
    # mailing is written and approved by the mail staff of the sending organisation.
    "mailing.compose": frozenset({Role.MAIL_AUTHOR}),
    "mailing.approve": frozenset({Role.MAIL_APPROVER}),
    "mailing.responses": frozenset({Role.MAIL_AUTHOR, Role.MAIL_APPROVER, Role.MANAGER}),
    "organisation.view": ALL_ROLES,
    "organisation.manage": frozenset({Role.MANAGER}),
    "user.manage": frozenset({Role.MANAGER}),
    "audit.view": frozenset({Role.MANAGER}),
    "participant.view": frozenset({Role.MANAGER}),
    "participant.delete": frozenset({Role.MANAGER}),
    "report.view": frozenset({Role.MANAGER}),
    "settings.manage": frozenset({Role.MANAGER}),
}


@dataclass(frozen=True)
class Scope:
    """Where something lies or where someone may act: municipalities, or the country."""

    nationwide: bool = False
    municipality_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def nation(cls) -> Scope:
        return cls(nationwide=True)

    @classmethod
    def of_municipalities(cls, ids) -> Scope:
        return cls(municipality_ids=frozenset(ids))

    @property
    def is_empty(self) -> bool:
        return not self.nationwide and not self.municipality_ids

    def covers(self, other: Scope) -> bool:
        """True when everything in `other` lies inside this scope."""
        if self.nationwide:
            return True
        if other.nationwide or other.is_empty:
            return False
        return other.municipality_ids <= self.municipality_ids

    def filter(self, queryset: QuerySet, municipality_path: str) -> QuerySet:
        """Narrow a queryset to rows whose municipality (at `municipality_path`) is inside."""
        if self.nationwide:
            return queryset
        return queryset.filter(**{f"{municipality_path}__in": self.municipality_ids})


def organisation_scope(organisation: Organisation | None) -> Scope:
    """The area an organisation acts in, by its kind."""
    if organisation is None or not organisation.is_active:
        return Scope()
    kind = Organisation.Kind
    if organisation.kind in (kind.NATIONAL_UNIT, kind.MANAGEMENT):
        return Scope.nation()
    if organisation.kind == kind.CONTROL_ROOM:
        return Scope.of_municipalities(Municipality.ids_in_unit(organisation.police_unit_id))
    if organisation.kind == kind.MUNICIPALITY:
        return Scope.of_municipalities([organisation.municipality_id])
    if organisation.kind == kind.POLICE_TEAM:
        return Scope.of_municipalities(organisation.municipalities.values_list("id", flat=True))
    return Scope()


class _UserScope:
    """Caches a user's scope on the user object for one request."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def scope(self) -> Scope:
        if self.user.is_superuser:
            return Scope.nation()
        return organisation_scope(self.user.organisation)


def in_service(user) -> bool:
    """An active, logged-in user of an active organisation (or a superuser).

    Staff of a deactivated organisation, or without one, may do nothing until a manager
    places them in an active organisation.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    organisation = user.organisation
    return organisation is not None and organisation.is_active


def user_scope(user) -> Scope:
    if not in_service(user):
        return Scope()
    holder = getattr(user, "_burgernet_scope", None)
    if holder is None:
        holder = user._burgernet_scope = _UserScope(user)
    return holder.scope


def scope_of(obj) -> Scope:
    """Where an object lies. Objects of later apps define `scope() -> Scope`."""
    if isinstance(obj, Scope):
        return obj
    if isinstance(obj, Municipality):
        return Scope.of_municipalities([obj.pk])
    if isinstance(obj, PostcodeArea):
        return Scope.of_municipalities([obj.municipality_id] if obj.municipality_id else [])
    if isinstance(obj, Organisation):
        return organisation_scope(obj)
    if hasattr(obj, "scope"):
        return obj.scope()
    raise TypeError(f"no scope known for {type(obj).__name__}")


def point_scope(lat: float, lon: float) -> Scope:
    """Where a point lies: the municipality of the nearest postcode area (a point just
    across the border belongs to the nearest Dutch one)."""
    nearest = (
        PostcodeArea.objects.exclude(municipality=None)
        .annotate(d=(F("lat") - lat) * (F("lat") - lat) + (F("lon") - lon) * (F("lon") - lon))
        .order_by("d")
        .only("municipality_id")
        .first()
    )
    return scope_of(nearest) if nearest else Scope()


# A postcode area's centre stands for the area: a circle that reaches within this much of
# a centre is taken to reach into the area (a PC4 area is a few km across).
AREA_MARGIN_M = 1000


def units_reached(lat: float, lon: float, radius_m: float) -> QuerySet:
    """The regional police units whose region a circle reaches into: those of the
    municipalities with a postcode area within the circle (plus AREA_MARGIN_M)."""
    return PoliceUnit.objects.filter(
        is_national=False,
        municipalities__postcodes__in=PostcodeArea.objects.filter(
            in_circle_q("lat", "lon", lat, lon, radius_m + AREA_MARGIN_M)
        ),
    ).distinct()


def may_act_at(user, verb: str, lat: float, lon: float) -> bool:
    """May `user` do `verb` at this point (in its own region; country-wide staff anywhere)?"""
    return can(user, verb, point_scope(lat, lon))


def has_role_for(user, verb: str) -> bool:
    if verb not in VERBS:
        raise KeyError(f"unknown verb {verb!r}")
    if not in_service(user):
        return False
    if user.is_superuser:
        return True
    return bool(roles_of(user) & VERBS[verb])


def can(user, verb: str, obj=None) -> bool:
    """May `user` do `verb` (on `obj`, when given)?"""
    if not has_role_for(user, verb):
        return False
    if obj is None:
        return True
    if isinstance(obj, Organisation) and not user_scope(user).nationwide:
        # Staff outside the country-wide organisations see their own organisation only.
        return obj.pk == user.organisation_id
    return user_scope(user).covers(scope_of(obj))


def require(user, verb: str, obj=None) -> None:
    """Raise PermissionDenied unless `can(user, verb, obj)`."""
    if not can(user, verb, obj):
        raise PermissionDenied


def visible_organisations(user) -> QuerySet:
    """The organisations a user may see: all for country-wide staff, else its own."""
    if not has_role_for(user, "organisation.view"):
        return Organisation.objects.none()
    if user_scope(user).nationwide:
        return Organisation.objects.all()
    return Organisation.objects.filter(Q(pk=user.organisation_id))


def manageable_users(user) -> QuerySet:
    """The staff users a manager may manage: everyone for country-wide managers, else the
    users of the manager's own organisation."""
    if not has_role_for(user, "user.manage"):
        return User.objects.none()
    if user_scope(user).nationwide:
        return User.objects.all()
    return User.objects.filter(organisation_id=user.organisation_id)


def visible_access_attempts(user, attempts: QuerySet) -> QuerySet:
    """The failed log-ins (django-axes' attempts; deleting one lifts a lock-out) a manager
    may see and lift: all of them country-wide, else those for the user names of the users
    they manage. `attempts` is the queryset to narrow (governance does not import axes)."""
    if not has_role_for(user, "user.manage"):
        return attempts.none()
    if user_scope(user).nationwide:
        return attempts
    return attempts.filter(username__in=manageable_users(user).values("username"))


def visible_audit_entries(user) -> QuerySet:
    """The audit trail a manager may read: all of it country-wide; else what their
    organisation's people did, and what anyone (a country-wide manager) did to their
    organisation or its people."""
    if not has_role_for(user, "audit.view"):
        return AuditEntry.objects.none()
    if user_scope(user).nationwide:
        return AuditEntry.objects.all()
    own = user.organisation_id
    return AuditEntry.objects.filter(Q(organisation_id=own) | AuditEntry.about_organisation(own))


# Counts of people shown to staff: below this, only "fewer than" (a count for one house
# number would say who takes part). What is sent and audited uses the real number.
COUNT_THRESHOLD = 10


def shown_count(n: int) -> int | str:
    """A count of people as staff may see it: the number itself from COUNT_THRESHOLD up,
    else "minder dan 10". The one rule for every count staff can ask for (the mail
    screens' recipient counts, the console's reach), in pages and JSON alike."""
    if n >= COUNT_THRESHOLD:
        return n
    return gettext("minder dan %(n)s") % {"n": COUNT_THRESHOLD}
