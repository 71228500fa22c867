"""The public CAP 1.2 messages of actions (cap.py) and their Atom index: for news sites,
displays and the alert systems of the neighbouring countries. Drafts do not exist here."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from apps.channels.models import OutgoingMessage

from . import cap
from .models import Action

# A message does not change once sent; the index changes with every message.
MESSAGE_MAX_AGE_S = 60 * 60
INDEX_MAX_AGE_S = 60


@require_safe
@cache_control(public=True, max_age=MESSAGE_MAX_AGE_S)
def message(request, ref, message_pk):
    action = get_object_or_404(Action.objects.exclude(state=Action.State.DRAFT), ref=ref)
    outgoing = get_object_or_404(OutgoingMessage, pk=message_pk)
    try:
        xml = cap.published_xml(action, outgoing)
    except cap.NotAMessageOfTheAction:
        raise Http404 from None
    return HttpResponse(xml, content_type=cap.CONTENT_TYPE)


@require_safe
@cache_control(public=True, max_age=INDEX_MAX_AGE_S)
def index(request):
    return HttpResponse(cap.index_atom(cap.recent()), content_type=cap.ATOM_CONTENT_TYPE)
