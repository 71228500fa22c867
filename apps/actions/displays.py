"""Displays (matrix boards, bus and tram screens, a municipality's screen): per police
unit, the running actions of the kinds the "display" channel carries (missing persons, by
default), as display text within the length each display fits.

Thousands of screens poll: the JSON has an ETag (a hash of its content) and a
Last-Modified, and a conditional request is answered 304 without a body. The content is
read with a constant number of queries whatever the number of actions (the channel
settings, the actions with their release message, the latest changes).
"""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Subquery
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from apps.channels import plan
from apps.channels.models import Channel, ChannelSetting, OutgoingMessage
from apps.governance.models import PoliceUnit

from . import cap, media, regions, wording
from .feeds import in_unit
from .models import Action

DEFAULT_LENGTH, MIN_LENGTH, MAX_LENGTH = 160, 40, 500
LENGTH_PARAM = "lengte"
CACHE_CONTROL = "public, max-age=30"
# The display page asks the JSON again every so many seconds (?verversen=N to change it).
REFRESH_S, MIN_REFRESH_S, MAX_REFRESH_S = 30, 1, 3600
REFRESH_PARAM = "verversen"
MSG_BAD_LENGTH = "lengte moet een geheel getal van %(min)d tot en met %(max)d zijn"


@dataclass(frozen=True)
class Board:
    """What a display shows: its items and when that last changed."""

    items: list[dict]
    last_modified: object  # an aware datetime, or None when nothing ever showed


def board_for(unit, *, length: int) -> Board:
    """The running actions a display in `unit` shows, each as display text within
    `length` characters; none when the display channel is paused."""
    actions = shown_actions(unit)
    moments = list(_latest_changes().values())
    moments = [moment for moment in moments if moment is not None]
    return Board(
        [display_item(action, length=length) for action in actions],
        max(moments, default=None),
    )


def shown_actions(unit) -> list[Action]:
    """The running actions a display in `unit` shows (the display channel's kinds; none
    when it is paused), the newest first."""
    kinds = plan.published_kinds(Channel.DISPLAY.value)
    if kinds == []:
        return []
    shown = in_unit(Action.objects.filter(is_exercise=False), unit)
    if kinds is not None:
        shown = shown.filter(kind__in=kinds)
    return list(
        shown.filter(state=Action.State.RELEASED)
        .select_related("release_message")
        .order_by("-released_at", "-id")
    )


def _latest_changes() -> dict:
    """The latest release, end and withdrawal of any action, and the latest change of the
    channel settings, in one query (each a lookup in its own index).

    A display's Last-Modified: an action leaving a board leaves no trace on the board, so
    the latest change anywhere stands for it. Conservative (a board may answer 200 where
    nothing of its own changed) but never a 304 for a board that did change; the ETag,
    which a conditional request's If-None-Match puts first, answers 304 to those."""

    def latest(model, name):
        ordered = model.objects.exclude(**{name: None}).order_by(f"-{name}")
        return Subquery(ordered.values(name)[:1])

    return (
        PoliceUnit.objects.annotate(
            released=latest(Action, "released_at"),
            ended=latest(Action, "ended_at"),
            cancelled=latest(Action, "cancelled_at"),
            setting=latest(ChannelSetting, "updated_at"),
        )
        .values("released", "ended", "cancelled", "setting")
        .order_by()
        .first()
    ) or {}


def display_item(action: Action, *, length: int) -> dict:
    """One action as a display shows it; no field longer than `length`."""
    label = capfirst(wording.kind(action.kind))
    return {
        "kind": action.kind,
        "label": fit(label, length),
        "title": fit(action.title, length),
        "text": display_text(action, length=length),
        # A running action's photo, where the police published one (they are all running).
        "photo": media.action_photo_url(action) if action.photo else None,
        "url": action.page_url(),
    }


def display_text(action: Action, *, length: int) -> str:
    """The title, the alert's text (signalement, description) and the call line on one
    line within `length`; the description gives way first, the call line stays when it
    fits."""
    message = action.release_message
    call = wording.phrase("call")
    if message is not None:
        lines = [line.strip() for line in message.body.splitlines() if line.strip()]
        # The first line is the kind (the label says it); the last the call line.
        if lines and lines[-1] == call:
            lines.pop()
        if lines and lines[0] == wording.kind(action.kind):
            lines.pop(0)
    else:
        lines = [action.text] if action.text else []
    head = ". ".join([action.title, *lines])
    room = length - len(call) - 1
    if room >= 20:
        return f"{fit(head, room)} {call}"
    return fit(head, length)


def fit(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _length(request) -> int | None:
    raw = request.GET.get(LENGTH_PARAM)
    if raw is None or raw == "":
        return DEFAULT_LENGTH
    if not raw.isdigit() or not MIN_LENGTH <= int(raw) <= MAX_LENGTH:
        return None
    return int(raw)


@require_safe
def board_json(request, slug):
    unit = regions.unit_by_slug(slug)
    length = _length(request)
    if length is None:
        error = MSG_BAD_LENGTH % {"min": MIN_LENGTH, "max": MAX_LENGTH}
        return JsonResponse({"error": error}, status=400)
    board = board_for(unit, length=length)
    body = json.dumps(
        {"region": unit.name, "length": length, "items": board.items},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    last_modified = int(board.last_modified.timestamp()) if board.last_modified else None
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    response["Cache-Control"] = CACHE_CONTROL
    return response


@require_safe
def board_cap(request, slug):
    """The same board in CAP 1.2: an Atom feed (the OASIS "CAP feeds" practice) with, per
    action shown, an entry linking to its latest CAP message; ETag and 304 like the JSON."""
    unit = regions.unit_by_slug(slug)
    published = []
    for action in shown_actions(unit):
        what, pk = action.sent_messages()[-1]
        message = OutgoingMessage.objects.get(pk=pk)
        published.append(cap.Published(action, message, what))
    self_url = settings.SITE_URL + reverse("displays:cap", kwargs={"slug": slug})
    body = cap.index_atom(published, self_url=self_url, title=f"Burgernet: {unit.name}")
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type=cap.ATOM_CONTENT_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


@require_safe
def board_page(request, slug):
    """The full-screen page a municipal screen shows as it is: large text, high contrast,
    refreshing itself (display.js polls the JSON; without script, a meta refresh)."""
    unit = regions.unit_by_slug(slug)
    refresh = _refresh(request)
    board = board_for(unit, length=MAX_LENGTH)
    json_url = reverse("displays:json", kwargs={"slug": slug}) + f"?{LENGTH_PARAM}={MAX_LENGTH}"
    context = {
        "unit": unit,
        "items": board.items,
        "refresh": refresh,
        "json_url": json_url,
        "empty_text": _("Geen vermissingen in deze regio"),
    }
    response = render(request, "actions/displays/board.html", context)
    response["Cache-Control"] = CACHE_CONTROL
    return response


def _refresh(request) -> int:
    raw = request.GET.get(REFRESH_PARAM, "")
    if raw.isdigit():
        return max(MIN_REFRESH_S, min(MAX_REFRESH_S, int(raw)))
    return REFRESH_S
