"""The security headers of every answer: the Content-Security-Policy (django-csp, with the
map tiles' host added here), the Permissions-Policy, and `Cache-Control: no-store` on every
page that may hold personal data.

- CSP: the policy itself is `settings.CONTENT_SECURITY_POLICY`; `CSPMiddleware` adds the
  hosts the site's own settings load images from at the moment of the answer (the map
  tiles of `maps.tiles_url()`, and `SITE_URL`, the address e-mail images are linked with,
  which a preview of an e-mail shows). There is no inline script or style on any page
  (tests/web/test_headers.py holds the templates to that); the one exception is the
  preview of an e-mail, whose styles must be inline as mail clients want them:
  `allow_inline_styles_of(response, html)` allows exactly those style values, by hash, on
  that answer alone.
- Permissions-Policy: `settings.PERMISSIONS_POLICY` switches every powerful feature off;
  a view that needs one says so with `@permissions(geolocation="self")` (the web app).
- no-store: a page for someone who is signed in — staff (the console with tips and their
  call-back numbers, the mail inbox, the admin) or a citizen with a session (the manage
  pages) — is never kept by a browser or a proxy. The rule lives here, below every view,
  so a new staff or manage page cannot forget it.
"""

import base64
import hashlib
from functools import wraps
from html.parser import HTMLParser
from urllib.parse import urlsplit

from csp.constants import SELF, UNSAFE_HASHES
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.middleware import PolicyParts
from django.conf import settings
from django.utils.cache import add_never_cache_headers

from . import maps

PERMISSIONS_HEADER = "Permissions-Policy"


# Content-Security-Policy ---------------------------------------------------------------------


def source_of(url: str) -> str:
    """The CSP source expression of the host a URL template points at: scheme and host
    (with its port), a `{s}`-style subdomain placeholder as `*`; "" for a relative URL
    (the site itself, 'self') or none."""
    parts = urlsplit(url.replace("{s}", "subdomain-placeholder"))
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc.rsplit("@", 1)[-1].replace("subdomain-placeholder", "*")
    return f"{parts.scheme}://{host}"


def image_sources() -> list[str]:
    """Where the site's own pages load images from besides 'self' and data: URLs."""
    sources = [source_of(maps.tiles_url()), source_of(settings.SITE_URL)]
    return [s for s in dict.fromkeys(sources) if s]


class CSPMiddleware(_CSPMiddleware):
    """django-csp's middleware, with the image hosts of the settings as they are now."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        update = dict(parts.update or {})
        update["img-src"] = [*update.get("img-src", ()), *image_sources()]
        parts.update = update
        return parts


class _StyleCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attributes: list[str] = []
        self.blocks: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.attributes += [value for name, value in attrs if name == "style" and value]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.blocks.append(data)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_style_hashes(html: str) -> list[str]:
    """The CSP hashes of every style attribute and <style> block in `html`."""
    collector = _StyleCollector()
    collector.feed(html)
    collector.close()
    return list(dict.fromkeys(_hash(s) for s in collector.attributes + collector.blocks))


def allow_inline_styles_of(response, html: str):
    """Let the answer show `html` (an e-mail in a sandboxed frame, which inherits the page's
    policy) with its inline styles: exactly those, by hash, on this answer only. Scripts
    stay forbidden. Returns the response."""
    hashes = inline_style_hashes(html)
    if hashes:
        update = dict(getattr(response, "_csp_update", None) or {})
        update["style-src"] = [*update.get("style-src", ()), SELF, UNSAFE_HASHES, *hashes]
        response._csp_update = update
    return response


# Permissions-Policy --------------------------------------------------------------------------


def permissions(**features: str):
    """A view decorator: the features the page asks the browser for, e.g.
    `@permissions(geolocation="self")`; everything else stays off."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response._permissions = features
            return response

        return wrapped

    return decorator


def permissions_policy(allowed: dict[str, str] | None = None) -> str:
    """The Permissions-Policy header: every feature of settings.PERMISSIONS_POLICY off,
    except those in `allowed` (feature → "self")."""
    allowed = allowed or {}
    features = dict.fromkeys(settings.PERMISSIONS_POLICY, "")
    for feature, origin in allowed.items():
        if feature not in features:
            raise KeyError(f"unknown feature {feature!r}: add it to PERMISSIONS_POLICY")
        features[feature] = origin
    return ", ".join(f"{feature}=({origin})" for feature, origin in features.items())


# Personal data -------------------------------------------------------------------------------


def is_personal(request) -> bool:
    """Whether the answer may hold personal data: the visitor is signed in as staff, or
    has a session (a citizen's manage session, a registration under way)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    session = getattr(request, "session", None)
    return session is not None and not session.is_empty()


class HeadersMiddleware:
    """Permissions-Policy on every answer; no-store on every personal one. Placed after
    the session and authentication middleware in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if PERMISSIONS_HEADER not in response:
            allowed = getattr(response, "_permissions", None)
            response[PERMISSIONS_HEADER] = permissions_policy(allowed)
        if is_personal(request) and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
