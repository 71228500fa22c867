"""The e-mail of a mailing, as the e-mail sender asks for it (channels/email.py).

`content` is shared by every recipient: subject, plain text and HTML, from the templates in
templates/mail/email/. What differs per recipient is written as merge fields, which the
sender fills in per recipient in one batch send:

    ${unsubscribe_url}   the visible unsubscribe link (a page that asks to confirm)
    ${respond_url}       the respond button of a buurtonderzoek

`recipients` signs those links for each delivery (links.py), and gives the one-click
address for the List-Unsubscribe header.

A crisis message's e-mail says what to do first; its end message ("mail.mailing:<pk>:end")
is an e-mail of its own, with the end text instead of the mailing's.
"""

from collections.abc import Sequence
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe

from apps.channels.email import (
    DEFAULT_COMPOSER,
    EmailContent,
    RecipientData,
    absolute_url,
    escape_fields,
)

from . import links
from .models import Mailing
from .rendering import render_html, render_text

SOURCE_PREFIX = "mail.mailing"
RESPOND_FIELD = "respond_url"
UNSUBSCRIBE_FIELD = "unsubscribe_url"


END_SUFFIX = "end"


def _parse(source: str) -> tuple[int, bool] | None:
    """(pk, is the end message) of "mail.mailing:<pk>" or "mail.mailing:<pk>:end"."""
    prefix, _, rest = source.partition(":")
    pk, _, suffix = rest.partition(":")
    if prefix != SOURCE_PREFIX or not pk.isdigit() or suffix not in ("", END_SUFFIX):
        return None
    return int(pk), suffix == END_SUFFIX


def mailing_for(message) -> Mailing | None:
    """The mailing an outbox message belongs to ("mail.mailing:<pk>", or its end message
    "mail.mailing:<pk>:end"), or None."""
    parsed = _parse(message.source)
    if parsed is None:
        return None
    return Mailing.objects.select_related("organisation").filter(pk=parsed[0]).first()


def is_end_message(message) -> bool:
    parsed = _parse(message.source)
    return parsed is not None and parsed[1]


def image_path(mailing: Mailing) -> str:
    """The image's address on the site: served by public.mailing_image, never from
    MEDIA_URL, and named by the mailing's random image_ref (an id could be counted)."""
    if not mailing.image:
        return ""
    return reverse("mail_public:image", kwargs={"ref": mailing.image_ref})


def image_url(mailing: Mailing) -> str:
    """The image's absolute address, as the e-mail holds it."""
    path = image_path(mailing)
    return absolute_url(path) if path else ""


def from_address(organisation) -> str:
    """The From of an organisation's mailings: "Burgernet — <organisation>" as the name,
    the address of DEFAULT_FROM_EMAIL. The e-mail is sent with it and the preview shows it,
    so the approver sees who the mail says it is from."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return str(Address(display_name=f"Burgernet — {organisation.name}", addr_spec=address))


def email_context(mailing: Mailing, *, end: bool = False) -> dict:
    """What the templates show. Everything an author wrote passes escape_fields, so a
    literal "${...}" in it is never read as a merge field. `end`: a crisis message's end
    message, whose text takes the place of the mailing's."""
    body = mailing.end_text if end else mailing.body
    return {
        "mailing": mailing,
        "is_crisis": mailing.is_crisis,
        "is_end": end,
        "instruction": "" if end else escape_fields(mailing.instruction),
        "subject": escape_fields(mailing.subject),
        "organisation": escape_fields(mailing.organisation.name),
        "incident_place": escape_fields(mailing.incident_place),
        # render_html escapes every piece of the author's text; escape_fields adds no markup.
        "body_html": mark_safe(escape_fields(render_html(body))),  # noqa: S308
        "body_text": escape_fields(render_text(body)),
        "image_url": "" if end else image_url(mailing),
        "is_inquiry": mailing.is_inquiry and not end,
        "closes_at": links.respond_closes_at(mailing) if mailing.is_inquiry else None,
        "respond_url": f"${{{RESPOND_FIELD}}}",
        "unsubscribe_url": f"${{{UNSUBSCRIBE_FIELD}}}",
        "site_url": settings.SITE_URL,
    }


def render_email(mailing: Mailing, *, end: bool = False) -> EmailContent:
    """The mailing's e-mail (`end`: a crisis message's end message), in Dutch (the language
    of the mail screens)."""
    context = email_context(mailing, end=end)
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("mail/email/mailing_subject.txt", context)
        text = render_to_string("mail/email/mailing.txt", context)
        html = render_to_string("mail/email/mailing.html", context)
    return EmailContent(
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        from_email=from_address(mailing.organisation),
    )


def recipient_links(maker: links.LinkMaker, participant, *, respond: bool) -> RecipientData:
    """One recipient's signed links."""
    unsubscribe = maker.unsubscribe_token(participant)
    merge = {UNSUBSCRIBE_FIELD: maker.unsubscribe_url(unsubscribe)}
    if respond:
        merge[RESPOND_FIELD] = maker.respond_url(maker.respond_token(participant))
    return RecipientData(merge=merge, unsubscribe_url=maker.one_click_url(unsubscribe))


class MailingComposer:
    """Registered for "mail.mailing" in MailConfig.ready()."""

    def content(self, message) -> EmailContent:
        mailing = mailing_for(message)
        if mailing is None:  # deleted since: recipients() then gives no one data
            return DEFAULT_COMPOSER.content(message)
        return render_email(mailing, end=is_end_message(message))

    def recipients(self, message, deliveries: Sequence) -> dict[int, RecipientData]:
        mailing = mailing_for(message)
        if mailing is None:
            return {}
        maker = links.LinkMaker(mailing)
        respond = mailing.is_inquiry and not is_end_message(message)
        return {
            delivery.pk: recipient_links(maker, delivery.participant, respond=respond)
            for delivery in deliveries
            if delivery.participant is not None
        }
