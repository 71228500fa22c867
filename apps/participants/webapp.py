"""The citizens' web app: its page, manifest and service worker, and the JSON endpoints
the page and the service worker call (subscribe, report the area, fixed places, test,
switch off, opened).

Every endpoint takes a small JSON object and answers JSON; bad input is a 400 with an
error code and a Dutch message, and changes nothing. The page's requests carry Django's
CSRF token; the service worker's "opened" report carries a signed token instead.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.channels import vapid
from apps.web import ratelimit
from apps.web.client import client_key
from apps.web.headers import permissions
from apps.web.json import InvalidJSON, read_json

from . import devices

HOUR = 3600
# (limit, window in seconds) per scope. Many phones share one address behind a mobile
# carrier's NAT, so the per-IP limit on subscriptions is generous.
LIMITS = {
    "subscribe.ip": (30, HOUR),
    "cell.device": (30, HOUR),
    "test.device": (3, 15 * 60),
    "test.ip": (20, HOUR),
    "opened.ip": (300, HOUR),
    # Fixed places: reading them when the page opens, adding and removing a few.
    "places.device": (120, HOUR),
    "place.device": (30, HOUR),
    "place.ip": (300, HOUR),
}
RATE = ratelimit.Limits("participants.app", LIMITS)
# A subscription is well under 1 KB and two levels deep; anything much larger is not one.
MAX_BODY_BYTES = 4096
MAX_BODY_DEPTH = 4

THEME_COLOUR = "#154273"
BACKGROUND_COLOUR = "#ffffff"
SCOPE = "/app/"


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": code, "message": str(message)}, status=status)


def _invalid(exc: ValidationError) -> JsonResponse:
    return _error(exc.code or "invalid", exc.messages[0])


def _too_many() -> JsonResponse:
    return _error(
        "rate_limited", _("U heeft dit te vaak geprobeerd. Probeer het later opnieuw."), 429
    )


def _unknown_device() -> JsonResponse:
    return _error("unknown_device", str(devices.MSG_UNKNOWN_DEVICE), 404)


def _required(data: dict, *names: str) -> None:
    missing = [name for name in names if data.get(name) in (None, "")]
    if missing:
        raise BadRequest(
            "missing_field",
            _("Er ontbreekt een gegeven: %(fields)s.") % {"fields": ", ".join(missing)},
        )


def json_endpoint(view):
    """POST only, never cached, the body parsed (web/json.py); BadRequest and InvalidJSON
    become their JSON answer."""

    @require_POST
    @never_cache
    def wrapper(request, *args, **kwargs):
        try:
            data = read_json(request, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH)
            return view(request, data, *args, **kwargs)
        except BadRequest as exc:
            return _error(exc.code, exc.message, exc.status)
        except InvalidJSON as exc:
            return _error(exc.code, exc.message)
        except ValidationError as exc:
            return _invalid(exc)
        except devices.UnknownDevice:
            return _unknown_device()
        except devices.UnknownPlace:
            return _error("unknown_place", str(devices.MSG_UNKNOWN_PLACE), 404)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


# --- the app itself -----------------------------------------------------------------------


def _vapid_public_key() -> str:
    """The applicationServerKey; empty where web push is not configured (the page then
    says that alerts are not available)."""
    try:
        return vapid.public_key()
    except ImproperlyConfigured:
        return ""


@require_GET
@permissions(geolocation="self")  # the page asks for the phone's location
def app(request):
    return render(
        request,
        "participants/webapp/app.html",
        {"vapid_public_key": _vapid_public_key(), "urls": _endpoint_urls()},
    )


def _endpoint_urls() -> dict[str, str]:
    return {
        "subscribe": reverse("participants:webapp_subscribe"),
        "cell": reverse("participants:webapp_cell"),
        "places": reverse("participants:webapp_places"),
        "place_add": reverse("participants:webapp_place_add"),
        "place_remove": reverse("participants:webapp_place_remove"),
        "test": reverse("participants:webapp_test"),
        "unsubscribe": reverse("participants:webapp_unsubscribe"),
        "opened": reverse("participants:webapp_opened"),
        "worker": reverse("participants:webapp_worker"),
    }


@require_GET
def manifest(request):
    icons = [
        {"src": static("webapp/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("webapp/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("webapp/icon-maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    data = {
        "id": SCOPE,
        "name": "Burgernet",
        "short_name": "Burgernet",
        "description": _(
            "Meldingen van de politie als er in uw buurt iemand wordt gezocht. "
            "Zie iets verdachts? Bel 112 bij spoed, of gratis 0800-0011."
        ),
        "lang": get_language() or settings.LANGUAGE_CODE,
        "dir": "ltr",
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND_COLOUR,
        "theme_color": THEME_COLOUR,
        "icons": icons,
    }
    return JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


@require_GET
def service_worker(request):
    response = render(
        request,
        "participants/webapp/sw.js",
        {"vapid_public_key": _vapid_public_key(), "urls": _endpoint_urls()},
        content_type="application/javascript; charset=utf-8",
    )
    response["Service-Worker-Allowed"] = SCOPE
    # Browsers look for a new worker at least daily; no cache makes that look real.
    response["Cache-Control"] = "no-cache"
    return response


# --- JSON endpoints -----------------------------------------------------------------------


@json_endpoint
def subscribe(request, data):
    """Create or update this device from its PushSubscription (toJSON() of it, plus the
    device ref the app got before, if any)."""
    if RATE.over("subscribe.ip", client_key(request)):
        return _too_many()
    _required(data, "endpoint", "keys")
    keys = data["keys"] if isinstance(data["keys"], dict) else {}
    _required(keys, "p256dh", "auth")
    ref = None
    if data.get("device"):
        try:
            ref = devices.parse_ref(data["device"])
        except devices.UnknownDevice:
            ref = None  # a garbled ref: subscribe as a new device
    device = devices.device_subscribe(
        endpoint=data["endpoint"],
        p256dh=keys["p256dh"],
        auth=keys["auth"],
        language=data.get("language") or get_language(),
        ref=ref,
    )
    return JsonResponse({"device": str(device.ref)})


@json_endpoint
def report_cell(request, data):
    """Overwrite this device's area cell (a geohash of five characters)."""
    _required(data, "device", "cell")
    ref = devices.parse_ref(data["device"])
    if RATE.over("cell.device", str(ref)):
        return _too_many()
    device = devices.device_report_cell(ref=ref, cell=data["cell"])
    return JsonResponse({"cell": device.cell})


def _place_json(place) -> dict:
    # The cell and the label the user chose; the cell is also the place's handle.
    return {"cell": place.cell, "label": place.label}


def _places_answer(ref, status: int = 200) -> JsonResponse:
    places = devices.device_places(ref=ref)
    return JsonResponse(
        {"places": [_place_json(place) for place in places], "max": devices.MAX_PLACES_PER_DEVICE},
        status=status,
    )


@json_endpoint
def places(request, data):
    """This device's fixed places."""
    _required(data, "device")
    ref = devices.parse_ref(data["device"])
    if RATE.over("places.device", str(ref)):
        return _too_many()
    return _places_answer(ref)


@json_endpoint
def place_add(request, data):
    """Add a fixed place by a postcode, a point (lat, lon) or a cell; answers the places."""
    _required(data, "device")
    ref = devices.parse_ref(data["device"])
    if RATE.exceeded({"place.device": str(ref), "place.ip": client_key(request)}):
        return _too_many()
    given = {name: data[name] for name in ("postcode", "cell") if data.get(name) not in (None, "")}
    if data.get("lat") is not None or data.get("lon") is not None:
        given.update(lat=data.get("lat"), lon=data.get("lon"))
    devices.device_place_add(ref=ref, label=data.get("label") or "", **given)
    return _places_answer(ref, status=201)


@json_endpoint
def place_remove(request, data):
    """Remove one of this device's fixed places (named by its cell); answers the places."""
    _required(data, "device", "cell")
    ref = devices.parse_ref(data["device"])
    if RATE.exceeded({"place.device": str(ref), "place.ip": client_key(request)}):
        return _too_many()
    devices.device_place_remove(ref=ref, cell=data["cell"])
    return _places_answer(ref)


@json_endpoint
def unsubscribe(request, data):
    """Switch alerts off: delete this device and everything it reported."""
    _required(data, "device")
    ref = devices.parse_ref(data["device"])
    return JsonResponse({"deleted": devices.device_unsubscribe(ref=ref)})


@json_endpoint
def send_test(request, data):
    """Send this device a test notification through the outbox."""
    _required(data, "device")
    ref = devices.parse_ref(data["device"])
    device = devices.Device.objects.filter(ref=ref).first()
    if device is None:
        raise devices.UnknownDevice
    if RATE.over("test.device", str(ref)) or RATE.over("test.ip", client_key(request)):
        return _too_many()
    devices.device_send_test(device=device)
    return JsonResponse({"queued": True}, status=202)


@csrf_exempt  # the service worker has no CSRF token; the signed token is the proof
@json_endpoint
def opened(request, data):
    """The service worker reports that the citizen opened a notification."""
    if RATE.over("opened.ip", client_key(request)):
        return _too_many()
    _required(data, "token")
    if not isinstance(data["token"], str):
        raise BadRequest("invalid_token", _("Deze melding is niet bekend."))
    try:
        first = devices.delivery_mark_opened(token=data["token"])
    except devices.InvalidOpenedToken as exc:
        raise BadRequest("invalid_token", _("Deze melding is niet bekend.")) from exc
    return JsonResponse({"opened": first})
