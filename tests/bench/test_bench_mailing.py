"""`manage.py bench_mailing`: sends a generated mailing through the real path (outbox, chunk
tasks, the e-mail sender, anymail's test backend), reports its figures, and leaves nothing
behind."""

import io

import pytest
from django.core import mail
from django.core.management import call_command

from apps.bench.management.commands import bench_mailing
from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import Municipality, Organisation, User
from apps.mail.models import Mailing
from apps.participants.models import Participant


@pytest.fixture
def real_participant(geography, municipality):
    from django.utils import timezone

    # A real participant in a real municipality: the benchmark must not touch it.
    return Participant.objects.create(
        phone="+31612345678",
        phone_confirmed_at=timezone.now(),
        email="echt@example.nl",
        email_confirmed_at=timezone.now(),
        email_municipality=municipality("GM0632"),
        wants_email=True,
    )


@pytest.mark.django_db(transaction=True)
def test_it_sends_in_batches_reports_and_cleans_up(geography, real_participant, settings):
    settings.EMAIL_BATCH_SIZE = 10
    before = {m: m.objects.count() for m in (Municipality, Organisation, User, Participant)}
    out = io.StringIO()
    call_command("bench_mailing", recipients=25, stdout=out)
    report = out.getvalue()
    assert "Recipient selection (count):" in report and "for 25" in report
    assert "API calls (batch sends):     3 (at most 10 recipients each)" in report
    assert "Deliveries:                  sent 25" in report
    assert "Total (mailing_fan_out → sent):" in report
    assert "Cleaned up" in report
    # Nothing it made is left; the real participant is untouched.
    assert {m: m.objects.count() for m in before} == before
    assert not Mailing.objects.exists()
    assert not OutgoingMessage.objects.exists()
    assert not Delivery.objects.exists()
    real_participant.refresh_from_db()
    assert real_participant.email_suppressed_at is None
    assert getattr(mail, "outbox", []) == []


@pytest.mark.django_db(transaction=True)
def test_it_keeps_its_rows_when_asked(geography):
    out = io.StringIO()
    call_command("bench_mailing", recipients=3, keep=True, stdout=out)
    assert "Kept:" in out.getvalue()
    mailing = Mailing.objects.get()
    assert mailing.recipient_count == 3
    assert Participant.objects.filter(email__endswith=bench_mailing.EMAIL_DOMAIN).count() == 3
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SENT}


@pytest.mark.django_db(transaction=True)
def test_it_refuses_zero_recipients(geography):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("bench_mailing", recipients=0, stdout=io.StringIO())
