"""The registration site's retention: codes, manage links, registrations never confirmed and
service SMS go a period after they expired or were made; what is not yet due stays."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.channels.models import Delivery, Notice, OutgoingMessage
from apps.governance import retention
from apps.participants import retention as participant_retention
from apps.participants.models import (
    ActiveWindow,
    Address,
    ManageLink,
    Participant,
    PhoneCode,
    ServiceSms,
)

from .report_data import manage_link, participant, phone_code, window

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 9, 1, 3, 0))
CUTOFF = NOW - dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
PARTICIPANT_RULES = ("phone_codes", "manage_links", "unconfirmed_registrations", "service_messages")


def test_the_rules_are_registered_with_their_periods():
    rules = {rule.name: rule for rule in retention.rules()}
    assert {name: rules[name].days for name in PARTICIPANT_RULES} == {
        "phone_codes": 1,
        "manage_links": 1,
        "unconfirmed_registrations": 7,
        "service_messages": 1,
    }
    assert all(str(rules[name].label) and str(rules[name].after) for name in PARTICIPANT_RULES)


def test_phone_codes_go_a_period_after_they_expired():
    person = participant("3441", created=NOW - dt.timedelta(days=30))
    gone = phone_code(person, expires_at=CUTOFF - SECOND)
    at_cutoff = phone_code(person, expires_at=CUTOFF)
    fresh = phone_code(person, expires_at=NOW)
    assert participant_retention.purge_phone_codes(CUTOFF) == 1
    assert set(PhoneCode.objects.values_list("pk", flat=True)) == {at_cutoff.pk, fresh.pk}
    assert not PhoneCode.objects.filter(pk=gone.pk).exists()


def test_manage_links_go_a_period_after_they_were_used_or_expired():
    person = participant("3441", created=NOW - dt.timedelta(days=30))
    valid = dt.timedelta(minutes=30)
    used_long_ago = manage_link(person, created=CUTOFF - valid, used=CUTOFF - SECOND)
    expired_long_ago = manage_link(person, created=CUTOFF - valid - SECOND)
    expired_at_cutoff = manage_link(person, created=CUTOFF - valid)
    used_recently = manage_link(person, created=CUTOFF - dt.timedelta(minutes=10), used=CUTOFF)
    open_link = manage_link(person, created=NOW)
    assert participant_retention.purge_manage_links(CUTOFF) == 2
    assert set(ManageLink.objects.values_list("pk", flat=True)) == {
        expired_at_cutoff.pk,
        used_recently.pk,
        open_link.pk,
    }
    assert not ManageLink.objects.filter(pk__in=[used_long_ago.pk, expired_long_ago.pk]).exists()


def test_registrations_never_confirmed_go_with_all_that_belongs_to_them():
    cutoff = NOW - dt.timedelta(days=7)
    old = participant("3441", "3511", created=cutoff - SECOND, confirmed=False)
    window(old.addresses.first())
    phone_code(old, expires_at=cutoff)
    manage_link(old, created=cutoff)
    recent = participant("3441", created=cutoff, confirmed=False)
    confirmed = participant("3441", created=cutoff - dt.timedelta(days=300))

    assert participant_retention.purge_unconfirmed_registrations(cutoff) == 1

    assert set(Participant.objects.values_list("pk", flat=True)) == {recent.pk, confirmed.pk}
    assert not Address.objects.filter(participant_id=old.pk).exists()
    assert not ActiveWindow.objects.filter(address__participant_id=old.pk).exists()
    assert not PhoneCode.objects.filter(participant_id=old.pk).exists()
    assert not ManageLink.objects.filter(participant_id=old.pk).exists()
    assert Address.objects.filter(participant__in=[recent, confirmed]).count() == 2


def _notice(person, *, expires_at, state="failed") -> Notice:
    notice = Notice.objects.create(source="participants.phone_code", text="", expires_at=expires_at)
    Delivery.objects.create(notice=notice, channel="sms", participant=person, state=state)
    return notice


def test_service_messages_go_with_their_delivery_a_period_after_they_expired():
    person = participant("3441", created=NOW - dt.timedelta(days=30))
    gone = _notice(person, expires_at=CUTOFF - SECOND, state="sent")
    at_cutoff = _notice(person, expires_at=CUTOFF)
    in_flight = _notice(person, expires_at=CUTOFF - SECOND, state="queued")
    message = OutgoingMessage.objects.create(source="actions.action:1:release", title="t", body="b")
    alert = Delivery.objects.create(message=message, channel="sms", participant=person)

    assert participant_retention.purge_service_messages(CUTOFF) == 1

    assert set(Notice.objects.values_list("pk", flat=True)) == {at_cutoff.pk, in_flight.pk}
    assert not Delivery.objects.filter(notice_id=gone.pk).exists()
    assert Delivery.objects.filter(notice__in=[at_cutoff, in_flight]).count() == 2
    assert Delivery.objects.filter(pk=alert.pk).exists()


def test_the_nightly_run_counts_what_each_rule_handled():
    person = participant("3441", created=NOW - dt.timedelta(days=30))
    phone_code(person, expires_at=CUTOFF - SECOND)
    manage_link(person, created=CUTOFF - dt.timedelta(hours=2))
    participant("3441", created=NOW - dt.timedelta(days=8), confirmed=False)
    _notice(person, expires_at=CUTOFF - SECOND)
    ServiceSms.objects.create(number_key="k", queued_at=NOW - dt.timedelta(days=2))

    counts = retention.run(now=NOW)

    assert {name: counts[name] for name in PARTICIPANT_RULES} == dict.fromkeys(PARTICIPANT_RULES, 1)
    assert retention.deleted_in(2026)["unconfirmed_registrations"] == 1
    # The budget's counts are sms_budget.forget_old's, not a retention rule's.
    assert ServiceSms.objects.count() == 1
