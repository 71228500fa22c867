"""Two people for national alerts: an AMBER Alert, and every kind a manager marks, goes out
only once a second national operator approved the exact version they saw.

The operator submits the draft (`action_submit`); a national operator approves it
(`action_approve`, which releases it through services.action_release) or returns it with
a reason (`action_return`); the submitter may take it back (`action_withdraw`), and
saving the draft again withdraws it too (`withdraw_on_edit`, asked by
services.action_save_draft). services.action_release asks `release_problems`, so an
action that needs approval cannot be released without it by any path (console, admin,
task, command). Every verb locks the action's row first: two approvers clicking at once
give one release.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.governance import audit, policy
from apps.governance.policy import Scope
from apps.web.text import clean_text

from . import services
from .models import (
    APPROVAL_REASON_MAX,
    Action,
    ActionApproval,
    ApprovalRule,
    PersonDescription,
    VehicleDescription,
)
from .selectors import visible_actions

APPROVE = "action.approve"

# Kinds that always need a second person, whatever the managers set.
ALWAYS = frozenset({Action.Kind.AMBER_ALERT})

# What an approval is not about: the action's bookkeeping, which no alert carries. Every
# other field of the action (kind, title, the texts, photo, point, radius, region,
# time-critical, exercise, and fields added later) is part of the version.
NOT_SENT = frozenset(
    {
        "id",
        "state",
        "result",
        "correction",
        "organisation",
        "created_by",
        "created_at",
        "released_at",
        "ended_at",
        "cancelled_at",
        "release_message",
        "cancel_message",
    }
)

MSG_NEEDS_APPROVAL = _(
    "Deze actie gaat pas uit na goedkeuring door een tweede landelijk operator. Dien haar "
    "in ter goedkeuring."
)
MSG_WAITING = _("Deze actie wacht op goedkeuring door een tweede landelijk operator.")
MSG_NO_APPROVAL_NEEDED = _("Deze actie heeft geen goedkeuring nodig; verstuur haar direct.")
MSG_ALREADY_SUBMITTED = _("Deze actie is al ter goedkeuring ingediend.")
MSG_NOT_SUBMITTED = _("Deze actie wacht niet (meer) op goedkeuring.")
MSG_NOT_APPROVER = _("Alleen een tweede landelijk operator mag deze actie goedkeuren.")
MSG_OWN = _(
    "U hebt deze actie gemaakt of ingediend. Een tweede landelijk operator moet haar "
    "goedkeuren (alleen bij een oefening mag u uw eigen actie goedkeuren)."
)
MSG_CHANGED = _(
    "De actie is gewijzigd sinds u haar opende. Er is niets verstuurd. Bekijk de nieuwe "
    "versie en beoordeel die opnieuw."
)
MSG_CHANGED_SINCE_SUBMIT = _(
    "De actie is gewijzigd nadat zij werd ingediend. Er is niets verstuurd. Stuur haar "
    "terug; de indiener dient de nieuwe versie opnieuw in."
)
MSG_REASON = _("Schrijf waarom u de actie terugstuurt.")
MSG_RULE_EXISTS = _("Voor deze soort is al goedkeuring nodig.")


# Which actions, and who -----------------------------------------------------------------------


def kinds_needing_approval() -> set[str]:
    """The kinds that need a second person now: AMBER Alerts and the managers' marks."""
    return set(ALWAYS) | set(ApprovalRule.objects.values_list("kind", flat=True))


def needs_approval(action: Action) -> bool:
    return action.kind in ALWAYS or ApprovalRule.objects.filter(kind=action.kind).exists()


def pending(action: Action) -> ActionApproval | None:
    """The action's open request for approval, if any."""
    return (
        action.approvals.filter(state=ActionApproval.State.SUBMITTED)
        .select_related("submitted_by")
        .first()
    )


def latest(action: Action) -> ActionApproval | None:
    """The action's last request for approval, whatever became of it."""
    return action.approvals.select_related("submitted_by", "decided_by").first()


def is_approver(user) -> bool:
    """A national operator with a country-wide scope (a national operator's role in a
    regional organisation is not enough)."""
    return policy.can(user, APPROVE, Scope.nation())


def may_approve(user, action: Action, approval: ActionApproval | None = None) -> bool:
    """May `user` approve or return the action's open request? A second national operator:
    not who made the action nor who submitted it, except in an exercise."""
    approval = approval or pending(action)
    if approval is None or not is_approver(user):
        return False
    return action.is_exercise or user.pk not in (action.created_by_id, approval.submitted_by_id)


def awaiting(user):
    """The submitted actions `user` may see (the console's list "Wacht op goedkeuring"):
    every one for a national operator, the own region's for a regional operator."""
    return (
        visible_actions(user)
        .filter(state=Action.State.DRAFT, approvals__state=ActionApproval.State.SUBMITTED)
        .select_related("police_unit")
        .annotate(submitted_at=Max("approvals__submitted_at"))
        .order_by("submitted_at")
    )


# The version -----------------------------------------------------------------------------------


def _fields(model, exclude) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.name not in exclude]


def action_version(action: Action) -> str:
    """The version of the action as it stands in the database: a hash of everything its
    alert is made of (the action's own fields but its bookkeeping, the photo's stored name,
    the signalement of persons and vehicles). The approve form carries it; action_approve
    refuses any other."""
    current = Action.objects.values(*_fields(Action, NOT_SENT)).get(pk=action.pk)
    signalement = {"id", "action"}
    content = {
        "action": current,
        "persons": list(
            PersonDescription.objects.filter(action_id=action.pk)
            .order_by("pk")
            .values_list(*_fields(PersonDescription, signalement))
        ),
        "vehicles": list(
            VehicleDescription.objects.filter(action_id=action.pk)
            .order_by("pk")
            .values_list(*_fields(VehicleDescription, signalement))
        ),
    }
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


def release_preview(action: Action) -> dict:
    """The release's message as action_release would write it now (title, body, photo),
    for the approver to see; built by the release's own code and not saved."""
    message = services.action_message_preview(action, "release")
    return {"title": message.title, "body": message.body, "has_photo": bool(action.photo)}


def release_problems(action: Action, *, by) -> list[str]:
    """Why action_release must refuse the action for want of approval (empty when it
    needs none, or when `by` approved this very version a moment ago in action_approve).
    Asked by action_release with the action locked."""
    if not needs_approval(action):
        return []
    approval = latest(action)
    if approval is None or approval.state != ActionApproval.State.APPROVED:
        return [str(MSG_WAITING if approval and _is_open(approval) else MSG_NEEDS_APPROVAL)]
    if approval.decided_by_id != getattr(by, "pk", None) or approval.version != action_version(
        action
    ):
        return [str(MSG_NEEDS_APPROVAL)]
    return []


def _is_open(approval: ActionApproval) -> bool:
    return approval.state == ActionApproval.State.SUBMITTED


# The verbs -------------------------------------------------------------------------------------


def action_submit(*, action: Action, by) -> ActionApproval:
    """The operator's "Ter goedkeuring indienen": the draft, as it stands, waits for a
    second national operator. It must be releasable but for the approval."""
    with transaction.atomic():
        services._lock(action)
        services._require_manage(by, action)
        services._require_point(by, action)
        if not needs_approval(action):
            raise ValidationError(MSG_NO_APPROVAL_NEEDED, code="approval")
        problems = action.release_problems()
        if problems:
            raise ValidationError(problems, code="release")
        if pending(action) is not None:
            raise ValidationError(MSG_ALREADY_SUBMITTED, code="state")
        approval = ActionApproval.objects.create(
            action=action, submitted_by=by, version=action_version(action)
        )
        audit.record(
            verb="action.submitted",
            actor=by,
            target=action,
            detail={"approval": approval.pk, "version": approval.version},
        )
    return approval


def action_approve(*, action: Action, by, version: str, at=None) -> services.Sent:
    """The second person approves what they saw (`version`, action_version of the page
    they approved from): the action is released at once, by them. An action changed since
    is refused and nothing is sent."""
    with transaction.atomic():
        approval = _locked_for_verdict(action, by, version or "", approving=True)
        approval.state = ActionApproval.State.APPROVED
        approval.decided_by = by
        approval.decided_at = timezone.now()
        approval.save(update_fields=["state", "decided_by", "decided_at"])
        audit.record(
            verb="action.approved",
            actor=by,
            target=action,
            detail={
                "approval": approval.pk,
                "version": version,
                "submitted_by": approval.submitted_by.get_username(),
                "exercise": action.is_exercise,
            },
        )
        # One transaction: should the release fail, the approval is undone with it.
        return services.action_release(action=action, by=by, at=at)


def action_return(*, action: Action, by, reason: str, version: str | None = None):
    """Back to the submitter as a draft, with the reason (shown to them). With `version`,
    only the version the approver saw is returned."""
    reason = clean_text(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    try:
        MaxLengthValidator(APPROVAL_REASON_MAX)(reason)
    except ValidationError as exc:
        raise ValidationError({"reason": exc.error_list}) from None
    with transaction.atomic():
        approval = _locked_for_verdict(action, by, version, approving=False)
        approval.state = ActionApproval.State.RETURNED
        approval.decided_by = by
        approval.decided_at = timezone.now()
        approval.reason = reason
        approval.save(update_fields=["state", "decided_by", "decided_at", "reason"])
        # The reason stays on the request, not in the trail (it may describe a person).
        audit.record(
            verb="action.returned",
            actor=by,
            target=action,
            detail={"approval": approval.pk, "submitted_by": approval.submitted_by.get_username()},
        )
    return approval


def action_withdraw(*, action: Action, by) -> ActionApproval:
    """Take a submitted draft back (to change it): whoever may manage the action."""
    with transaction.atomic():
        services._lock(action)
        services._require_manage(by, action)
        approval = pending(action)
        if approval is None or action.state != Action.State.DRAFT:
            raise ValidationError(MSG_NOT_SUBMITTED, code="state")
        _withdraw(approval, by, edited=False)
    return approval


def withdraw_on_edit(action: Action, by) -> None:
    """A submitted draft that is saved again goes back to draft: what was submitted is no
    longer what would be sent. Asked by services.action_save_draft under its lock."""
    approval = pending(action)
    if approval is not None:
        _withdraw(approval, by, edited=True)


def _withdraw(approval: ActionApproval, by, *, edited: bool) -> None:
    approval.state = ActionApproval.State.WITHDRAWN
    approval.decided_by = by
    approval.decided_at = timezone.now()
    approval.save(update_fields=["state", "decided_by", "decided_at"])
    audit.record(
        verb="action.withdrawn",
        actor=by,
        target=approval.action,
        detail={"approval": approval.pk, "edited": edited},
    )


def _locked_for_verdict(
    action: Action, by, version: str | None, *, approving: bool
) -> ActionApproval:
    """Lock the action for a verdict on its open request: `by` must be a second national
    operator, and (with `version`) the action still the version they saw; an approval
    also needs it to be the version that was submitted."""
    services._lock(action)
    approval = pending(action)
    if approval is None or action.state != Action.State.DRAFT:
        raise ValidationError(MSG_NOT_SUBMITTED, code="state")
    if not is_approver(by):
        raise PermissionDenied(MSG_NOT_APPROVER)
    if not may_approve(by, action, approval):
        raise PermissionDenied(MSG_OWN)
    if version is not None:
        current = action_version(action)
        if version != current:
            raise ValidationError(MSG_CHANGED, code="changed")
        if approving and approval.version != current:
            raise ValidationError(MSG_CHANGED_SINCE_SUBMIT, code="changed")
    return approval


# The managers' rules ---------------------------------------------------------------------------


def _require_rule_manager(by) -> None:
    """The rules hold for the whole country: a country-wide manager sets them."""
    policy.require(by, "settings.manage", Scope.nation())


def approval_rule_add(*, kind: str, by) -> ApprovalRule:
    """Mark a kind: its actions go out only with a second national operator's approval."""
    _require_rule_manager(by)
    rule = ApprovalRule(kind=kind, changed_by=by)
    rule.full_clean(validate_unique=False)
    with transaction.atomic():
        if ApprovalRule.objects.select_for_update().filter(kind=kind).exists():
            raise ValidationError({"kind": MSG_RULE_EXISTS})
        rule.save()
        audit.record(verb="approval_rule.added", actor=by, target=rule, detail={"kind": kind})
    return rule


def approval_rule_remove(*, rule: ApprovalRule, by) -> None:
    """Unmark a kind (an AMBER Alert stays marked: ALWAYS). A submitted action of the kind
    keeps its request; it may now also be released directly."""
    _require_rule_manager(by)
    with transaction.atomic():
        audit.record(
            verb="approval_rule.removed", actor=by, target=rule, detail={"kind": rule.kind}
        )
        rule.delete()
