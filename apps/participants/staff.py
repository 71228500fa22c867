"""A staff screen's verb on participants' data: a manager's test push to their own device
(the channel settings screen, /medewerkers/kanalen/webpush/, posts here)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.governance.access import staff_required
from apps.governance.channel_settings import VERB

from . import devices


@require_POST
@staff_required(verb=VERB)
def device_test(request):
    try:
        devices.staff_device_test(endpoint=request.POST.get("endpoint", ""), by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("De testmelding is verstuurd. Hij verschijnt zo op dit apparaat.")
        )
    return redirect("governance:channel", channel="webpush")
