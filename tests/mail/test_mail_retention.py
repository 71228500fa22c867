"""Burgernetmail's retention: responses (with their photos) go a period after the mailing was
sent, deliveries lose their recipients a period after the mailing ended; nothing else."""

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.channels.models import Channel, Delivery
from apps.governance import retention
from apps.mail import retention as mail_retention
from apps.mail.models import Response, ResponseEntry
from apps.participants.models import Device

from .conftest import jpeg_with_exif
from .report_data import delivery, participant, respond, sent_mailing

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 9, 1, 3, 0))
DAYS = dt.timedelta(days=1)


def test_both_rules_are_registered_with_a_period():
    names = {rule.name: rule for rule in retention.rules()}
    assert names["mail_responses"].days == 180
    assert names["mail_delivery_links"].days == 1
    assert str(names["mail_responses"].label) and str(names["mail_delivery_links"].after)


# Responses ------------------------------------------------------------------------------


def test_responses_of_mailings_sent_before_the_cutoff_go_with_entries_and_photos(org_woerden):
    cutoff = NOW - 180 * DAYS
    old = sent_mailing(org_woerden, sent_at=cutoff - dt.timedelta(seconds=1))
    at_cutoff = sent_mailing(org_woerden, sent_at=cutoff)
    recent = sent_mailing(org_woerden, sent_at=cutoff + DAYS)
    first = respond(old, photo=jpeg_with_exif())
    respond(old, first.response.participant)  # an addition: one response, two entries
    respond(old)
    kept = respond(at_cutoff, photo=jpeg_with_exif())
    respond(recent)
    gone_photo, kept_photo = first.photo.name, kept.photo.name
    assert default_storage.exists(gone_photo) and default_storage.exists(kept_photo)

    assert mail_retention.purge_responses(cutoff) == 2

    assert not Response.objects.filter(mailing=old).exists()
    assert not ResponseEntry.objects.filter(response__mailing=old).exists()
    assert not default_storage.exists(gone_photo)
    assert Response.objects.filter(mailing__in=[at_cutoff, recent]).count() == 2
    assert default_storage.exists(kept_photo)
    old.refresh_from_db()
    assert old.responses_counted == 2  # the report's count stays
    assert mail_retention.purge_responses(cutoff) == 0


# Delivery links -------------------------------------------------------------------------


def _device(n=1) -> Device:
    return Device.objects.create(endpoint=f"https://push.example/{n}", p256dh="k", auth="a")


def test_an_ordinary_mailing_ends_at_its_respond_deadline(org_woerden):
    cutoff = NOW - DAYS
    # response_days 14: ended 14 days after sending (its e-mail expired after 3).
    due = sent_mailing(
        org_woerden, sent_at=cutoff - 14 * DAYS - dt.timedelta(seconds=1), message=True
    )
    not_yet = sent_mailing(
        org_woerden, sent_at=cutoff - 14 * DAYS + dt.timedelta(minutes=1), message=True
    )
    # response_days 1: the e-mail's expiry (3 days) is later, and decides.
    short = sent_mailing(org_woerden, sent_at=cutoff - 2 * DAYS, response_days=1, message=True)
    assert mail_retention.ended(due) == due.sent_at + 14 * DAYS
    preventive = sent_mailing(org_woerden, kind="preventive", sent_at=NOW, message=True)
    assert mail_retention.ended(preventive) == NOW + 3 * DAYS  # takes no answers
    assert mail_retention.ended(short) == short.sent_at + 3 * DAYS
    rows = {
        m.pk: [
            delivery(m.message, to=participant()),
            delivery(m.message, to=participant(), state="failed"),
        ]
        for m in (due, not_yet, short)
    }

    assert mail_retention.purge_delivery_links(cutoff) == 2

    for mailing in (due, not_yet, short):
        mailing.refresh_from_db()
        linked = Delivery.objects.filter(
            pk__in=[d.pk for d in rows[mailing.pk]], participant__isnull=False
        ).count()
        assert linked == (0 if mailing == due else 2)
        assert (mailing.delivery_links_removed_at is not None) == (mailing == due)
    assert Delivery.objects.count() == 6  # the rows stay, anonymous


def test_a_crisis_message_ends_when_it_is_ended_and_loses_devices_too(org_utrecht):
    cutoff = NOW - DAYS
    open_crisis = sent_mailing(org_utrecht, kind="crisis", sent_at=NOW - 60 * DAYS, message=True)
    ended = sent_mailing(
        org_utrecht, kind="crisis", sent_at=NOW - 5 * DAYS, message=True, ended_at=NOW - 4 * DAYS
    )
    ended_late = sent_mailing(
        org_utrecht,
        kind="crisis",
        sent_at=NOW - 30 * DAYS,
        message=True,
        ended_at=cutoff - dt.timedelta(hours=23),
    )  # + the end's 24 h
    assert mail_retention.ended(open_crisis) is None
    # Its end message's expiry (24 hours after the end); a crisis takes no answers, so its
    # response_days (14) play no part.
    assert mail_retention.ended(ended) == ended.ended_at + DAYS
    device = _device()
    who = participant()
    for mailing in (open_crisis, ended, ended_late):
        delivery(mailing.message, to=who, channel=Channel.SMS)
        delivery(mailing.message, device=device)
        if mailing.end_message:
            delivery(mailing.end_message, to=who, channel=Channel.SMS)

    assert mail_retention.purge_delivery_links(cutoff) == 3

    stripped = Delivery.objects.filter(participant__isnull=True, device__isnull=True)
    assert set(stripped.values_list("message_id", flat=True)) == {
        ended.message_id,
        ended.end_message_id,
    }
    assert Delivery.objects.filter(message=open_crisis.message, device=device).exists()
    assert Delivery.objects.filter(message=ended_late.end_message, participant=who).exists()


def test_rows_in_flight_keep_their_recipient_until_decided(org_woerden):
    cutoff = NOW - DAYS
    mailing = sent_mailing(org_woerden, sent_at=cutoff - 20 * DAYS, message=True)
    sent = delivery(mailing.message, to=participant())
    queued = delivery(mailing.message, to=participant(), state="queued")

    assert mail_retention.purge_delivery_links(cutoff) == 1
    queued.refresh_from_db()
    mailing.refresh_from_db()
    assert queued.participant_id is not None and mailing.delivery_links_removed_at is None

    Delivery.objects.filter(pk=queued.pk).update(state="failed")
    assert mail_retention.purge_delivery_links(cutoff) == 1
    mailing.refresh_from_db()
    assert mailing.delivery_links_removed_at is not None
    assert not Delivery.objects.filter(pk__in=[sent.pk, queued.pk], participant__isnull=False)
    assert mail_retention.purge_delivery_links(cutoff) == 0


def test_a_participant_deleting_their_registration_takes_their_response_photos(
    org_woerden, django_capture_on_commit_callbacks
):
    from apps.participants import services as participant_services

    mailing = sent_mailing(org_woerden, sent_at=NOW)
    entry = respond(mailing, photo=jpeg_with_exif())
    name = entry.photo.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        participant_services.participant_delete(participant=entry.response.participant)
    assert not ResponseEntry.objects.filter(pk=entry.pk).exists()
    assert not default_storage.exists(name)
