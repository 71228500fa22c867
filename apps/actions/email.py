"""Burgernetacties as e-mail: the composer the e-mail sender asks for an action's message
(alert, update, end message, correction). Not time-critical actions go out by e-mail."""

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext

from apps.channels.email import EmailContent, RecipientData, absolute_url, escape_fields

SOURCE_PREFIX = "actions.action"
_STYLE = "font-family: Arial, sans-serif; color: #1a1a1a; line-height: 1.5;"
_LINK_STYLE = "color: #154273; font-weight: bold;"


class ActionEmailComposer:
    """Subject: the message's title. Body: its text, the link to the action page and a link
    to manage one's registration. The same for every recipient: no merge fields, and no
    unsubscribe header — an action's e-mail follows the participant's channel choices,
    which the manage link changes."""

    def content(self, message) -> EmailContent:
        title, body = escape_fields(message.title), escape_fields(message.body)
        url = absolute_url(message.url)
        manage_url = settings.SITE_URL + reverse("participants:manage_request")
        see = gettext("Bekijk de actie en geef een tip:")
        manage = gettext(
            "U krijgt dit bericht omdat u bent aangemeld bij Burgernet. Uw aanmelding "
            "beheren of stoppen:"
        )
        text = "\n\n".join(part for part in (body, f"{see}\n{url}" if url else "") if part)
        text += f"\n\n{manage}\n{manage_url}\n\nBurgernet\n"
        action_link = (
            format_html(
                '<p>{}<br><a href="{}" style="{}">{}</a></p>',
                see,
                url,
                _LINK_STYLE,
                gettext("Naar de actie"),
            )
            if url
            else ""
        )
        html = format_html(
            '<!DOCTYPE html>\n<html lang="nl">\n<head><meta charset="utf-8"><title>{}</title>'
            '</head>\n<body style="{}">\n<h1 style="font-size: 1.3em;">{}</h1>\n{}\n{}\n'
            '<p style="font-size: 0.9em;">{} <a href="{}">{}</a></p>\n<p>Burgernet</p>\n'
            "</body>\n</html>\n",
            title,
            _STYLE,
            title,
            linebreaks(body, autoescape=True),
            action_link,
            manage,
            manage_url,
            gettext("Mijn aanmelding beheren"),
        )
        return EmailContent(subject=title, text=text, html=str(html))

    def recipients(self, message, deliveries) -> dict[int, RecipientData]:
        return {d.pk: RecipientData(merge={}, unsubscribe_url="") for d in deliveries}
