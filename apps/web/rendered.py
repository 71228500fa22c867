"""Parts of public pages that are the same for every visitor, rendered once per process.

An empty form's fields (the registration form, the tip form) cost milliseconds to render
through Django's widget templates and are the same for everyone in one language: the CSRF
token and any errors stay outside them. During a TV appeal the registration page and an
action's page are asked for hundreds of times a second. Not in development (DEBUG), where
templates change while the server runs.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

_RENDERED: dict[tuple[str, str], SafeString] = {}


def rendered_once(template: str, context: dict) -> SafeString:
    """`template` rendered with `context`, kept per process and language: the context must
    hold nothing that differs between visitors."""
    key = (template, get_language() or "")
    html = _RENDERED.get(key)
    if html is None:
        html = mark_safe(render_to_string(template, context))  # noqa: S308 (our own template)
        if not settings.DEBUG:
            _RENDERED[key] = html
    return html
