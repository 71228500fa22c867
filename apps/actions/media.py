"""Photos of actions and tips, served through Django so that each request is checked.

Nothing under MEDIA_ROOT is served as such: an action's photo is public only while its
action is (released, ended or cancelled; an exercise only to the staff who follow it), and
a citizen's tip photo only to the staff of the action's region. The answer itself is
apps/web/images.py's.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.governance import policy
from apps.governance.access import is_staff_verified, staff_required
from apps.web.images import PRIVATE_CACHE, image_response

from .models import Action, Tip

VIEW = "action.view"
# A running action's photo may sit in shared caches briefly: it goes out to thousands of
# phones at once, and it cannot change once the action is released.
RELEASED_CACHE = "public, max-age=300"
# Once the action is over (or was withdrawn) the photo is no longer on show; it is still
# served for a late push, but kept in no cache.
OVER_CACHE = "no-store"
PUBLIC_STATES = frozenset({Action.State.RELEASED, Action.State.ENDED, Action.State.CANCELLED})


def action_photo_url(action: Action) -> str:
    """The photo's absolute address, as sent in push payloads (services._message)."""
    return settings.SITE_URL + reverse("alerts:photo", kwargs={"ref": action.ref})


def may_see_action_photo(user, action: Action) -> bool:
    """Is the action's photo public to `user`: never a draft's, an exercise's only to
    verified staff who may follow the action."""
    if not action.photo or action.state not in PUBLIC_STATES:
        return False
    if action.is_exercise:
        return is_staff_verified(user) and policy.can(user, VIEW, action)
    return True


@require_safe
def action_photo(request, ref):
    """The photo on the citizens' action page and in pushes."""
    action = get_object_or_404(
        Action.objects.select_related("police_unit").exclude(photo=""), ref=ref
    )
    if not may_see_action_photo(request.user, action):
        raise Http404
    if action.is_exercise:
        cache = PRIVATE_CACHE
    elif action.state == Action.State.RELEASED:
        cache = RELEASED_CACHE
    else:
        cache = OVER_CACHE
    return image_response(action.photo, cache=cache)


@require_safe
@staff_required(verb=VIEW)
def console_action_photo(request, pk):
    """The photo in the console, in any state (a draft's too), for staff of the region."""
    action = get_object_or_404(
        Action.objects.select_related("police_unit").exclude(photo=""), pk=pk
    )
    if not policy.can(request.user, VIEW, action):
        raise Http404  # another region's action is as unknown as a missing one
    return image_response(action.photo)


@require_safe
@staff_required(verb=VIEW)
def tip_photo(request, pk):
    """A citizen's tip photo, for the staff of the action's region only."""
    tip = get_object_or_404(
        Tip.objects.select_related("action__police_unit").exclude(photo=""), pk=pk
    )
    if not policy.can(request.user, VIEW, tip.action):
        raise Http404
    return image_response(tip.photo)
