"""The verbs on actions: create, release, update, end, cancel, and tips from citizens.

Each checks the scope policy and the action's state, writes in one transaction with an
audit entry, and hands its message and recipients to the outbox: the rows are written
set-based in the same transaction, and the outbox queues the sending tasks on commit.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.channels import outbox
from apps.channels import plan as channel_plan
from apps.channels.models import Channel, Delivery, OutgoingMessage, WebhookSubscription
from apps.governance import audit, policy, reporting
from apps.governance.geo import in_circle_q
from apps.governance.models import PoliceUnit, PostcodeArea, Province
from apps.governance.policy import AREA_MARGIN_M, require
from apps.web import photos
from apps.web.text import clean_text

from . import approval, media, regions, targeting, wording
from .models import (
    FOLLOW_UP_TEXT_MAX,
    MSG_NOT_DRAFT,
    MSG_NOT_RELEASED,
    MSG_OUTCOME_NOT_ENDED,
    TIP_TEXT_MAX,
    VERIFICATION_PATTERN,
    VERIFICATION_PREFIX,
    Action,
    ActionUpdate,
    EndMessage,
    PersonDescription,
    Tip,
    VehicleDescription,
    outcome_problems,
)

# Web Push: a time-critical alert that waited this long is no longer worth showing.
TIME_CRITICAL_TTL_S = 30 * 60
NOT_TIME_CRITICAL_TTL_S = 12 * 60 * 60
FOLLOW_UP_TTL_S = 24 * 60 * 60
TITLE_MAX = 120
BODY_MAX = 1000

MSG_EMPTY_TEXT = _("Vul een tekst in.")
MSG_NO_UNIT = _("Kies de politie-eenheid van de actie.")
MSG_NO_TIPS = _("Deze actie neemt geen tips (meer) aan.")

# What action_create takes: the operator's fields, and the region (the admin picks it).
ACTION_FIELDS = frozenset({*Action.DRAFT_FIELDS, "police_unit"})


@dataclass(frozen=True)
class Sent:
    """A message handed to the outbox, with the number of deliveries queued per channel."""

    message: OutgoingMessage
    queued: dict[str, int]


# Drafts ------------------------------------------------------------------------------------

MSG_OUTSIDE_REGION = _("Dit punt ligt buiten het werkgebied van uw eenheid.")


def action_point_problem(*, by, kind: str, lat: float, lon: float) -> str | None:
    """Why `by` may not centre an action of `kind` at (lat, lon), or None.

    The centre must lie in the user's region (a national operator's: anywhere). The circle
    may reach beyond it: people flee across borders. An AMBER Alert is nationwide; who may
    start one is checked on its own. Every path that places or releases an action asks
    here: the console, the admin (through its form and action_save_draft) and release.
    """
    if kind == Action.Kind.AMBER_ALERT:
        return None
    if policy.may_act_at(by, "action.manage", lat, lon):
        return None
    return str(MSG_OUTSIDE_REGION)


def _units_reached(action: Action):
    """The other regional units whose region the action's circle reaches into."""
    if action.is_amber:
        return []  # nationwide: every unit knows
    return policy.units_reached(action.lat, action.lon, action.radius_m).exclude(
        pk=action.police_unit_id
    )


def _require_point(by, action: Action) -> None:
    problem = action_point_problem(by=by, kind=action.kind, lat=action.lat, lon=action.lon)
    if problem:
        raise PermissionDenied(problem)


def action_create(*, by, persons=(), vehicles=(), **fields) -> Action:
    """Create a draft action in the user's region (the whole country for an AMBER Alert).

    `persons` and `vehicles` are dicts of PersonDescription / VehicleDescription fields.
    Without `is_time_critical` the kind's default applies.
    """
    unknown = set(fields) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"unknown action fields: {sorted(unknown)}")
    action = Action(**fields)
    if "is_time_critical" not in fields:
        action.is_time_critical = Action.default_time_critical(action.kind)
    return action_save_draft(action=action, by=by, persons=persons, vehicles=vehicles)


def action_save_draft(
    *,
    action: Action,
    by,
    persons=(),
    vehicles=(),
    changed: list[str] | None = None,
    replace_signalement: bool = False,
) -> Action:
    """Save a new draft, or changes to a draft (the console's and the admin's forms).

    A new draft belongs to the user's organisation and, unless told, its region.
    `persons` and `vehicles` are added; with `replace_signalement` (a draft opened again in
    the console) they take the place of the ones it had.
    """
    is_new = action.pk is None
    if is_new:
        organisation = by.organisation
        if action.police_unit_id is None and organisation is not None:
            action.police_unit_id = organisation.police_unit_id
        action.organisation = organisation
        action.created_by = by
    if action.is_amber:
        action.police_unit = PoliceUnit.objects.get(is_national=True)
    if action.police_unit_id is None:
        raise ValidationError({"police_unit": MSG_NO_UNIT})
    _require_manage(by, action)
    if action.photo and not action.photo._committed:  # a new upload
        action.photo = photos.prepare(action.photo.file)
    action.full_clean()
    _require_point(by, action)
    with transaction.atomic():
        if not is_new:
            current = Action.objects.select_for_update().filter(pk=action.pk)
            if current.values_list("state", flat=True).get() != Action.State.DRAFT:
                raise ValidationError(MSG_NOT_DRAFT, code="state")
            # The region it was in must have been the user's too, not only the new one.
            _require_manage(by, current.get())
            approval.withdraw_on_edit(action, by)  # what was submitted is not what is sent
        action.save()
        action.reaches_units.set(_units_reached(action))
        if replace_signalement and not is_new:
            action.persons.all().delete()
            action.vehicles.all().delete()
        for person in persons:
            PersonDescription(action=action, **person).save()
        for vehicle in vehicles:
            VehicleDescription(action=action, **vehicle).save()
        if is_new:
            detail = {"kind": action.kind, "exercise": action.is_exercise}
        else:
            detail = {"fields": changed or []}
        verb = "action.created" if is_new else "action.changed"
        audit.record(verb=verb, actor=by, target=action, detail=detail)
    return action


# The life of a released action -------------------------------------------------------------


def action_release(*, action: Action, by, at: datetime | None = None) -> Sent:
    """Release a draft: alert everyone in its area on its channels (an exercise: only test
    devices). `at` is the moment of release, for targeting (default now)."""
    at = at or timezone.now()
    with transaction.atomic():
        _lock(action)
        _require_manage(by, action)
        _require_point(by, action)
        # An alert that needs two people goes out only as approved (actions/approval.py).
        problems = action.release_problems() + approval.release_problems(action, by=by)
        if problems:
            raise ValidationError(problems, code="release")
        target = targeting.Target.of(action)
        message = _message(action, "release")
        queued = _send_release(message, target, at)
        _send_webhooks(message, action)
        action.state = Action.State.RELEASED
        action.released_at = at
        action.release_message = message
        action.save(update_fields=["state", "released_at", "release_message"])
        audit.record(
            verb="action.released",
            actor=by,
            target=action,
            detail={"message": message.pk, "queued": queued, "exercise": action.is_exercise},
        )
    return Sent(message, queued)


def action_update(*, action: Action, by, text: str, at: datetime | None = None) -> Sent:
    """Send news about a running action to everyone alerted so far and to newcomers who
    are in the area now."""
    at = at or timezone.now()
    text = _required_text(text)
    with transaction.atomic():
        earlier = _lock_running(action, by, Action.can_update)
        update = ActionUpdate.objects.create(action=action, text=text, created_by=by)
        message = _message(action, f"update:{update.pk}", text=text)
        queued = _send_update(message, targeting.Target.of(action), earlier, at)
        _send_webhooks(message, action)
        update.message = message
        update.save(update_fields=["message"])
        audit.record(
            verb="action.updated",
            actor=by,
            target=action,
            detail={"update": update.pk, "message": message.pk, "queued": queued},
        )
    return Sent(message, queued)


def action_end(
    *,
    action: Action,
    by,
    result: str,
    text: str,
    information_contributed: bool | None = None,
    calls_registered: int | None = 0,
    at: datetime | None = None,
) -> Sent:
    """End a running action with its outcome (uitkomst): the result, whether participants'
    information contributed (required), and the telephone reactions registered. The end
    message (afloopbericht) goes to exactly those who were alerted, on the channels they
    were alerted on. Whatever of the earlier messages is still queued is stopped first: it
    would only arrive after the end."""
    at = at or timezone.now()
    text = _required_text(text)
    calls_registered = 0 if calls_registered is None else calls_registered
    _require_outcome(result, information_contributed, calls_registered)
    with transaction.atomic():
        earlier = _lock_running(action, by, Action.can_end)
        _stop(earlier)
        action.state = Action.State.ENDED
        action.result = result
        action.information_contributed = information_contributed
        action.calls_registered = calls_registered
        action.ended_at = at
        action.save(
            update_fields=[
                "state",
                "result",
                "information_contributed",
                "calls_registered",
                "ended_at",
            ]
        )
        message = _message(action, "end", text=text, result=result)
        queued = _send_to_alerted(message, action, earlier, at)
        _send_webhooks(message, action)
        EndMessage.objects.create(action=action, text=text, created_by=by, message=message)
        # Its outcome and end message count on its release day, however long it ran.
        _recount(action, "actions", "action_messages")
        audit.record(
            verb="action.ended",
            actor=by,
            target=action,
            detail={
                "result": result,
                "contributed": information_contributed,
                "calls": calls_registered,
                "message": message.pk,
                "queued": queued,
            },
        )
    return Sent(message, queued)


OUTCOME_FIELDS = ("result", "information_contributed", "calls_registered")


def action_outcome_set(
    *,
    action: Action,
    by,
    result: str,
    information_contributed: bool | None,
    calls_registered: int | None = 0,
    request=None,
) -> Action:
    """Correct the outcome (uitkomst corrigeren) of an ended action: its result, whether
    participants' information contributed, the telephone reactions registered. Only an
    ended action (not a draft, a running or a withdrawn one), only by someone who may
    manage it. No message goes out; the report counts the action's release day again."""
    calls_registered = 0 if calls_registered is None else calls_registered
    _require_outcome(result, information_contributed, calls_registered)
    with transaction.atomic():
        _lock(action)
        _require_manage(by, action)
        if action.state != Action.State.ENDED:
            raise ValidationError(MSG_OUTCOME_NOT_ENDED, code="state")
        new = {
            "result": result,
            "information_contributed": information_contributed,
            "calls_registered": calls_registered,
        }
        old = {field: getattr(action, field) for field in OUTCOME_FIELDS}
        if old == new:
            return action
        for field, value in new.items():
            setattr(action, field, value)
        action.save(update_fields=list(OUTCOME_FIELDS))
        _recount(action, "actions")
        audit.record(
            verb="action.outcome",
            actor=by,
            target=action,
            request=request,
            detail={"old": old, "new": new},
        )
    return action


def _recount(action: Action, *collectors: str, always: bool = True) -> None:
    """Have the report count the action's release day again (report.py counts everything
    of an action on that day). Without `always`, only when the day has left the window the
    hourly refresh counts anyway (REPORT_REFRESH_DAYS): a tip on a long-running action."""
    if action.released_at is None:
        return
    day = reporting.local_day(action.released_at)
    if not always:
        window = settings.REPORT_REFRESH_DAYS
        if (timezone.localdate() - day).days < window - 1:
            return
    for collector in collectors:
        reporting.mark_stale(day, collector)


def _require_outcome(result, information_contributed, calls_registered) -> None:
    problems = outcome_problems(
        result=result,
        information_contributed=information_contributed,
        calls_registered=calls_registered,
    )
    if problems:
        raise ValidationError(problems)


def action_cancel(*, action: Action, by, text: str, at: datetime | None = None) -> Sent:
    """Withdraw an action released by mistake: stop what is still queued and send a
    correction (rectificatie) to everyone who got it."""
    at = at or timezone.now()
    text = _required_text(text)
    with transaction.atomic():
        earlier = _lock_running(action, by, Action.can_cancel)
        _stop(earlier)
        message = _message(action, "cancel", text=text)
        queued = _send_to_alerted(message, action, earlier, at)
        _send_webhooks(message, action)
        action.state = Action.State.CANCELLED
        action.cancelled_at = at
        action.correction = text
        action.cancel_message = message
        action.save(update_fields=["state", "cancelled_at", "correction", "cancel_message"])
        _recount(action, "actions", "action_messages")
        audit.record(
            verb="action.cancelled",
            actor=by,
            target=action,
            detail={"message": message.pk, "queued": queued},
        )
    return Sent(message, queued)


def action_stop_sending(*, action: Action, by) -> int:
    """The stop button: cancel whatever of the action's alerts (release and updates) is
    still queued; rows being sent at this moment finish. Returns the rows cancelled."""
    with transaction.atomic():
        _lock(action)
        _require_manage(by, action)
        messages = OutgoingMessage.objects.filter(pk__in=action.alerting_message_ids())
        cancelled = sum(outbox.stop(message) for message in messages)
        audit.record(
            verb="action.stopped", actor=by, target=action, detail={"cancelled": cancelled}
        )
    return cancelled


# Tips --------------------------------------------------------------------------------------


def tip_submit(*, action: Action, text: str, photo=None, phone: str = "") -> Tip:
    """A citizen's tip on a running action (anonymous unless a phone number is left)."""
    text = _required_text(text, max_length=TIP_TEXT_MAX)
    if not action.accepts_tips():
        raise ValidationError(MSG_NO_TIPS, code="state")
    tip = Tip(action=action, text=text, phone=(phone or "").strip())
    if photo:
        tip.photo = photos.prepare(photo)
    tip.full_clean()
    with transaction.atomic():
        tip.save()
        # Counted on the action too: the report's reactions outlive the tips (retention).
        Action.objects.filter(pk=action.pk).update(tips_counted=F("tips_counted") + 1)
        _recount(action, "actions", always=False)
        # Who sent it stays out of the trail: a tip is anonymous unless it says otherwise.
        audit.record(verb="tip.received", target=tip, detail={"action": action.pk})
    return tip


def tip_mark_read(*, tip: Tip, by) -> Tip:
    _require_manage(by, tip.action)
    if not tip.is_read:
        with transaction.atomic():
            Tip.objects.filter(pk=tip.pk).update(is_read=True)
            tip.is_read = True
            audit.record(verb="tip.read", actor=by, target=tip, detail={"action": tip.action_id})
    return tip


# Is this message genuine? ------------------------------------------------------------------

VERIFY_TEXT_MAX = 5000
MSG_VERIFY_EMPTY = _("Vul een controlecode in, of plak het bericht of de link.")
MSG_VERIFY_TOO_LONG = _("Plak hooguit %(max)s tekens. Een controlecode of de link is genoeg.")
# The address of an action page in a pasted text, with the host before it when there is one.
ACTION_LINK = re.compile(
    r"(?:https?://)?(?P<host>[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)?/actie/"
    r"(?P<ref>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verification:
    """What the check of a pasted code, text or link found: the real action it names
    (None: no real Burgernet action), whether it held a code or link at all, and whether
    a link in it pointed at another site than Burgernet's own."""

    action: Action | None
    looked_for: bool
    foreign_link: bool = False

    @property
    def is_genuine(self) -> bool:
        return self.action is not None


def action_verify(text: str) -> Verification:
    """Check a code ("BN-7KQ4XZ", in any case, anywhere in the text) or a link to an
    action page in what a citizen pasted. Only actions that went out count: a draft or an
    exercise is as unknown as a made-up code. Raises ValidationError for an empty or an
    overlong text."""
    text = clean_text(text or "").strip()
    if not text:
        raise ValidationError(MSG_VERIFY_EMPTY, code="required")
    if len(text) > VERIFY_TEXT_MAX:
        raise ValidationError(
            MSG_VERIFY_TOO_LONG, code="max_length", params={"max": VERIFY_TEXT_MAX}
        )
    codes = [VERIFICATION_PREFIX + m.group(1).upper() for m in VERIFICATION_PATTERN.finditer(text)]
    official = (urlsplit(settings.SITE_URL).netloc or "").lower()
    refs, foreign = [], False
    for match in ACTION_LINK.finditer(text):
        host = (match.group("host") or "").lower()
        if host and host != official:
            foreign = True  # a look-alike site: its page is not the one we vouch for
            continue
        refs.append(match.group("ref").lower())
    if not codes and not refs:
        return Verification(action=None, looked_for=False, foreign_link=foreign)
    public = Action.objects.exclude(state=Action.State.DRAFT).filter(is_exercise=False)
    for lookup, values in (("verification_code__in", codes), ("ref__in", refs)):
        if values:
            action = public.filter(**{lookup: values}).select_related("end_message").first()
            if action is not None:
                return Verification(action=action, looked_for=True, foreign_link=foreign)
    return Verification(action=None, looked_for=True, foreign_link=foreign)


# Helpers -----------------------------------------------------------------------------------


def _require_manage(by, action: Action) -> None:
    require(by, "action.manage", action)
    if action.is_amber:
        require(by, "action.amber", action)


def _lock(action: Action) -> None:
    """Lock the action's row and read its current state (two operators, one click each)."""
    action.refresh_from_db(from_queryset=Action.objects.select_for_update())


def _lock_running(action: Action, by, allows: Callable[[Action], bool]) -> list[int]:
    """Lock a running action for a message after its release (update, end, cancel): the
    user must manage it and its state allow the verb (`allows`, e.g. Action.can_end).
    Returns the messages that alerted people so far (the release and the updates)."""
    _lock(action)
    _require_manage(by, action)
    if not allows(action):
        raise ValidationError(MSG_NOT_RELEASED, code="state")
    return action.alerting_message_ids()


def _required_text(text: str, *, max_length: int = FOLLOW_UP_TEXT_MAX) -> str:
    """The text of an update, end message, correction or tip as it is stored and sent:
    cleaned (web/text.py), not empty, not longer than the model allows (an update or end
    message is created without full_clean, so its length is checked here)."""
    text = clean_text(text or "").strip()
    if not text:
        raise ValidationError({"text": MSG_EMPTY_TEXT})
    try:
        MaxLengthValidator(max_length)(text)
    except ValidationError as exc:
        raise ValidationError({"text": exc.error_list}) from None
    return text


# An action's messages, in the readers' languages -------------------------------------------

FOLLOW_UPS = frozenset({"end", "cancel"})


def action_message_preview(
    action: Action, what: str = "release", *, text: str = "", result: str = ""
) -> OutgoingMessage:
    """The message a step of the action would send, exactly as the step builds it, but not
    saved and without writing anything: for the release screen, which shows each channel's
    text before the operator releases. `what` is "release", "update", "end" or "cancel";
    `text` is the update's, end message's or correction's text, `result` the end's (the
    action's own when not given)."""
    return _build_message(action, what, text=text, result=result)


def _message(action: Action, what: str, *, text: str = "", result: str = "") -> OutgoingMessage:
    """The outgoing message of one step of an action (see _build_message), saved."""
    message = _build_message(action, what, text=text, result=result)
    message.save()
    return message


def _build_message(
    action: Action, what: str, *, text: str = "", result: str = ""
) -> OutgoingMessage:
    """The outgoing message of one step of an action, not saved. `what` is "release",
    "update:<pk>", "end" or "cancel"; `text` the operator's text of the last three.

    Its own title and body are Dutch, whatever language the operator's screen is in.
    `data["texts"]` holds the message in the readers' other languages (wording.py): the
    fixed wording in that language, the free description where the operator wrote it in
    that language (Dutch otherwise). Each language names its call line (`call`) and the
    span of its body a channel with little room shortens first (`shorten_first`, the free
    description), so the kind, the signalement and the call line survive in a short SMS.
    The operator's own SMS text of a release goes in `data["sms"]["nl"]`.
    """
    step = what.split(":")[0]
    follow_up = step in FOLLOW_UPS
    result = result or action.result
    texts = {
        language: _texts(action, step, language, text=text, result=result)
        for language in wording.LANGUAGES
    }
    dutch = texts.pop(wording.DEFAULT_LANGUAGE)
    data = {
        "action": str(action.ref),
        "kind": action.kind,
        "what": step,
        "exercise": action.is_exercise,
    }
    # The photo goes with the alerts, not with the end message or the correction; and
    # those stay on screen only as long as the phone keeps any notification there (an
    # alert of a time-critical action stays until the citizen dismisses it).
    if action.photo and not follow_up:
        data["image"] = media.action_photo_url(action)
    if follow_up:
        data["follow_up"] = True
    if "shorten_first" in dutch:
        data["shorten_first"] = dutch["shorten_first"]
    if "call" in dutch:
        data["call"] = dutch["call"]
    data["texts"] = texts
    if step == "release" and action.own_sms():
        own = f"{action.own_sms()}\n{action.verification_line()}"
        data["sms"] = {wording.DEFAULT_LANGUAGE: own}
    urgent = action.is_time_critical
    if follow_up:
        ttl = FOLLOW_UP_TTL_S
    else:
        ttl = TIME_CRITICAL_TTL_S if urgent else NOT_TIME_CRITICAL_TTL_S
    return OutgoingMessage(
        source=f"actions.action:{action.pk}:{what}",
        title=dutch["title"],
        body=dutch["body"],
        # One topic per action: a newer message about it replaces one the device has not
        # fetched yet, so a phone that was off gets only the latest state of the action.
        topic=f"burgernet-actie-{action.pk}",
        urgency=OutgoingMessage.Urgency.HIGH if urgent else OutgoingMessage.Urgency.NORMAL,
        ttl_seconds=ttl,
        # Opening the push (or the SMS link) shows the citizens' action page.
        url=action.page_url(),
        data=data,
    )


def _texts(action: Action, step: str, language: str, *, text: str, result: str) -> dict:
    """One step's title and body in `language`, fitted (BODY_MAX, TITLE_MAX), with the
    span to shorten first and the call line where the body has them."""
    say = partial(wording.phrase, language=language)
    span, call = None, ""
    if step == "release":
        title = action.title
        body, span, call = _alert_body(action, language)
    elif step in ("update", "end", "cancel"):
        title = say({"update": "update", "end": "ended", "cancel": "correction"}[step])
        title = title % action.title
        before = f"{wording.result(result, language)}. " if step == "end" and result else ""
        # The operator's text gives way first, so the verification code after it stays.
        span = (len(before), len(before) + len(text))
        body = f"{before}{text}\n{action.verification_line(language)}"
    else:
        raise ValueError(f"no message for the step {step!r}")
    if action.is_exercise:
        title = f"{say('exercise')} – {title}"
        prefix = f"{say('exercise_notice')} "
        body = prefix + body
        if span:
            span = (span[0] + len(prefix), span[1] + len(prefix))
    body, span = _fit_body(body, span)
    fitted = {"title": _truncate(f"Burgernet: {title}", TITLE_MAX), "body": body}
    if span:
        fitted["shorten_first"] = list(span)
    if call and body.endswith(call):
        fitted["call"] = call
    return fitted


def _alert_body(
    action: Action, language: str = wording.DEFAULT_LANGUAGE
) -> tuple[str, tuple[int, int] | None, str]:
    """The alert's text in `language`: the kind, the verification code, the signalement,
    the free description (in that language where the operator wrote it), the call line;
    the span of the free description, which a short channel shortens first; and the call
    line."""
    # The code right after the kind: a short channel shortens the free description first,
    # then what stands before the call line from its end (texts.shorten), so the code
    # survives even a signalement too long for the SMS.
    lines = [wording.kind(action.kind, language), action.verification_line(language)]
    lines += [", ".join(_person_parts(person, language)) for person in action.persons.all()]
    lines += [", ".join(vehicle.summary_parts()) for vehicle in action.vehicles.all()]
    head = "\n".join(line for line in lines if line)
    call = wording.phrase("call", language)
    free = _free_text(action, language)
    if not free:
        return f"{head}\n{call}", None, call
    start = len(head) + 1
    return f"{head}\n{free}\n{call}", (start, start + len(free)), call


def _free_text(action: Action, language: str) -> str:
    """The action's free description for a reader of `language`: the operator's text in
    that language where there is one, the Dutch text otherwise."""
    if language != wording.DEFAULT_LANGUAGE:
        translated = (getattr(action, f"text_{language}", "") or "").strip()
        if translated:
            return translated
    return action.text


def _person_parts(person: PersonDescription, language: str) -> list[str]:
    """A person's signalement with its fixed words (sex, age) in `language`; what the
    operator typed (length, build, clothing) as typed."""
    parts = []
    if person.sex != PersonDescription.Sex.UNKNOWN:
        parts.append(wording.sex(person.sex, language))
    if person.age:
        parts.append(wording.age(person.age, language))
    parts += [person.length, person.build, person.clothing, person.particulars]
    return [part for part in parts if part]


def _fit_body(body: str, span: tuple[int, int] | None):
    """`body` within BODY_MAX, shortening the span (the free description) first so what
    follows it (the call line) stays; returns the body and the span as it is now."""
    if len(body) <= BODY_MAX:
        return body, span
    if span:
        start, end = span
        keep = (end - start) - (len(body) - BODY_MAX) - 1  # room for the ellipsis
        if keep >= 0:
            free = body[start : start + keep].rstrip() + "…"
            return body[:start] + free + body[end:], (start, start + len(free))
    return _truncate(body, BODY_MAX), None


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _send(message: OutgoingMessage, recipients: dict) -> dict[str, int]:
    """Write the deliveries of `message` (set-based, in this transaction) and have the
    outbox start sending once it commits. Returns the deliveries per channel."""
    queued = {}
    for channel, ids in recipients.items():
        kind = "device_ids" if channel == Channel.WEBPUSH else "participant_ids"
        queued[str(channel)] = outbox.enqueue_from_queryset(
            message=message, channel=channel, **{kind: ids}
        )
    outbox.release(message)  # queues its tasks on commit
    return queued


def _send_release(message, target, at: datetime) -> dict[str, int]:
    """A release's deliveries on the channels of the day (Target.plan): devices in the
    area, and participants by address, selected once for the channels without a ceiling;
    on a channel with a ceiling, the nearest to the incident point up to it."""
    plan = target.plan(at)
    by_address = [
        channel
        for channel in plan.channels
        if channel != Channel.WEBPUSH and plan.ceiling(channel) is None
    ]
    queued = {}
    for channel in plan.channels:
        ceiling = plan.ceiling(channel)
        if channel == Channel.WEBPUSH or ceiling is not None:
            kind = "device_ids" if channel == Channel.WEBPUSH else "participant_ids"
            if ceiling is None:
                ids = targeting.in_area(target, channel=channel, at=at)
            else:
                ids = targeting.nearest_in_area(target, channel=channel, at=at, limit=ceiling)
            queued[channel] = outbox.enqueue_from_queryset(
                message=message, channel=channel, **{kind: ids}
            )
    if by_address:
        participants = targeting.in_area_by_channel(target, channels=by_address, at=at)
        written = outbox.enqueue_by_choice(
            message=message, participants=participants, channels=by_address
        )
        queued.update({str(channel): n for channel, n in written.items()})
    outbox.release(message)  # queues its tasks on commit
    return {str(channel): queued[str(channel)] for channel in plan.channels}


def _send_update(message, target, earlier: list[int], at: datetime) -> dict[str, int]:
    """An update's deliveries: everyone alerted so far, and newcomers now in the area; on
    a channel with a ceiling, newcomers only up to it, the nearest first (those alerted
    always hear the news)."""
    plan = target.plan(at)
    queued = {}
    for channel in plan.channels:
        kind = "device_ids" if channel == Channel.WEBPUSH else "participant_ids"
        ceiling = plan.ceiling(channel)
        if ceiling is None:
            ids = targeting.in_area_or_alerted(target, channel=channel, at=at, message_ids=earlier)
            queued[channel] = outbox.enqueue_from_queryset(
                message=message, channel=channel, **{kind: ids}
            )
            continue
        alerted = targeting.alerted(message_ids=earlier, channel=channel, at=at)
        written = outbox.enqueue_from_queryset(message=message, channel=channel, **{kind: alerted})
        room = max(0, ceiling - written)
        if room:
            newcomers = targeting.in_area(target, channel=channel, at=at).exclude(
                pk__in=targeting.alerted(message_ids=earlier, channel=channel, at=at)
            )
            written += outbox.enqueue_from_queryset(
                message=message,
                channel=channel,
                **{
                    kind: targeting.nearest_first(
                        newcomers, target, channel=channel, limit=room, at=at
                    )
                },
            )
        queued[channel] = written
    outbox.release(message)  # queues its tasks on commit
    return {str(channel): n for channel, n in queued.items()}


def _send_to_alerted(message, action: Action, earlier: list[int], at: datetime) -> dict:
    """An end message or correction: to exactly those alerted, on the channels in use
    now (a channel paused since the release carries no more)."""
    queued = _send(
        message,
        {
            channel: targeting.alerted(message_ids=earlier, channel=channel, at=at)
            for channel in targeting.Target.of(action).plan(at).channels
        },
    )
    _defer_for_quiet_hours(message, at)
    return queued


def _send_webhooks(message: OutgoingMessage, action: Action) -> int:
    """One webhook delivery of `message` per active subscription whose filters the action
    passes (WebhookSubscription.matches), while the webhook channel carries the action's
    kind and urgency. Exercises never go to partners. Returns the deliveries written."""
    if action.is_exercise or not channel_plan.publishes(
        Channel.WEBHOOK, kind=action.kind, urgent=action.is_time_critical
    ):
        return 0
    subscriptions = list(WebhookSubscription.objects.filter(is_active=True))
    if not subscriptions:
        return 0
    units, provinces = set(), set()
    nationwide = action.is_amber or action.police_unit.is_national
    if not nationwide and any(s.units or s.provinces for s in subscriptions):
        units = {regions.slug(u) for u in [action.police_unit, *action.reaches_units.all()]}
        # The provinces the circle reaches into, as units_reached finds the units.
        in_circle = PostcodeArea.objects.filter(
            in_circle_q("lat", "lon", action.lat, action.lon, action.radius_m + AREA_MARGIN_M)
        )
        reached = Province.objects.filter(municipalities__postcodes__in=in_circle).distinct()
        provinces = {regions.slug(province) for province in reached}
    chosen = [
        s
        for s in subscriptions
        if s.matches(
            kind=action.kind,
            urgency=message.urgency,
            units=units,
            provinces=provinces,
            nationwide=nationwide,
        )
    ]
    written = Delivery.objects.bulk_create(
        [Delivery(message=message, channel=Channel.WEBHOOK, subscription=s) for s in chosen],
        ignore_conflicts=True,
    )
    return len(written)


def _defer_for_quiet_hours(message, at: datetime) -> None:
    """An end message or correction by SMS or voice to someone in quiet hours waits until
    they end (the outbox sends a row only once it is due), rather than never coming."""
    for channel in (Channel.SMS, Channel.VOICE):
        rows = Delivery.objects.filter(
            message=message, channel=channel, state=Delivery.State.QUEUED
        )
        ends = targeting.quiet_hours_ends(rows.values("participant_id"), at=at)
        for end, participant_ids in ends.items():
            rows.filter(participant_id__in=participant_ids).update(next_attempt_at=end)


def _stop(message_ids: list[int]) -> None:
    for message in OutgoingMessage.objects.filter(pk__in=message_ids):
        outbox.stop(message)
