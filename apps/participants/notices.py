"""What the registration site sends: codes and links by SMS, confirmations by e-mail.

SMS goes through the channels app's sender. A failed send is logged (without the number
or address) and does not undo the registration: the citizen can ask for another code or
link. Callers decide that a number or address may be written to at all.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.channels.senders import SmsError, mask_phone, send_sms

from . import tokens
from .models import CODE_VALID_FOR

logger = logging.getLogger(__name__)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def manage_url(token: str) -> str:
    return absolute(reverse("participants:manage_link", args=[token]))


def _sms(to: str, text: str) -> bool:
    try:
        send_sms(to, text)
    except SmsError as exc:
        logger.warning("sms to %s failed: %s", mask_phone(to), exc)
        return False
    return True


def send_code(*, phone: str, code: str) -> bool:
    minutes = int(CODE_VALID_FOR.total_seconds() // 60)
    return _sms(
        phone,
        _(
            "Uw Burgernet-code is %(code)s. De code is %(minutes)s minuten geldig. "
            "Geef deze code aan niemand anders."
        )
        % {"code": code, "minutes": minutes},
    )


def send_already_registered(*, phone: str, token: str) -> bool:
    return _sms(
        phone,
        _(
            "Dit nummer is al aangemeld bij Burgernet; er is niets veranderd. Wilt u uw "
            "aanmelding bekijken of wijzigen? Gebruik binnen 30 minuten deze link: %(url)s"
        )
        % {"url": manage_url(token)},
    )


def send_manage_link_sms(*, phone: str, token: str) -> bool:
    return _sms(
        phone,
        _(
            "Uw link om uw Burgernet-aanmelding te beheren (30 minuten geldig, werkt één "
            "keer): %(url)s"
        )
        % {"url": manage_url(token)},
    )


def _mail(*, to: str, template: str, context: dict) -> bool:
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except Exception as exc:  # any mail backend's error; the address stays out of the log
        logger.warning("mail %s failed: %s", template.rsplit("/", 1)[-1], type(exc).__name__)
        return False
    return True


def send_email_confirmation(*, participant) -> bool:
    token = tokens.make_email_token(participant.ref, participant.email)
    url = absolute(reverse("participants:confirm_email", args=[token]))
    return _mail(
        to=participant.email,
        template="participants/email/confirm_email",
        context={"url": url, "days": tokens.EMAIL_MAX_AGE_S // 86400},
    )


def send_manage_link_email(*, email: str, token: str) -> bool:
    return _mail(
        to=email,
        template="participants/email/manage_link",
        context={"url": manage_url(token), "minutes": tokens.MANAGE_MAX_AGE_S // 60},
    )
