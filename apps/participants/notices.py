"""What the registration site sends: codes and links by SMS, confirmations by e-mail.

An SMS is queued in the channels app's outbox as a notice, in the caller's transaction:
the request writes it and returns; the outbox workers send it, try again when the
gateway fails, and give up once the code or link in it has expired. Its text is written
here, in the visitor's language, and wiped by the outbox once sent or expired (it holds
the code or the link). A failed e-mail is logged (without the address) and does not
undo the registration: the citizen can ask for another link. Callers decide that a
number or address may be written to at all.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.channels import outbox

from . import sms_budget, tokens
from .models import CODE_VALID_FOR

logger = logging.getLogger(__name__)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def manage_url(token: str) -> str:
    return absolute(reverse("participants:manage_link", args=[token]))


# What each SMS notice is, as the outbox records it (no personal data).
PHONE_CODE = "participants.phone_code"
ALREADY_REGISTERED = "participants.already_registered"
MANAGE_LINK = "participants.manage_link"


def _sms(participant, text: str, *, source: str, expires_at: datetime) -> None:
    """Queue a service SMS within the budgets (raises sms_budget.SmsBudgetExceeded)."""
    sms_budget.spend(participant.phone)
    outbox.enqueue_notice(
        participant_id=participant.pk, text=text, source=source, expires_at=expires_at
    )


def _link_expires_at() -> datetime:
    """When a manage link made now stops working: its SMS is not sent after that."""
    return timezone.now() + timedelta(seconds=tokens.MANAGE_MAX_AGE_S)


def send_code(*, participant, code: str, expires_at: datetime) -> None:
    """Queue the SMS with a confirmation `code`, to be sent before the code expires (at
    `expires_at`) or not at all."""
    minutes = int(CODE_VALID_FOR.total_seconds() // 60)
    text = _(
        "Uw Burgernet-code is %(code)s. De code is %(minutes)s minuten geldig. "
        "Geef deze code aan niemand anders."
    ) % {"code": code, "minutes": minutes}
    _sms(participant, text, source=PHONE_CODE, expires_at=expires_at)


def send_already_registered(*, participant, token: str) -> None:
    text = _(
        "Dit nummer is al aangemeld bij Burgernet; er is niets veranderd. Wilt u uw "
        "aanmelding bekijken of wijzigen? Gebruik binnen 30 minuten deze link: %(url)s"
    ) % {"url": manage_url(token)}
    _sms(participant, text, source=ALREADY_REGISTERED, expires_at=_link_expires_at())


def send_manage_link_sms(*, participant, token: str) -> None:
    text = _(
        "Uw link om uw Burgernet-aanmelding te beheren (30 minuten geldig, werkt één keer): %(url)s"
    ) % {"url": manage_url(token)}
    _sms(participant, text, source=MANAGE_LINK, expires_at=_link_expires_at())


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
