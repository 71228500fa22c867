"""Reachability: each query condition in apps/participants/reach.py answers as its Python
twin on the model does, over the same participants and moments."""

import itertools
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.channels.models import Channel
from apps.participants import reach, schedule
from apps.participants.models import ActiveWindow, Address, Participant

pytestmark = pytest.mark.django_db

AMS = ZoneInfo("Europe/Amsterdam")
CHANNELS = (Channel.SMS, Channel.VOICE, Channel.EMAIL)


def _every_kind_of_participant() -> list[Participant]:
    """One participant for each combination of what the rules look at."""
    rng = random.Random(9)
    now = timezone.now()
    quiets = [None, (time(23), time(7)), (time(9), time(17)), (time(0), time(0, 1))]
    made = []
    for n, (confirmed, sms, voice, email, email_state, quiet) in enumerate(
        itertools.product(
            (True, False),
            (True, False),
            (True, False),
            (True, False),
            ("none", "unconfirmed", "confirmed", "suppressed"),
            quiets,
        )
    ):
        if rng.random() < 0.5:  # half of the combinations are enough, and faster
            continue
        made.append(
            Participant.objects.create(
                phone=f"+316{n:08d}",
                phone_confirmed_at=now if confirmed else None,
                wants_sms=sms,
                wants_voice=voice,
                wants_email=email,
                email="" if email_state == "none" else f"p{n}@example.org",
                email_confirmed_at=now if email_state in ("confirmed", "suppressed") else None,
                email_suppressed_at=now if email_state == "suppressed" else None,
                quiet_start=quiet[0] if quiet else None,
                quiet_end=quiet[1] if quiet else None,
            )
        )
    return made


MOMENTS = [
    datetime(2026, 12, 7, 2, 0, tzinfo=AMS),  # Monday night
    datetime(2026, 12, 7, 7, 0, 30, tzinfo=AMS),  # the end of a night's quiet hours
    datetime(2026, 12, 7, 12, 0, tzinfo=AMS),
    datetime(2026, 12, 7, 0, 0, 59, tzinfo=AMS),
]


def _ids(condition) -> set[int]:
    return set(Participant.objects.filter(condition).values_list("pk", flat=True))


def test_each_rule_in_sql_answers_as_its_python_twin():
    people = _every_kind_of_participant()
    assert _ids(reach.registered()) == {p.pk for p in people if p.is_confirmed}
    assert _ids(reach.email_open()) == {p.pk for p in people if p.may_receive_email}
    for channel in CHANNELS:
        assert _ids(reach.chose(channel)) == {p.pk for p in people if p.chose(channel)}
    for moment in MOMENTS:
        minute = reach.minute_of(moment)
        assert _ids(reach.quiet(moment)) == {p.pk for p in people if p.is_quiet_at(minute)}
        for channel in CHANNELS:
            expected = {p.pk for p in people if p.may_be_alerted(channel, moment)}
            assert _ids(reach.alertable(channel, moment)) == expected, (channel, moment)


def test_a_blocked_email_address_is_never_alertable_by_email():
    now = timezone.now()
    person = Participant.objects.create(
        phone="+31611111111",
        phone_confirmed_at=now,
        wants_email=True,
        email="a@example.org",
        email_confirmed_at=now,
        email_suppressed_at=now,
        email_suppressed_reason="complaint",
    )
    assert not person.may_be_alerted(Channel.EMAIL, MOMENTS[0])
    assert person.pk not in _ids(reach.alertable(Channel.EMAIL, MOMENTS[0]))


def test_web_push_is_not_a_participant_channel():
    with pytest.raises(ValueError):
        reach.chose(Channel.WEBPUSH)
    with pytest.raises(ValueError):
        Participant(phone="+31600000000").chose(Channel.WEBPUSH)


def test_active_addresses_in_sql_answer_as_is_active_at_in_python():
    rng = random.Random(5)
    person = Participant.objects.create(phone="+31622222222")
    addresses = []
    for n in range(60):
        address = Address.objects.create(
            participant=person,
            label=f"a{n}",
            postcode="3511AA",
            house_number=n + 1,
            lat=52.09,
            lon=5.12,
            always_active=n % 6 == 0,
        )
        if not address.always_active:
            start = time(rng.randrange(24), rng.choice((0, 15, 30, 59)))
            end = time(rng.randrange(24), rng.choice((0, 15, 30, 59)))
            ActiveWindow.objects.create(
                address=address, days=rng.randrange(1, schedule.ALL_DAYS + 1), start=start, end=end
            )
        addresses.append(address)
    moment = datetime(2026, 12, 7, 0, 0, tzinfo=AMS)
    for _ in range(40):
        moment += timedelta(minutes=rng.randrange(30, 600))
        active = reach.active_addresses(Address.objects.all(), moment)
        expected = {a.pk for a in addresses if a.is_active_at(moment)}
        assert set(active.values_list("pk", flat=True)) == expected, moment


# The reachability the database copies onto each address -------------------------------


def _address_ids(channel, moment) -> set[int]:
    return set(
        Address.objects.filter(reach.address_alertable(channel, moment)).values_list(
            "participant_id", flat=True
        )
    )


def _assert_addresses_agree(people):
    for person in people:
        person.refresh_from_db()
    housed = set(Address.objects.values_list("participant_id", flat=True))
    for moment in MOMENTS:
        for channel in CHANNELS:
            expected = {
                p.pk for p in people if p.pk in housed and p.may_be_alerted(channel, moment)
            }
            assert _address_ids(channel, moment) == expected, (channel, moment)


def _with_address(person: Participant, n: int = 0) -> Address:
    return Address.objects.create(
        participant=person,
        label="thuis",
        postcode="3511AA",
        house_number=n + 1,
        lat=52.09,
        lon=5.12,
    )


def test_each_address_carries_its_participants_reachability_whatever_wrote_it():
    people = _every_kind_of_participant()
    addresses = [_with_address(p, n) for n, p in enumerate(people)]
    _assert_addresses_agree(people)

    # A participant saved through the model, and rows changed by queryset updates (as the
    # e-mail webhook and the unsubscribe link do).
    first, second, third = people[0], people[1], people[2]
    first.wants_sms = not first.wants_sms
    first.quiet_start, first.quiet_end = time(1), time(3)
    first.save()
    Participant.objects.filter(pk=second.pk).update(
        email_suppressed_at=timezone.now(), email_suppressed_reason="bounce"
    )
    Participant.objects.filter(pk=third.pk).update(phone_confirmed_at=None, wants_voice=True)
    _assert_addresses_agree(people)

    # An address saved from a stale copy, and one whose copy is written over on purpose:
    # the database writes its participant's values again.
    stale = Address.objects.get(pk=addresses[3].pk)
    Participant.objects.filter(pk=people[3].pk).update(wants_sms=not people[3].wants_sms)
    stale.label = "werk"
    stale.save()
    Address.objects.filter(pk=addresses[4].pk).update(
        reach_sms=True, reach_voice=True, reach_email=True, quiet_start=None, quiet_end=None
    )
    _assert_addresses_agree(people)

    # A second address, added later, and one moved to another participant.
    _with_address(people[5], 99)
    Address.objects.filter(pk=addresses[6].pk).update(participant=people[7])
    _assert_addresses_agree(people)
