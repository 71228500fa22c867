"""The verbs on mailings: write a draft, choose its areas, send it or ask for approval,
approve or reject it, and hand it to the outbox.

Each checks the scope policy and the mailing's state under a row lock, writes in one
transaction with an audit entry, and names no citizen in the trail.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.channels import outbox
from apps.channels.models import Channel, OutgoingMessage
from apps.governance import audit, policy
from apps.governance.roles import Role, roles_of
from apps.web import photos

from . import selection
from .models import Kind, Mailing, MailingArea, MailTemplate
from .rendering import render_text

# How long the outbox keeps trying to deliver a mailing.
MAIL_TTL_S = 3 * 24 * 60 * 60
MAX_AREAS = 50

MSG_NOT_DRAFT = _("Deze mailing is geen concept meer en kan niet meer worden gewijzigd.")
MSG_NOT_SUBMITTED = _("Deze mailing wacht niet op goedkeuring.")
MSG_NO_AREAS = _("Kies eerst ten minste één gebied.")
MSG_NO_RECIPIENTS = _("In de gekozen gebieden woont nog niemand die Burgernetmail ontvangt.")
MSG_OUTSIDE_SCOPE = _("Dit gebied ligt buiten het werkgebied van %(organisation)s.")
MSG_TOO_MANY_AREAS = _("Een mailing heeft hooguit 50 gebieden.")
MSG_OWN_MAILING = _(
    "U hebt deze mailing zelf geschreven of ingediend. Een tweede persoon keurt haar goed."
)
MSG_REASON = _("Schrijf waarom u de mailing afwijst.")
MSG_INCIDENT = _("Een buurtonderzoek noemt de datum en de plaats van het voorval.")
MSG_INCIDENT_FUTURE = _("De datum van het voorval ligt in de toekomst.")
MSG_AREA_TOO_LARGE = _(
    "Het gebied %(area)s is te groot voor een buurtonderzoek: die gaat naar een straat, een "
    "postcode, een postcodegebied of een cirkel van hooguit 2.000 meter. Verwijder het gebied "
    "of kies een andere soort mailing."
)

DRAFT_FIELDS = (
    "kind",
    "subject",
    "body",
    "incident_date",
    "incident_place",
    "response_days",
)


# Access ------------------------------------------------------------------------------------


def _require_visible(by, mailing: Mailing) -> None:
    """Only the sending organisation (and country-wide managers) may touch a mailing."""
    if not Mailing.objects.visible_to(by).filter(pk=mailing.pk).exists():
        raise PermissionDenied


def _require(by, verb: str, mailing: Mailing) -> None:
    policy.require(by, verb, mailing)
    _require_visible(by, mailing)


def _locked(mailing: Mailing) -> Mailing:
    """The mailing's row, locked for this transaction, with its current state."""
    current = Mailing.objects.select_for_update().get(pk=mailing.pk)
    mailing.state = current.state
    return current


# Drafts ------------------------------------------------------------------------------------


def templates_for(user):
    """The templates an author may start from: the national ones and its organisation's."""
    return MailTemplate.objects.filter(
        Q(organisation__isnull=True) | Q(organisation_id=user.organisation_id)
    ).select_related("organisation")


def _check_draft(mailing: Mailing) -> None:
    errors = {}
    if mailing.kind == Kind.NEIGHBOURHOOD_INQUIRY:
        if not mailing.incident_date:
            errors["incident_date"] = MSG_INCIDENT
        elif mailing.incident_date > timezone.localdate():
            errors["incident_date"] = MSG_INCIDENT_FUTURE
        if not mailing.incident_place.strip():
            errors["incident_place"] = MSG_INCIDENT
    if errors:
        raise ValidationError(errors)
    mailing.full_clean(exclude=["image", "organisation", "author"])


def mailing_create(*, by, image=None, **fields) -> Mailing:
    """A new draft of the user's organisation, written by the user."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise TypeError(f"unknown mailing fields: {sorted(unknown)}")
    policy.require(by, "mailing.compose")
    if by.organisation_id is None:
        raise PermissionDenied
    mailing = Mailing(organisation=by.organisation, author=by, **fields)
    policy.require(by, "mailing.compose", mailing)
    _check_draft(mailing)
    if image is not None:
        mailing.image = photos.prepare(image)
    with transaction.atomic():
        mailing.save()
        audit.record(
            verb="mailing.created", actor=by, target=mailing, detail={"kind": mailing.kind}
        )
    return mailing


def mailing_update(
    *, mailing: Mailing, by, image=None, remove_image: bool = False, **fields
) -> Mailing:
    """Change a draft: its text, kind, incident, image."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise TypeError(f"unknown mailing fields: {sorted(unknown)}")
    _require(by, "mailing.compose", mailing)
    with transaction.atomic():
        _locked(mailing)
        if not mailing.is_editable:
            raise ValidationError(MSG_NOT_DRAFT, code="state")
        changed = [name for name, value in fields.items() if getattr(mailing, name) != value]
        for name, value in fields.items():
            setattr(mailing, name, value)
        _check_draft(mailing)
        if image is not None:
            mailing.image = photos.prepare(image)
            changed.append("image")
        elif remove_image and mailing.image:
            mailing.image = ""
            changed.append("image")
        mailing.save()
        audit.record(verb="mailing.changed", actor=by, target=mailing, detail={"fields": changed})
    return mailing


# Areas -------------------------------------------------------------------------------------


def area_check(*, mailing: Mailing, area: MailingArea) -> MailingArea:
    """Clean an (unsaved) area, make sure it fits the kind of mailing (no whole municipality
    or wide circle for a buurtonderzoek) and lies inside the mailing's scope."""
    selection.clean_area(area, mailing_kind=mailing.kind)
    if not mailing.scope().covers(selection.area_scope(area)):
        message = MSG_OUTSIDE_SCOPE % {"organisation": mailing.organisation.name}
        field = {
            MailingArea.Kind.MUNICIPALITY: "municipality",
            MailingArea.Kind.CIRCLE: "lat",
        }.get(area.kind, "postcode")
        raise ValidationError({field: message}, code="outside_scope")
    return area


def area_add(*, mailing: Mailing, by, **fields) -> MailingArea:
    """Add an area to a draft; one outside the organisation's scope is refused."""
    _require(by, "mailing.compose", mailing)
    area = area_check(mailing=mailing, area=MailingArea(mailing=mailing, **fields))
    with transaction.atomic():
        _locked(mailing)
        if not mailing.is_editable:
            raise ValidationError(MSG_NOT_DRAFT, code="state")
        if mailing.areas.count() >= MAX_AREAS:
            raise ValidationError(MSG_TOO_MANY_AREAS, code="too_many")
        area.save()
        mailing.save(update_fields=["updated_at"])
        audit.record(
            verb="mailing.area_added",
            actor=by,
            target=mailing,
            detail={"area": area.pk, "kind": area.kind},
        )
    return area


def area_remove(*, area: MailingArea, by) -> None:
    mailing = area.mailing
    _require(by, "mailing.compose", mailing)
    with transaction.atomic():
        _locked(mailing)
        if not mailing.is_editable:
            raise ValidationError(MSG_NOT_DRAFT, code="state")
        area_id = area.pk
        area.delete()
        mailing.save(update_fields=["updated_at"])
        audit.record(
            verb="mailing.area_removed", actor=by, target=mailing, detail={"area": area_id}
        )


# Before sending ----------------------------------------------------------------------------


def send_problems(mailing: Mailing) -> list[str]:
    """What stops the mailing from going out now (empty when it can go)."""
    problems: list[str] = []
    try:
        _check_draft(mailing)
    except ValidationError as exc:
        problems.extend(exc.messages)
    areas = list(mailing.areas.select_related("municipality"))
    if not areas:
        return problems + [str(MSG_NO_AREAS)]
    for area in areas:
        if selection.fits_mailing_kind(area, mailing.kind):
            problems.append(str(MSG_AREA_TOO_LARGE % {"area": area}))
    scope = mailing.scope()
    for area in areas:
        if not scope.covers(selection.area_scope(area)):
            problems.append(
                str(MSG_OUTSIDE_SCOPE % {"organisation": mailing.organisation.name}) + f" ({area})"
            )
    if not problems and selection.count(mailing) == 0:
        problems.append(str(MSG_NO_RECIPIENTS))
    return problems


def needs_approval(mailing: Mailing) -> bool:
    return mailing.organisation.requires_mail_approval


def may_approve(user, mailing: Mailing) -> bool:
    """A second person: an approver of the sending organisation (or a country-wide
    manager) who neither wrote nor submitted the mailing."""
    if not policy.can(user, "mailing.approve", mailing):
        return False
    if not Mailing.objects.visible_to(user).filter(pk=mailing.pk).exists():
        return False
    if user.organisation_id != mailing.organisation_id and Role.MANAGER not in roles_of(user):
        return False
    return user.pk not in (mailing.author_id, mailing.submitted_by_id)


# The verbs ---------------------------------------------------------------------------------


def mailing_send(*, mailing: Mailing, by) -> Mailing:
    """ "Versturen": straight out, or — when the organisation requires it — to an approver."""
    _require(by, "mailing.compose", mailing)
    with transaction.atomic():
        _locked(mailing)
        if not mailing.is_editable:
            raise ValidationError(MSG_NOT_DRAFT, code="state")
        problems = send_problems(mailing)
        if problems:
            raise ValidationError(problems, code="send")
        if needs_approval(mailing):
            mailing.state = Mailing.State.SUBMITTED
            mailing.submitted_at = timezone.now()
            mailing.submitted_by = by
            mailing.rejection_reason = ""
            mailing.save(
                update_fields=[
                    "state",
                    "submitted_at",
                    "submitted_by",
                    "rejection_reason",
                    "updated_at",
                ]
            )
            audit.record(
                verb="mailing.submitted",
                actor=by,
                target=mailing,
                detail={"recipients": selection.count(mailing)},
            )
            return mailing
        return send_mailing(mailing=mailing, by=by)


def mailing_approve(*, mailing: Mailing, by) -> Mailing:
    """The second person approves what they saw: the mailing goes out."""
    _require(by, "mailing.approve", mailing)
    with transaction.atomic():
        _locked(mailing)
        if mailing.state != Mailing.State.SUBMITTED:
            raise ValidationError(MSG_NOT_SUBMITTED, code="state")
        if not may_approve(by, mailing):
            raise PermissionDenied(MSG_OWN_MAILING)
        problems = send_problems(mailing)
        if problems:
            raise ValidationError(problems, code="send")
        mailing.approved_by = by
        mailing.approved_at = timezone.now()
        mailing.save(update_fields=["approved_by", "approved_at", "updated_at"])
        audit.record(verb="mailing.approved", actor=by, target=mailing)
        return send_mailing(mailing=mailing, by=by)


def mailing_reject(*, mailing: Mailing, by, reason: str) -> Mailing:
    """Back to the author as a draft, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    _require(by, "mailing.approve", mailing)
    with transaction.atomic():
        _locked(mailing)
        if mailing.state != Mailing.State.SUBMITTED:
            raise ValidationError(MSG_NOT_SUBMITTED, code="state")
        if not may_approve(by, mailing):
            raise PermissionDenied(MSG_OWN_MAILING)
        mailing.state = Mailing.State.DRAFT
        mailing.rejection_reason = reason[:300]
        mailing.submitted_at = None
        mailing.submitted_by = None
        mailing.save(
            update_fields=[
                "state",
                "rejection_reason",
                "submitted_at",
                "submitted_by",
                "updated_at",
            ]
        )
        audit.record(verb="mailing.rejected", actor=by, target=mailing)
    return mailing


def mailing_withdraw(*, mailing: Mailing, by) -> Mailing:
    """The sending organisation takes a submitted mailing back to change it."""
    _require(by, "mailing.compose", mailing)
    with transaction.atomic():
        _locked(mailing)
        if mailing.state != Mailing.State.SUBMITTED:
            raise ValidationError(MSG_NOT_SUBMITTED, code="state")
        mailing.state = Mailing.State.DRAFT
        mailing.submitted_at = None
        mailing.submitted_by = None
        mailing.save(update_fields=["state", "submitted_at", "submitted_by", "updated_at"])
        audit.record(verb="mailing.withdrawn", actor=by, target=mailing)
    return mailing


def send_mailing(*, mailing: Mailing, by=None) -> Mailing:
    """Hand the mailing to the outbox: one message, one e-mail Delivery per recipient.

    Called by mailing_send and mailing_approve once they have checked who may send it;
    runs in (or opens) one transaction, so the rows, the state and the audit entry are
    written together, and the outbox queues its tasks after the commit.
    """
    with transaction.atomic():
        _locked(mailing)
        if mailing.state not in (Mailing.State.DRAFT, Mailing.State.SUBMITTED):
            raise ValidationError(_("Deze mailing is al verstuurd."), code="state")
        if not mailing.areas.exists():
            raise ValidationError(MSG_NO_AREAS, code="send")
        data = {"mailing": mailing.pk, "kind": mailing.kind}
        if mailing.image:
            from .email import image_url

            data["image"] = image_url(mailing)
        message = OutgoingMessage.objects.create(
            source=mailing.source,
            title=mailing.subject[:120],
            body=render_text(mailing.body),
            urgency=OutgoingMessage.Urgency.NORMAL,
            ttl_seconds=MAIL_TTL_S,
            data=data,
        )
        queued = outbox.enqueue_from_queryset(
            message=message,
            channel=Channel.EMAIL,
            participant_ids=selection.recipients(mailing),
        )
        if not queued:
            raise ValidationError(MSG_NO_RECIPIENTS, code="send")
        outbox.release(message)
        mailing.message = message
        mailing.recipient_count = queued
        mailing.state = Mailing.State.SENT
        mailing.sent_at = timezone.now()
        mailing.save(update_fields=["message", "recipient_count", "state", "sent_at", "updated_at"])
        audit.record(
            verb="mailing.sent",
            actor=by,
            target=mailing,
            detail={"message": message.pk, "recipients": queued},
        )
    return mailing
