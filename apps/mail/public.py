"""The citizens' side of Burgernetmail: answer a buurtonderzoek through the respond link in
the mail, and unsubscribe from e-mail (the visible link and the RFC 8058 one-click POST).

Both pages are opened by a signed link (links.py) and need no log-in. They parse the
request and call the verbs in services.py (`response_submit`, `email_unsubscribe`).
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.governance.access import is_staff_verified
from apps.participants.models import Participant
from apps.participants.tokens import email_digest
from apps.web import images, photos, ratelimit
from apps.web.client import client_key
from apps.web.forms import add_errors, error_links
from apps.web.tokens import ExpiredToken, InvalidToken

from . import links
from .models import Kind, Mailing, Response
from .public_forms import RespondForm, UnsubscribeForm
from .rendering import render_html
from .services import email_unsubscribe, response_submit

# (limit, window in seconds): per link and client, and per client over all links.
RESPOND_LIMITS = {
    "respond.link_ip": (10, 3600),
    "respond.ip": (30, 3600),
}
RATE = ratelimit.Limits("mail", RESPOND_LIMITS)
MSG_NOT_SENT = _lazy("Uw reactie is niet verstuurd. Kies een kleinere foto en probeer het opnieuw.")
SENT = "ontvangen"  # ?ontvangen after an answer: the page thanks the sender
DONE = "afgemeld"  # ?afgemeld after unsubscribing
ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")
# A mailing's image is public once the mailing is sent (it cannot change then).
SENT_IMAGE_CACHE = "public, max-age=86400"


# Respond ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RespondPage:
    """What the respond page shows besides the form: the mailing and an earlier answer."""

    link: links.RespondLink
    mailing: Mailing
    participant: Participant
    response: Response | None

    @property
    def has_phone(self) -> bool:
        return bool(self.response and self.response.contact_phone)

    def render(self, request, form: RespondForm, *, status: int = 200):
        context = {
            "mailing": self.mailing,
            "body_html": render_html(self.mailing.body),
            "closes_at": self.link.closes_at,
            "response": self.response,
            "entry_count": self.response.entries.count() if self.response else 0,
            "form": form,
            "errors": error_links(form),
            "sent": request.method == "GET" and SENT in request.GET,
        }
        return render(request, "mail/public/respond.html", context, status=status)


@require_http_methods(["GET", "POST"])
@never_cache
@csrf_exempt  # checked by _respond_post, once the size is known to be sane (see below)
def respond(request, token):
    """The respond page and its form. A huge POST is refused by its Content-Length before
    anything reads its body: Django's CSRF middleware would otherwise parse the whole upload
    (into a temporary file) just to find the token. As the tip form of an action
    (apps/actions/public.py): csrf_exempt outside, csrf_protect inside."""
    try:
        link = links.read_respond_token(token)
    except ExpiredToken:
        return _link_page(request, "closed", status=410)
    except InvalidToken:
        return _link_page(request, "invalid")
    mailing, participant = _respond_target(link)
    if mailing is None:
        return _link_page(request, "invalid")
    response = Response.objects.filter(mailing=mailing, participant=participant).first()
    page = _RespondPage(link=link, mailing=mailing, participant=participant, response=response)
    if request.method != "POST":
        return page.render(request, RespondForm(has_phone=page.has_phone))
    if photos.photo_form_too_large(request):
        return page.render(request, _too_large_form(page.has_phone), status=413)
    return _respond_post(request, token, page)


@csrf_protect
def _respond_post(request, token: str, page: _RespondPage):
    ip = client_key(request)
    if RATE.exceeded({"respond.link_ip": f"{token}:{ip}", "respond.ip": ip}):
        return render(request, "participants/rate_limited.html", status=429)
    form = RespondForm(request.POST, request.FILES, has_phone=page.has_phone)
    if form.is_bot():
        return _thanks(token)  # nothing saved; the sender learns nothing
    if form.is_valid():
        try:
            response_submit(
                mailing=page.mailing, participant=page.participant, **_respond_fields(form)
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "state":
                return _link_page(request, "invalid")
            # What else response_submit raises comes from photos.prepare: the photo's.
            add_errors(form, exc, field="photo")
        else:
            return _thanks(token)
    return page.render(request, form, status=400)


def _too_large_form(has_phone: bool) -> RespondForm:
    """An empty form whose only error is the photo's size (the body was never read)."""
    form = RespondForm(data={}, has_phone=has_phone)
    form.errors.clear()  # not "required": nothing was read, so nothing was left out
    form.add_error("photo", f"{photos.MSG_TOO_LARGE} {MSG_NOT_SENT}")
    return form


def _respond_target(link: links.RespondLink):
    """The mailing and participant of a respond link, or (None, None): a mailing that is
    gone or takes no answers, or a participant who deleted the registration."""
    mailing = (
        Mailing.objects.select_related("organisation")
        .filter(
            pk=link.mailing_id,
            kind=Kind.NEIGHBOURHOOD_INQUIRY,
            state__in=[Mailing.State.SENDING, Mailing.State.SENT],
        )
        .first()
    )
    participant = Participant.objects.filter(ref=link.participant_ref).first()
    if mailing is None or participant is None:
        return None, None
    return mailing, participant


def _respond_fields(form: RespondForm) -> dict:
    data = form.cleaned_data
    return {
        "observation": data["observation"],
        "observed_when": data["observed_when"],
        "photo": data["photo"] or None,
        "contact_name": data["contact_name"],
        "contact_phone": data["contact_phone"],
        "contact_email": data["contact_email"],
        "may_call": data["may_call"],
    }


def _thanks(token: str):
    url = reverse("mail_public:respond", kwargs={"token": token})
    return redirect(f"{url}?{SENT}#sent")


# Unsubscribe -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def unsubscribe(request, token):
    """The visible link: GET asks to confirm and changes nothing; the button POSTs here."""
    try:
        link = links.read_unsubscribe_token(token)
    except ExpiredToken:
        return _link_page(request, "unsubscribe_expired", status=410)
    except InvalidToken:
        return _link_page(request, "invalid")
    participant = Participant.objects.filter(ref=link.participant_ref).first()
    if request.method == "POST":
        form = UnsubscribeForm(request.POST)
        if form.is_valid() and participant is not None:
            email_unsubscribe(
                participant=participant,
                digest=link.email_digest,
                mailing_id=link.mailing_id,
                via="link",
            )
        url = reverse("mail_public:unsubscribe", kwargs={"token": token})
        return redirect(f"{url}?{DONE}")
    # A deleted registration, or an address the participant has since replaced or blocked,
    # receives nothing any more: the page says so rather than offering a button.
    receives = (
        participant is not None
        and participant.email_suppressed_at is None
        and bool(participant.email)
        and email_digest(participant.email) == link.email_digest
    )
    context = {"form": UnsubscribeForm(), "receives": receives, "done": DONE in request.GET}
    return render(request, "mail/public/unsubscribe.html", context)


@csrf_exempt  # RFC 8058: the mail client POSTs without a page; the signed token authenticates
@require_POST
@never_cache
def unsubscribe_one_click(request, token):
    """The List-Unsubscribe-Post endpoint: body `List-Unsubscribe=One-Click`."""
    key, value = ONE_CLICK_BODY
    if request.POST.get(key) != value:
        return _plain(_("Ongeldig verzoek."), status=400)
    try:
        link = links.read_unsubscribe_token(token)
    except ExpiredToken:
        return _plain(_("Deze afmeldlink is verlopen."), status=410)
    except InvalidToken:
        return _plain(_("Deze afmeldlink werkt niet."), status=400)
    participant = Participant.objects.filter(ref=link.participant_ref).first()
    if participant is not None:
        email_unsubscribe(
            participant=participant,
            digest=link.email_digest,
            mailing_id=link.mailing_id,
            via="one_click",
        )
    return _plain(_("U bent afgemeld voor e-mail van Burgernet."))


def _plain(text: str, *, status: int = 200) -> HttpResponse:
    """A mail client, not a person, reads these answers: a short line of text."""
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


# The mailing's image ---------------------------------------------------------------------


@require_safe
def mailing_image(request, ref):
    """The image in a mailing's e-mail: public once the mailing is sent (it cannot change
    then); before that only to verified staff of the sending organisation (the preview).
    Addressed by the mailing's random image_ref, so no image is found by counting.
    Nothing under MEDIA_ROOT is served as a folder."""
    mailing = get_object_or_404(Mailing.objects.exclude(image=""), image_ref=ref)
    if mailing.state in (Mailing.State.SENDING, Mailing.State.SENT):
        return images.image_response(mailing.image, cache=SENT_IMAGE_CACHE)
    if not (is_staff_verified(request.user) and mailing.is_visible_to(request.user)):
        raise Http404
    return images.image_response(mailing.image)


# Pages -----------------------------------------------------------------------------------


def _link_page(request, reason: str, *, status: int = 400):
    return render(request, "mail/public/link_invalid.html", {"reason": reason}, status=status)
