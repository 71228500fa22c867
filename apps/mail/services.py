"""The verbs of Burgernetmail: on mailings (write a draft, choose its areas, submit it,
approve or reject it, fan it out to the outbox, end a crisis message), on responses (a
participant's answer, staff opening and marking it) and unsubscribing from e-mail.

Each staff verb checks the scope policy and the mailing's state under a row lock, writes
in one transaction with an audit entry, and names no citizen in the trail. The views parse
input and call these.
"""

import hashlib
import json
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from apps.channels import outbox
from apps.channels import plan as channel_plan
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.governance import audit, policy, reporting
from apps.participants import reach
from apps.participants import services as participant_services
from apps.participants.models import Device, Participant
from apps.participants.tokens import email_digest
from apps.web import photos
from apps.web.text import clean_text

from . import selection
from .models import (
    END_TEXT_MAX,
    Kind,
    Mailing,
    MailingArea,
    MailTemplate,
    Response,
    ResponseEntry,
    crisis_problems,
    incident_problems,
)
from .rendering import render_text

# How long the outbox keeps trying to deliver a mailing.
MAIL_TTL_S = 3 * 24 * 60 * 60
# A crisis message that waited this long is no longer worth sending (what to do may have
# changed); its end message may take longer: it waits for quiet hours to end.
CRISIS_TTL_S = 60 * 60
CRISIS_END_TTL_S = 24 * 60 * 60
PUSH_TITLE_MAX = 120
PUSH_BODY_MAX = 1000
MAX_AREAS = 50

MSG_NOT_DRAFT = _("Deze mailing is geen concept meer en kan niet meer worden gewijzigd.")
MSG_NOT_SUBMITTED = _("Deze mailing wacht niet op goedkeuring.")
MSG_NO_AREAS = _("Kies eerst ten minste één gebied.")
MSG_OUTSIDE_SCOPE = _("Dit gebied ligt buiten het werkgebied van %(organisation)s.")
MSG_TOO_MANY_AREAS = _("Een mailing heeft hooguit 50 gebieden.")
MSG_OWN_MAILING = _(
    "U hebt deze mailing zelf geschreven of ingediend. Een tweede persoon keurt haar goed."
)
MSG_REASON = _("Schrijf waarom u de mailing afwijst.")
MSG_CHANGED = _("Deze mailing is gewijzigd sinds u hem opende.")
MSG_PLACEHOLDERS = _(
    "Vul eerst de tekst uit het sjabloon in die nog tussen haken staat: %(placeholders)s."
)
MSG_NO_CHANNELS = _(
    "Er is nu geen kanaal in gebruik voor crisismeldingen. Vraag het Burgernet-beheer om de "
    "kanaalinstellingen."
)
MSG_NOT_ENDABLE = _("Alleen een verstuurde crisismelding kan één keer worden beëindigd.")
MSG_END_TEXT = _("Schrijf wat bewoners moeten weten nu de crisis voorbij is.")
MSG_AREA_TOO_LARGE = _(
    "Het gebied %(area)s is te groot voor een buurtonderzoek: die gaat naar een straat, een "
    "postcode, een postcodegebied of een cirkel van hooguit 2.000 meter. Verwijder het gebied "
    "of kies een andere soort mailing."
)

# Why an address was blocked when its participant unsubscribed.
UNSUBSCRIBED = "unsubscribed"
RESPONSES = "mailing.responses"

DRAFT_FIELDS = (
    "kind",
    "subject",
    "body",
    "instruction",
    "incident_date",
    "incident_place",
    "response_days",
)


# Access ------------------------------------------------------------------------------------


# What only the sending organisation's own staff do with a mailing: write and approve it.
# Country-wide managers see every mailing and its responses, and write or approve none.
OWN_ORGANISATION_VERBS = frozenset({"mailing.compose", "mailing.approve"})


def may(user, verb: str, mailing: Mailing) -> bool:
    """May `user` do `verb` on the mailing: the role and scope (policy), the mailing
    visible to `user` (only the sending organisation and country-wide managers see it:
    Mailing.is_visible_to), and for writing and approving, a mailing of `user`'s own
    organisation (OWN_ORGANISATION_VERBS)."""
    if not policy.can(user, verb, mailing) or not mailing.is_visible_to(user):
        return False
    return verb not in OWN_ORGANISATION_VERBS or user.organisation_id == mailing.organisation_id


def _require(by, verb: str, mailing: Mailing) -> None:
    """PermissionDenied unless `may(by, verb, mailing)`."""
    if not may(by, verb, mailing):
        raise PermissionDenied


def _locked(mailing: Mailing) -> Mailing:
    """The mailing's row, locked for this transaction, with its current state."""
    current = Mailing.objects.select_for_update().get(pk=mailing.pk)
    mailing.state = current.state
    return current


# Drafts ------------------------------------------------------------------------------------


def templates_for(user):
    """The templates an author may start from: the national ones and its organisation's."""
    return _templates_of(user.organisation_id).select_related("organisation")


def _templates_of(organisation_id):
    return MailTemplate.objects.filter(
        Q(organisation__isnull=True) | Q(organisation_id=organisation_id)
    )


def _check_draft(mailing: Mailing) -> None:
    # The incident first and alone: the author is told that before anything else.
    problems = incident_problems(mailing.kind, mailing.incident_date, mailing.incident_place)
    if problems:
        raise ValidationError(problems)
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


# The version of a mailing is a hash of everything that makes the e-mail and where it goes,
# not a counter: it names what the approver saw, whatever path changed it (the services,
# the admin, a migration), and a change undone gives the version that was seen again.
VERSION_FIELDS = (*DRAFT_FIELDS, "image", "organisation_id")
AREA_FIELDS = (
    "kind",
    "postcode",
    "house_number_from",
    "house_number_to",
    "municipality_id",
    "lat",
    "lon",
    "radius_m",
)


def mailing_version(mailing: Mailing) -> str:
    """The version of the mailing as it stands in the database: a hash of its subject,
    text, kind, incident, response period, image, organisation (its name is the mail's
    From) and areas. The approve and reject forms carry it; mailing_approve and
    mailing_reject refuse any other."""
    current = Mailing.objects.select_related("organisation").get(pk=mailing.pk)
    content = {name: str(getattr(current, name)) for name in VERSION_FIELDS}
    content["from"] = current.organisation.name
    content["areas"] = [
        [str(value) for value in area]
        for area in current.areas.order_by("pk").values_list(*AREA_FIELDS)
    ]
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]


# Text between [brackets] in a template is for the author to fill in.
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,80}\]")


def unfilled_placeholders(mailing: Mailing) -> list[str]:
    """The placeholders of the templates the mailing's organisation writes from (the
    national ones and its own), e.g. "[datum]", still in the mailing's subject or text."""
    placeholders = set()
    for texts in _templates_of(mailing.organisation_id).values_list("subject", "body"):
        placeholders.update(PLACEHOLDER.findall("\n".join(texts)))
    text = f"{mailing.subject}\n{mailing.body}"
    return sorted(found for found in placeholders if found in text)


def mailing_send_problems(mailing: Mailing) -> list[str]:
    """What stops the mailing from going out now (empty when it can go)."""
    problems: list[str] = []
    try:
        _check_draft(mailing)
    except ValidationError as exc:
        problems.extend(exc.messages)
    # A crisis message's instruction may be written last, but it goes in every text.
    problems.extend(
        str(problem) for problem in crisis_problems(mailing.kind, mailing.instruction).values()
    )
    placeholders = unfilled_placeholders(mailing)
    if placeholders:
        problems.append(str(MSG_PLACEHOLDERS % {"placeholders": ", ".join(placeholders)}))
    areas = list(mailing.areas.select_related("municipality"))
    if not areas:
        return problems + [str(MSG_NO_AREAS)]
    for area in areas:
        if selection.area_size_problems(area, mailing.kind):
            problems.append(str(MSG_AREA_TOO_LARGE % {"area": area}))
    scope = mailing.scope()
    for area in areas:
        if not scope.covers(selection.area_scope(area)):
            problems.append(
                str(MSG_OUTSIDE_SCOPE % {"organisation": mailing.organisation.name}) + f" ({area})"
            )
    if mailing.is_crisis and not crisis_plan(timezone.now()).channels:
        problems.append(str(MSG_NO_CHANNELS))
    # No refusal for areas where nobody reads Burgernetmail: it would tell staff, house by
    # house, whether anyone there participates. Such a mailing goes to nobody and says
    # "minder dan 10", as one to a few does.
    return problems


def needs_approval(mailing: Mailing) -> bool:
    """A second person approves: when the organisation requires it, and for a crisis
    message always."""
    return mailing.is_crisis or mailing.organisation.requires_mail_approval


def crisis_plan(at) -> channel_plan.ChannelPlan:
    """The channels of a crisis message sent at `at` and their ceilings: every channel in
    use that carries the kind "crisis", whatever urgencies it carries (the channel
    settings: apps/channels/plan.py)."""
    return channel_plan.plan_for(kind=Kind.CRISIS, urgent=True, at=at, everywhere=True)


def crisis_estimate(mailing: Mailing, at=None) -> dict[str, dict]:
    """What a crisis message sent now would reach per channel: found, ceiling, sent, cut
    (selection.crisis_estimate over crisis_plan)."""
    at = at or timezone.now()
    return selection.crisis_estimate(mailing, crisis_plan(at), at)


def may_end(user, mailing: Mailing) -> bool:
    """The sending organisation's mail staff (an author or an approver) end its crisis
    message."""
    return may(user, "mailing.compose", mailing) or may(user, "mailing.approve", mailing)


def may_approve(user, mailing: Mailing) -> bool:
    """A second person: an approver of the sending organisation (never of another, nor a
    manager: `may`) who neither wrote nor submitted the mailing."""
    if not may(user, "mailing.approve", mailing):
        return False
    return user.pk not in (mailing.author_id, mailing.submitted_by_id)


# The verbs ---------------------------------------------------------------------------------


def mailing_submit(*, mailing: Mailing, by) -> Mailing:
    """The author's "Versturen": the approval step. Submitted to an approver when the
    organisation requires one (mailing_approve then fans it out), else fanned out at once
    (mailing_fan_out)."""
    _require(by, "mailing.compose", mailing)
    with transaction.atomic():
        _locked(mailing)
        if not mailing.is_editable:
            raise ValidationError(MSG_NOT_DRAFT, code="state")
        problems = mailing_send_problems(mailing)
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
            detail = {"recipients": selection.count(mailing)}
            if mailing.is_crisis:
                estimate = crisis_estimate(mailing)
                detail["channels"] = {channel: e["sent"] for channel, e in estimate.items()}
            audit.record(verb="mailing.submitted", actor=by, target=mailing, detail=detail)
            return mailing
        return mailing_fan_out(mailing=mailing, by=by)


def mailing_approve(*, mailing: Mailing, by, version: str) -> Mailing:
    """The second person approves what they saw (`version`, mailing_version of the page
    they approved from): the mailing goes out. A mailing changed since is refused."""
    with transaction.atomic():
        _locked_for_verdict(mailing, by, version)
        problems = mailing_send_problems(mailing)
        if problems:
            raise ValidationError(problems, code="send")
        mailing.approved_by = by
        mailing.approved_at = timezone.now()
        mailing.save(update_fields=["approved_by", "approved_at", "updated_at"])
        audit.record(verb="mailing.approved", actor=by, target=mailing)
        return mailing_fan_out(mailing=mailing, by=by)


def mailing_reject(*, mailing: Mailing, by, reason: str, version: str) -> Mailing:
    """Back to the author as a draft, with the reason; like approving, only the version
    the approver saw (`version`) is rejected."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": MSG_REASON})
    with transaction.atomic():
        _locked_for_verdict(mailing, by, version)
        mailing.rejection_reason = reason[:300]
        _back_to_draft(mailing, by, "mailing.rejected", also=("rejection_reason",))
    return mailing


def mailing_withdraw(*, mailing: Mailing, by) -> Mailing:
    """The sending organisation takes a submitted mailing back to change it."""
    with transaction.atomic():
        _locked_submitted(mailing, by, "mailing.compose")
        _back_to_draft(mailing, by, "mailing.withdrawn")
    return mailing


def _locked_submitted(mailing: Mailing, by, verb: str) -> None:
    """Check that `by` may do `verb` on the mailing, then lock it: it must still wait for
    approval (withdraw)."""
    _require(by, verb, mailing)
    _locked(mailing)
    if mailing.state != Mailing.State.SUBMITTED:
        raise ValidationError(MSG_NOT_SUBMITTED, code="state")


def _locked_for_verdict(mailing: Mailing, by, version: str) -> None:
    """Lock a submitted mailing for the approver's verdict (approve, reject): a second
    person's (may_approve), on the version they saw (nothing changed since)."""
    _locked_submitted(mailing, by, "mailing.approve")
    if not may_approve(by, mailing):
        raise PermissionDenied(MSG_OWN_MAILING)
    if version != mailing_version(mailing):
        raise ValidationError(MSG_CHANGED, code="changed")


def _back_to_draft(mailing: Mailing, by, verb: str, also: tuple[str, ...] = ()) -> None:
    """A submitted mailing back to its author as a draft (rejected or withdrawn)."""
    mailing.state = Mailing.State.DRAFT
    mailing.submitted_at = None
    mailing.submitted_by = None
    fields = ["state", *also, "submitted_at", "submitted_by", "updated_at"]
    mailing.save(update_fields=fields)
    audit.record(verb=verb, actor=by, target=mailing)


def mailing_fan_out(*, mailing: Mailing, by=None) -> Mailing:
    """The actual sending: hand the mailing to the outbox, one message and one e-mail
    Delivery per recipient.

    Called by mailing_submit and mailing_approve once they have checked who may send it;
    runs in (or opens) one transaction, so the rows, the state and the audit entry are
    written together, and the outbox queues its tasks after the commit.
    """
    with transaction.atomic():
        _locked(mailing)
        if mailing.state not in (Mailing.State.DRAFT, Mailing.State.SUBMITTED):
            raise ValidationError(_("Deze mailing is al verstuurd."), code="state")
        if not mailing.areas.exists():
            raise ValidationError(MSG_NO_AREAS, code="send")
        if mailing.is_crisis:
            return _fan_out_crisis(mailing, by)
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


# Crisis messages ---------------------------------------------------------------------------


def _fan_out_crisis(mailing: Mailing, by) -> Mailing:
    """A crisis message's sending (inside mailing_fan_out's transaction, the mailing
    locked): one time-critical message, its deliveries on every channel of the plan of
    this moment, set-based per channel; a channel with a ceiling reaches the nearest to
    the centre of the areas first (selection.crisis_recipients)."""
    if not needs_approval(mailing) or mailing.approved_by_id is None:
        # Only mailing_approve sends a crisis message: never the author alone.
        raise PermissionDenied(MSG_OWN_MAILING)
    at = timezone.now()
    plan = crisis_plan(at)
    if not plan.channels:
        raise ValidationError(MSG_NO_CHANNELS, code="send")
    title, body, span = _crisis_text(mailing)
    message = OutgoingMessage.objects.create(
        source=mailing.source,
        title=title,
        body=body,
        topic=f"burgernet-crisis-{mailing.pk}",
        urgency=OutgoingMessage.Urgency.HIGH,
        ttl_seconds=CRISIS_TTL_S,
        data={
            "mailing": mailing.pk,
            "kind": mailing.kind,
            "what": "crisis",
            "shorten_first": list(span),
        },
    )
    queued = {}
    for channel in plan.channels:
        ids = selection.crisis_recipients(mailing, channel, at, ceiling=plan.ceiling(channel))
        column = "device_ids" if channel == Channel.WEBPUSH else "participant_ids"
        queued[channel] = outbox.enqueue_from_queryset(
            message=message, channel=channel, **{column: ids}
        )
    outbox.release(message)
    mailing.message = message
    mailing.recipient_count = sum(queued.values())  # messages: one person may get several
    mailing.state = Mailing.State.SENT
    mailing.sent_at = at
    mailing.save(update_fields=["message", "recipient_count", "state", "sent_at", "updated_at"])
    audit.record(
        verb="mailing.sent",
        actor=by,
        target=mailing,
        detail={
            "message": message.pk,
            "recipients": sum(queued.values()),
            "channels": queued,
            "ceilings": plan.ceilings,
        },
    )
    return mailing


def crisis_title(mailing: Mailing, *, end: bool = False) -> str:
    """ "Burgernet crisismelding: <subject>" (or "Burgernet: crisis voorbij: …"), in Dutch
    whatever the screen's language: the mail screens and the e-mail are Dutch."""
    with override("nl"):
        head = gettext("Burgernet: crisis voorbij") if end else gettext("Burgernet crisismelding")
    return _truncate(f"{head}: {mailing.subject}", PUSH_TITLE_MAX)


def crisis_text(mailing: Mailing) -> OutgoingMessage:
    """The crisis message as push, SMS and voice will carry it (unsaved): what the mail
    page shows before approval."""
    title, body, span = _crisis_text(mailing)
    return OutgoingMessage(title=title, body=body, data={"shorten_first": list(span)})


def _crisis_text(mailing: Mailing) -> tuple[str, str, tuple[int, int]]:
    """Title, body and the span of the body a short channel shortens first: what to do
    comes first and stays; the text follows and is shortened (an SMS of SMS_MAX_PARTS
    parts, a push within its payload)."""
    instruction = mailing.instruction.strip()
    text = render_text(mailing.body).strip()
    start = len(instruction) + 1
    room = max(0, PUSH_BODY_MAX - start)
    text = _truncate(text, room) if room else ""
    body = f"{instruction}\n{text}" if text else instruction
    return crisis_title(mailing), body, (start, start + len(text)) if text else (len(body),) * 2


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mailing_end(*, mailing: Mailing, by, text: str) -> Mailing:
    """End a sent crisis message ("Crisis voorbij"): stop whatever of it is still queued,
    and send the end message with `text` to exactly those it reached, on the channels it
    reached them on (still in use now; a participant who has since turned a channel off
    is not sent on it). SMS and voice to someone in quiet hours wait until they end."""
    text = clean_text(text or "").strip()
    if not text:
        raise ValidationError({"text": MSG_END_TEXT})
    if len(text) > END_TEXT_MAX:
        raise ValidationError({"text": _("Hooguit 1.000 tekens.")})
    if not may_end(by, mailing):
        raise PermissionDenied
    with transaction.atomic():
        current = _locked(mailing)
        if not current.can_end or current.message_id is None:
            raise ValidationError(MSG_NOT_ENDABLE, code="state")
        at = timezone.now()
        earlier = current.message
        outbox.stop(earlier)
        mailing.end_text = text
        message = OutgoingMessage.objects.create(
            source=mailing.end_source,
            title=crisis_title(mailing, end=True),
            body=mailing.end_text,
            topic=f"burgernet-crisis-{mailing.pk}",
            urgency=OutgoingMessage.Urgency.NORMAL,
            ttl_seconds=CRISIS_END_TTL_S,
            data={"mailing": mailing.pk, "kind": mailing.kind, "what": "end", "follow_up": True},
        )
        queued = {}
        for channel in crisis_plan(at).channels:
            column = "device_ids" if channel == Channel.WEBPUSH else "participant_ids"
            queued[channel] = outbox.enqueue_from_queryset(
                message=message, channel=channel, **{column: _reached(earlier, channel)}
            )
        _defer_for_quiet_hours(message, at)
        outbox.release(message)
        mailing.ended_at = at
        mailing.ended_by = by
        mailing.end_message = message
        mailing.save(
            update_fields=["end_text", "ended_at", "ended_by", "end_message", "updated_at"]
        )
        audit.record(
            verb="mailing.ended",
            actor=by,
            target=mailing,
            detail={"message": message.pk, "channels": queued},
        )
    return mailing


# Deliveries that did not reach their recipient: stopped before sending, or failed for good.
NOT_DELIVERED = (Delivery.State.CANCELLED, Delivery.State.FAILED)


def _reached(message: OutgoingMessage, channel: str):
    """Ids of who `message` reached (or was reaching) on `channel`, as far as they still
    take that channel: a device that still exists, a participant still reachable on it
    (for e-mail: the mail rule, an open address)."""
    field = "device_id" if channel == Channel.WEBPUSH else "participant_id"
    reached = (
        Delivery.objects.filter(message=message, channel=channel)
        .exclude(state__in=NOT_DELIVERED)
        .values(field)
    )
    if channel == Channel.WEBPUSH:
        return Device.objects.filter(pk__in=reached).order_by().values_list("pk", flat=True)
    condition = (
        selection.may_receive_mail() if channel == Channel.EMAIL else reach.reachable(channel)
    )
    return (
        Participant.objects.filter(condition & Q(pk__in=reached))
        .order_by()
        .values_list("pk", flat=True)
    )


def _defer_for_quiet_hours(message: OutgoingMessage, at) -> None:
    """An end message by SMS or voice to someone in quiet hours is due when they end."""
    local = at.astimezone(selection.LOCAL_TZ)
    for channel in reach.PHONE_CHANNELS:
        rows = Delivery.objects.filter(
            message=message, channel=channel, state=Delivery.State.QUEUED
        )
        ends = reach.quiet_hours_ends(rows.values("participant_id"), local)
        for end, participant_ids in ends.items():
            rows.filter(participant_id__in=participant_ids).update(next_attempt_at=end)


# Responses ---------------------------------------------------------------------------------


def response_submit(
    *,
    mailing: Mailing,
    participant: Participant,
    observation: str,
    observed_when: str = "",
    photo=None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    may_call: bool = False,
) -> ResponseEntry:
    """A participant's answer to a buurtonderzoek, or an addition to an earlier one.

    The first answer creates the mailing's Response for the participant; every answer is a
    ResponseEntry. An addition sends the Response back to "new" and replaces the contact
    details the participant filled in again (empty ones keep the earlier). The photo passes
    photos.prepare (real image, size, metadata stripped, resized). Raises ValidationError
    (nothing saved) for a photo that is refused or a mailing that takes no answers.
    """
    if not mailing.is_inquiry or mailing.state not in (Mailing.State.SENDING, Mailing.State.SENT):
        raise ValidationError("this mailing takes no answers", code="state")
    observation = (observation or "").strip()
    if not observation:
        raise ValidationError({"observation": ValidationError("empty", code="required")})
    entry = ResponseEntry(observation=observation, observed_when=(observed_when or "").strip())
    if photo:
        entry.photo = photos.prepare(photo)
    contact = {
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": contact_email,
    }
    with transaction.atomic():
        response, created = _response_for_update(mailing, participant, contact, may_call)
        if not created:
            for field, value in contact.items():
                if value:
                    setattr(response, field, value)
            response.may_call = response.may_call or may_call
            response.status = Response.Status.NEW
            response.save()
        entry.response = response
        entry.full_clean(exclude=["response"])
        entry.save()
        # Who answered stays out of the trail: the response is named by its id only.
        audit.record(
            verb="mail.response.received",
            target=response,
            detail={"mailing": mailing.pk, "entry": entry.pk, "addition": not created},
        )
    return entry


def _response_for_update(mailing, participant, contact: dict, may_call: bool):
    """The participant's Response to the mailing, locked; created when there is none, with
    the next number within the mailing (the mailing's row is locked while it is taken)."""
    existing = (
        Response.objects.select_for_update()
        .filter(mailing=mailing, participant=participant)
        .first()
    )
    if existing is not None:
        return existing, False
    Mailing.objects.select_for_update().filter(pk=mailing.pk).values_list("pk").get()
    last = Response.objects.filter(mailing=mailing).aggregate(last=Max("number"))["last"]
    response = Response(
        mailing=mailing,
        participant=participant,
        may_call=may_call,
        number=(last or 0) + 1,
        **contact,
    )
    response.full_clean(exclude=["mailing", "participant"])
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:  # the same participant answered at the same moment elsewhere
        return Response.objects.select_for_update().get(
            mailing=mailing, participant=participant
        ), False
    # The report counts this, not the rows: retention deletes responses after a while. A
    # response may come after the days the report counts again by itself: its day is marked.
    Mailing.objects.filter(pk=mailing.pk).update(responses_counted=F("responses_counted") + 1)
    if mailing.sent_at is not None:
        reporting.mark_stale(mailing.sent_at, "mail")
    return response, True


def response_open(*, response: Response, by, request=None) -> Response:
    """Staff open a response: a new one becomes read. Every opening is audited."""
    _require(by, RESPONSES, response.mailing)
    with transaction.atomic():
        marked = Response.objects.filter(pk=response.pk, status=Response.Status.NEW).update(
            status=Response.Status.READ, updated_at=timezone.now()
        )
        if marked:
            response.status = Response.Status.READ
        audit.record(
            verb="mail.response.opened",
            actor=by,
            target=response,
            request=request,
            detail={"mailing": response.mailing_id},
        )
    return response


def response_set_status(*, response: Response, status: str, by, request=None) -> Response:
    """New, read or followed up, as staff mark it."""
    _require(by, RESPONSES, response.mailing)
    if status not in Response.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        Response.objects.filter(pk=response.pk).update(status=status, updated_at=timezone.now())
        response.status = status
        audit.record(
            verb="mail.response.status",
            actor=by,
            target=response,
            request=request,
            detail={"mailing": response.mailing_id, "status": status},
        )
    return response


# Unsubscribing -----------------------------------------------------------------------------


def email_unsubscribe(*, participant: Participant, digest: str, mailing_id: int, via: str) -> bool:
    """Stop e-mail to the participant's address (until it is confirmed again).

    Idempotent: True only when this call blocked the address. An address already blocked
    (bounced, complained, unsubscribed) keeps its reason; a link for an address the
    participant no longer has changes nothing. Audited without personal data.
    """
    if not participant.email or not constant_time_compare(email_digest(participant.email), digest):
        return False
    return participant_services.email_suppress(
        participant_id=participant.pk,
        reason=UNSUBSCRIBED,
        address=participant.email,
        verb="mail.unsubscribed",
        detail={"mailing": mailing_id, "via": via},
    )
