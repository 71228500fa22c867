"""Access to staff screens: logged in, with the second factor, and (optionally) a role.

Every staff view uses `staff_required`; none checks this inline.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

from . import policy


def is_staff_verified(user) -> bool:
    """Logged in and active, and verified by the second factor where it is required."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not settings.STAFF_OTP_REQUIRED:
        return True
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def staff_required(view=None, *, verb: str | None = None):
    """Require a verified staff log-in; with `verb`, also a role that may do it.

    Use as `@staff_required` or `@staff_required(verb="mailing.compose")`. Whoever is not
    logged in (or not verified) goes to the log-in page and comes back; a logged-in user
    without the role gets 403. Whether the user may act on a particular object is the
    view's next question, asked through policy.require(user, verb, obj).
    """
    if verb is not None and verb not in policy.VERBS:
        raise KeyError(f"unknown verb {verb!r}")

    def decorator(view_func):
        @wraps(view_func)
        def wrapped(request, *args, **kwargs):
            if not is_staff_verified(request.user):
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if verb is not None:
                policy.require(request.user, verb)
            return view_func(request, *args, **kwargs)

        return wrapped

    if view is not None:
        if not callable(view):
            raise TypeError("use @staff_required or @staff_required(verb=...)")
        return decorator(view)
    return decorator
