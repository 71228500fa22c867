"""Builders of a small, known Burgernetmail data set for the report and retention tests:
sent mailings written straight to the database (their sending is tested elsewhere), their
outbox messages and deliveries, and responses given through the service."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.governance.models import User
from apps.mail import services
from apps.mail.models import Mailing
from apps.participants.models import Participant

AMS = ZoneInfo("Europe/Amsterdam")
_numbers = itertools.count(1)


def local(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment of a local (Amsterdam) day."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=AMS)


def author() -> User:
    return User.objects.create(username=f"auteur-{next(_numbers)}")


def sent_mailing(
    organisation,
    *,
    sent_at: dt.datetime,
    kind: str = "inquiry",
    recipients: int = 0,
    response_days: int = 14,
    message: bool = False,
    ended_at: dt.datetime | None = None,
    state: str = Mailing.State.SENT,
) -> Mailing:
    """A mailing of `organisation` sent at `sent_at` to `recipients`; with `message`, its
    outbox message (and for an ended crisis message its end message) made at sending."""
    mailing = Mailing.objects.create(
        kind=kind,
        subject=f"Mailing {next(_numbers)}",
        body="Hebt u iets gezien?",
        instruction="Blijf binnen." if kind == "crisis" else "",
        incident_date=sent_at.date() if kind == "inquiry" else None,
        incident_place="Rijnstraat" if kind == "inquiry" else "",
        organisation=organisation,
        author=author(),
        response_days=response_days,
        state=state,
        sent_at=sent_at if state == Mailing.State.SENT else None,
        recipient_count=recipients,
        ended_at=ended_at,
    )
    if message:
        ttl = 3600 if kind == "crisis" else 3 * 24 * 3600
        mailing.message = _message(mailing.source, sent_at, ttl)
        if ended_at is not None:
            mailing.end_message = _message(mailing.end_source, ended_at, 24 * 3600)
        mailing.save(update_fields=["message", "end_message"])
    return mailing


def _message(source: str, made_at: dt.datetime, ttl: int) -> OutgoingMessage:
    message = OutgoingMessage.objects.create(
        source=source, title="Bericht", body="Tekst", ttl_seconds=ttl
    )
    OutgoingMessage.objects.filter(pk=message.pk).update(created_at=made_at)
    message.refresh_from_db()
    return message


def participant() -> Participant:
    return Participant.objects.create(
        phone=f"+3162{next(_numbers):07d}", phone_confirmed_at=dt.datetime(2024, 1, 1, tzinfo=AMS)
    )


def delivery(message, *, to=None, device=None, channel=Channel.EMAIL, state="sent") -> Delivery:
    return Delivery.objects.create(
        message=message,
        channel=Channel.WEBPUSH if device is not None else channel,
        participant=to,
        device=device,
        state=state,
    )


def respond(mailing: Mailing, who: Participant | None = None, *, photo: bytes | None = None):
    """An answer of `who` (a new participant by default) through the service; the mailing
    counts it."""
    upload = SimpleUploadedFile("foto.jpg", photo, content_type="image/jpeg") if photo else None
    return services.response_submit(
        mailing=mailing,
        participant=who or participant(),
        observation="Een man met een rode jas.",
        photo=upload,
    )
