"""Reads of actions for screens: which actions a user may see, which regions a user may pick."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.governance import policy
from apps.governance.models import Municipality, PoliceUnit
from apps.governance.policy import Scope

from .models import Action, ActionApproval


def units_in_scope(scope: Scope) -> QuerySet:
    """The police units whose whole region lies inside `scope` (all of them, nationwide)."""
    if scope.nationwide:
        return PoliceUnit.objects.all()
    outside = Municipality.objects.exclude(pk__in=scope.municipality_ids)
    return (
        PoliceUnit.objects.filter(is_national=False, municipalities__isnull=False)
        .exclude(municipalities__in=outside)
        .distinct()
    )


def visible_actions(user) -> QuerySet:
    """The actions `user` may see: those whose scope (Action.scope) the user's covers."""
    if not policy.has_role_for(user, "action.view"):
        return Action.objects.none()
    scope = policy.user_scope(user)
    if scope.nationwide:
        return Action.objects.all()
    return Action.objects.filter(police_unit__in=units_in_scope(scope)).exclude(
        kind=Action.Kind.AMBER_ALERT
    )


def actions_reaching(user) -> QuerySet:
    """Released actions of other units that reach into the user's region: its operators
    see them, read-only and marked (people flee across borders). Those whose circle
    reaches into the region, and every AMBER Alert (it goes to the whole country, so to
    every region). Only what the alert itself said; tips and photos stay with the unit
    that runs the action."""
    if not policy.has_role_for(user, "action.view"):
        return Action.objects.none()
    scope = policy.user_scope(user)
    if scope.nationwide:
        return Action.objects.none()  # the national unit sees every action already
    if scope.is_empty:
        return Action.objects.none()
    return (
        Action.objects.filter(state=Action.State.RELEASED)
        .filter(Q(reaches_units__in=units_in_scope(scope)) | Q(kind=Action.Kind.AMBER_ALERT))
        .exclude(pk__in=visible_actions(user).values("pk"))
        .distinct()
    )


def active_actions(user) -> QuerySet:
    """The running actions and drafts `user` may see, running first; a draft waiting for a
    second national operator's approval says so (`awaiting_approval`)."""
    submitted = ActionApproval.objects.filter(
        action=OuterRef("pk"), state=ActionApproval.State.SUBMITTED
    )
    return (
        visible_actions(user)
        .filter(state__in=[Action.State.DRAFT, Action.State.RELEASED])
        .annotate(awaiting_approval=Exists(submitted))
        .select_related("police_unit")
        .order_by("state", "-released_at", "-created_at")
    )
