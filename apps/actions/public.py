"""The citizens' action page (opened from a push, an SMS link or a shared link) with its
share card (Open Graph / Twitter tags) and its tip form, and the page that tells whether a
forwarded message is a real Burgernet action. An action is found by its random `ref` (or its
verification code), never by its database id; drafts do not exist here."""

from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.governance.geo import bounding_box, distance_m
from apps.governance.models import PostcodeArea
from apps.web import maps, photos, ratelimit
from apps.web.client import client_key
from apps.web.forms import add_errors, error_links
from apps.web.rendered import rendered_once

from . import media, services
from .models import Action
from .public_forms import TipForm, VerifyForm

# (limit, window in seconds): per client and action, and per client over all actions.
TIP_LIMITS = {
    "tip.action_ip": (5, 10 * 60),
    "tip.ip": (20, 60 * 60),
}
# The check "is this message genuine?": generous for a person, a wall for a script that
# would guess codes.
VERIFY_LIMITS = {
    "verify.ip": (20, 10 * 60),
    "verify.ip_day": (100, 24 * 60 * 60),
}
RATE = ratelimit.Limits("actions", TIP_LIMITS)
VERIFY_RATE = ratelimit.Limits("actions", VERIFY_LIMITS)
TIP_SENT = "ontvangen"  # ?tip=ontvangen after a tip: the page thanks the sender
# How far from the incident point a place name may lie to describe where it was.
PLACE_SEARCH_M = 10_000
WHATSAPP_SHARE = "https://wa.me/?text="
# The share card's text: a line or two in a chat app's preview.
CARD_TEXT_CHARS = 200


@require_safe
@never_cache
def action_page(request, ref):
    action = _public_action(ref)
    form = TipForm() if action.accepts_tips() else None
    return _render(request, action, form, tip_sent=request.GET.get("tip") == TIP_SENT)


@require_POST
@never_cache
@csrf_exempt  # checked by _tip, once the size is known to be sane (see below)
def tip(request, ref):
    """A huge request is refused by its Content-Length before anything reads its body:
    Django's CSRF middleware would otherwise parse the whole upload (into a temporary
    file) just to find the token. This is Django's documented pattern for a view that must
    act before the body is read: csrf_exempt outside, csrf_protect inside."""
    action = _public_action(ref)
    if photos.photo_form_too_large(request):
        form = TipForm() if action.accepts_tips() else None
        return _render(request, action, form, status=413, too_large=True)
    return _tip(request, action)


@csrf_protect
def _tip(request, action: Action):
    ip = client_key(request)
    if RATE.exceeded({"tip.action_ip": f"{action.ref}:{ip}", "tip.ip": ip}):
        return render(request, "actions/public/rate_limited.html", {"action": action}, status=429)
    if not action.accepts_tips():
        return _render(request, action, None, status=409)
    form = TipForm(request.POST, request.FILES)
    if form.is_bot():
        return _thanks(action)  # no Tip; the sender learns nothing
    if not form.is_valid():
        return _render(request, action, form, status=400)
    try:
        services.tip_submit(action=action, **_tip_fields(form))
    except ValidationError as exc:
        if getattr(exc, "code", None) == "state":  # ended while the citizen was typing
            action.refresh_from_db()
            return _render(request, action, None, status=409)
        # tip_submit checks the text and the state itself; what else it raises comes
        # from photos.prepare, so it is about the photo.
        add_errors(form, exc, field="photo")
        return _render(request, action, form, status=400)
    return _thanks(action)


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def verify(request):
    """Is dit bericht echt? The form, and the check of what a citizen pasted: a code, a
    forwarded text or a link."""
    if request.method != "POST":
        return _render_verify(request, VerifyForm())
    ip = client_key(request)
    if VERIFY_RATE.exceeded({"verify.ip": ip, "verify.ip_day": ip}):
        return _render_verify(request, VerifyForm(), status=429, rate_limited=True)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return _render_verify(request, form, status=400)
    try:
        verification = services.action_verify(form.cleaned_data["text"])
    except ValidationError as exc:
        add_errors(form, exc, field="text")
        return _render_verify(request, form, status=400)
    return _render_verify(request, form, verification=verification)


def _render_verify(request, form, *, status=200, verification=None, rate_limited=False):
    context = {
        "form": form,
        # An empty form's fields are the same for everyone (apps/web/rendered.py).
        "tip_fields_html": (
            rendered_once("actions/public/_tip_fields.html", {"form": TipForm()})
            if form is not None and not form.is_bound
            else ""
        ),
        "errors": error_links(form),
        "verification": verification,
        "official_url": page_url(verification.action)
        if verification and verification.action
        else "",
        "rate_limited": rate_limited,
        "canonical_url": settings.SITE_URL + reverse("alerts:verify"),
    }
    return render(request, "actions/public/verify.html", context, status=status)


def page_url(action: Action) -> str:
    """The page's absolute address, as sent in pushes and shared (services._message)."""
    return settings.SITE_URL + reverse("alerts:action", kwargs={"ref": action.ref})


def _public_action(ref) -> Action:
    return get_object_or_404(
        Action.objects.exclude(state=Action.State.DRAFT)
        .select_related("end_message")
        .prefetch_related("persons", "vehicles", "updates"),
        ref=ref,
    )


def _tip_fields(form: TipForm) -> dict:
    data = form.cleaned_data
    return {"text": data["text"], "photo": data["photo"] or None, "phone": data["phone"]}


def _thanks(action: Action):
    url = reverse("alerts:action", kwargs={"ref": action.ref})
    return redirect(f"{url}?tip={TIP_SENT}#tip-sent")


def _render(
    request,
    action: Action,
    form: TipForm | None,
    *,
    status=200,
    tip_sent=False,
    too_large=False,
):
    try:
        end_message = action.end_message
    except ObjectDoesNotExist:
        end_message = None
    url = page_url(action)
    share_text = f"{_('OEFENING')} – " if action.is_exercise else ""
    share_text += f"Burgernet: {action.title} {url}"
    shows_details = action.state != Action.State.CANCELLED
    context = {
        "action": action,
        "end_message": end_message,
        "updates": list(action.updates.all()),
        "shows_details": shows_details,
        # A found person's photo is not kept on show once the action is over.
        "shows_photo": action.is_active and media.may_see_action_photo(request.user, action),
        "place": _place_near(action.lat, action.lon),
        "radius_km": action.radius_m / 1000,
        "map": _map_config(action) if shows_details else None,
        "page_url": url,
        "share_text": share_text,
        "whatsapp_url": WHATSAPP_SHARE + quote(share_text, safe=""),
        "form": form,
        # An empty form's fields are the same for everyone (apps/web/rendered.py).
        "tip_fields_html": (
            rendered_once("actions/public/_tip_fields.html", {"form": TipForm()})
            if form is not None and not form.is_bound
            else ""
        ),
        "errors": error_links(form),
        "tip_sent": tip_sent,
        "too_large": photos.MSG_TOO_LARGE if too_large else "",
        "card": _share_card(action, end_message, url),
    }
    return render(request, "actions/public/action.html", context, status=status)


def _share_card(action: Action, end_message, url: str) -> dict:
    """What a link to the page shows when shared (WhatsApp, social media): the Open Graph
    and Twitter tags. The photo only while the action runs and only where it is public to
    anyone (never an exercise's); after the end or a withdrawal the card says so instead."""
    title = action.title
    if action.state == Action.State.ENDED:
        title = _("Afgelopen: %(title)s") % {"title": title}
        text = f"{capfirst(action.get_result_display())}. {end_message.text if end_message else ''}"
    elif action.state == Action.State.CANCELLED:
        title = _("Ingetrokken: %(title)s") % {"title": title}
        text = f"{_('Deze actie is ingetrokken.')} {action.correction}"
    else:
        text = f"{capfirst(action.get_kind_display())}. {action.text} "
        text += _("Gezien? Bel gratis 0800-0011.")
    if action.is_exercise:
        title = f"{_('OEFENING')} – {title}"
    image = ""
    if action.is_active and media.may_see_action_photo(AnonymousUser(), action):
        image = media.action_photo_url(action)
    return {
        "title": f"Burgernet: {title}",
        "description": Truncator(" ".join(text.split())).chars(CARD_TEXT_CHARS),
        "url": url,
        "image": image,
        "image_alt": _("Foto bij de actie: %(title)s") % {"title": action.title},
    }


@lru_cache(maxsize=1024)
def _place_near(lat: float, lon: float) -> str:
    """The place of the nearest postcode area: words for where the action is, no more
    precise than the circle itself. Kept per process: postcode areas are reference data,
    and every citizen opening one action asks the same (a TV appeal: thousands a second)."""
    box = bounding_box(lat, lon, PLACE_SEARCH_M)
    areas = PostcodeArea.objects.filter(
        lat__range=(box.min_lat, box.max_lat), lon__range=(box.min_lon, box.max_lon)
    ).only("place", "lat", "lon")
    nearest = min(areas, key=lambda a: distance_m(lat, lon, a.lat, a.lon), default=None)
    return nearest.place if nearest else ""


def _map_config(action: Action) -> dict | None:
    """What public.js needs to draw the circle; None without tiles (the text says where)."""
    tiles = maps.tiles_url()
    if not tiles:
        return None
    return {
        # The circle is what citizens see; its centre needs no more than ~10 m precision.
        "lat": round(action.lat, 4),
        "lon": round(action.lon, 4),
        "radius_m": action.radius_m,
        "tiles": tiles,
        "attribution": maps.tiles_attribution(),
    }
