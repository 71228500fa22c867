"""Crisis messages (crisismelding, issue 11): a municipality's time-critical message to a
neighbourhood on every channel the channel settings allow, approved by a second person of
that organisation on the version they saw, and ended with an end message to exactly those
it reached. A mailing of any other kind still goes by e-mail only."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.channels.models import CeilingStep, ChannelSetting, Delivery, OutgoingMessage
from apps.governance.models import AuditEntry
from apps.governance.policy import shown_count
from apps.governance.roles import Role
from apps.mail import services
from apps.mail.email import MailingComposer
from apps.mail.models import Mailing
from apps.participants import geohash
from apps.participants.models import Device, Participant

from .conftest import WOERDEN, verdict

PC6 = {"kind": "pc6", "postcode": "3441AB"}
# What the crisis message reaches of the `residents` and `devices` below, per channel.
SENT_NOW = [("webpush", 1), ("sms", 2), ("voice", 1), ("email", 2)]
INSTRUCTION = "Ga naar binnen, sluit ramen en deuren en zet de ventilatie uit."


def crisis_fields(**overrides) -> dict:
    fields = {
        "kind": "crisis",
        "subject": "Grote brand bij de Rijnstraat",
        "body": "Er komt veel rook vrij die over uw buurt trekt.\n\nVolg de regionale omroep.",
        "instruction": INSTRUCTION,
        "incident_date": None,
        "incident_place": "",
        "response_days": 14,
    }
    fields.update(overrides)
    return fields


def url(name, mailing):
    return reverse(f"mail:{name}", args=[mailing.pk])


def audited(verb, mailing) -> AuditEntry | None:
    return AuditEntry.objects.filter(verb=verb, target_id=str(mailing.pk)).first()


def rows(message, channel=None) -> set:
    """(channel, recipient id) of a message's deliveries."""
    found = Delivery.objects.filter(message=message)
    if channel:
        found = found.filter(channel=channel)
    return {(d.channel, d.device_id if d.channel == "webpush" else d.participant_id) for d in found}


def quiet_now() -> dict:
    """Quiet hours from an hour ago to an hour from now."""
    now = timezone.localtime()
    return {
        "quiet_start": (now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        "quiet_end": (now + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    }


def deliver(message) -> None:
    """What the outbox workers do: every queued row sent."""
    Delivery.objects.filter(message=message, state="queued").update(
        state="sent", sent_at=timezone.now()
    )


def make_device(lat, lon, *, fresh=True, test_device=False) -> Device:
    cell = geohash.encode(lat, lon, 5)
    centre = geohash.bounds(cell).centre
    now = timezone.now()
    return Device.objects.create(
        endpoint=f"https://push.example.org/{Device.objects.count()}-{lat}",
        p256dh="p" * 20,
        auth="a" * 10,
        cell=cell,
        cell_lat=centre[0],
        cell_lon=centre[1],
        cell_updated_at=now if fresh else now - timedelta(days=2),
        is_test_device=test_device,
    )


@pytest.fixture
def residents(make_reader):
    """In 3441 AB: one on SMS, voice and e-mail; one on SMS only (no e-mail chosen); one
    in quiet hours all day (no SMS or voice now). Outside: one in Utrecht."""
    everything = make_reader(("3441 AB", 1))
    sms_only = make_reader(("3441 AB", 2), wants_email=False)
    quiet = make_reader(("3441 AB", 3))
    elsewhere = make_reader(("3511 AA", 1))
    Participant.objects.filter(pk__in=[everything.pk, quiet.pk, elsewhere.pk]).update(
        wants_voice=True
    )
    Participant.objects.filter(pk=quiet.pk).update(**quiet_now())
    return {"everything": everything, "sms_only": sms_only, "quiet": quiet, "elsewhere": elsewhere}


@pytest.fixture
def devices():
    return {
        "near": make_device(*WOERDEN),
        "stale": make_device(*WOERDEN, fresh=False),
        "test": make_device(*WOERDEN, test_device=True),
        "far": make_device(52.3731, 4.8922),  # Amsterdam
    }


@pytest.fixture
def crisis(woerden_author):
    mailing = services.mailing_create(by=woerden_author, **crisis_fields())
    services.area_add(mailing=mailing, by=woerden_author, **PC6)
    return mailing


def submit_and_approve(mailing, author, approver) -> Mailing:
    services.mailing_submit(mailing=mailing, by=author)
    version = services.mailing_version(mailing)
    services.mailing_approve(mailing=mailing, by=approver, version=version)
    mailing.refresh_from_db()
    return mailing


@pytest.fixture
def sent(crisis, woerden_author, woerden_approver, residents, devices):
    return submit_and_approve(crisis, woerden_author, woerden_approver)


# Sending -----------------------------------------------------------------------------------


def test_it_sends_a_crisis_message_on_every_channel_in_use(sent, residents, devices):
    message = sent.message
    assert sent.state == Mailing.State.SENT
    assert message.urgency == OutgoingMessage.Urgency.HIGH
    assert message.ttl_seconds == services.CRISIS_TTL_S
    assert message.title == "Burgernet crisismelding: Grote brand bij de Rijnstraat"
    assert message.body.startswith(INSTRUCTION)
    assert "veel rook" in message.body
    everything, sms_only = residents["everything"].pk, residents["sms_only"].pk
    assert rows(message) == {
        ("webpush", devices["near"].pk),
        ("sms", everything),
        ("sms", sms_only),
        ("voice", everything),
        ("email", everything),
        ("email", residents["quiet"].pk),  # e-mail does not ring
    }
    entry = audited("mailing.sent", sent)
    assert entry.detail["channels"] == dict(SENT_NOW)
    assert entry.actor.username == "goedkeurder-woerden"


@pytest.mark.parametrize("state", ["paused", "retired"])
def test_a_paused_or_retired_channel_gets_no_crisis_message(
    state, crisis, woerden_author, woerden_approver, residents, devices
):
    ChannelSetting.objects.filter(channel__in=["sms", "voice"]).update(state=state)
    mailing = submit_and_approve(crisis, woerden_author, woerden_approver)
    channels = {channel for channel, _ in rows(mailing.message)}
    assert channels == {"webpush", "email"}


def test_a_channel_that_does_not_carry_the_kind_crisis_gets_none(
    crisis, woerden_author, woerden_approver, residents, devices
):
    ChannelSetting.objects.filter(channel="webpush").update(kinds=["missing_child"])
    mailing = submit_and_approve(crisis, woerden_author, woerden_approver)
    assert {channel for channel, _ in rows(mailing.message)} == {"sms", "voice", "email"}


def test_a_crisis_message_goes_on_a_channel_whatever_urgencies_it_carries(
    crisis, woerden_author, woerden_approver, residents, devices
):
    """E-mail carries only normal messages by default; a crisis goes on every channel in
    use that carries its kind."""
    assert ChannelSetting.objects.get(channel="email").urgencies == ["normal"]
    mailing = submit_and_approve(crisis, woerden_author, woerden_approver)
    assert rows(mailing.message, "email")


def test_with_no_channel_in_use_a_crisis_message_cannot_be_approved(
    crisis, woerden_author, woerden_approver, residents
):
    services.mailing_submit(mailing=crisis, by=woerden_author)
    ChannelSetting.objects.update(state="paused")
    with pytest.raises(ValidationError) as caught:
        services.mailing_approve(
            mailing=crisis, by=woerden_approver, version=services.mailing_version(crisis)
        )
    assert str(services.MSG_NO_CHANNELS) in caught.value.messages
    crisis.refresh_from_db()
    assert crisis.state == Mailing.State.SUBMITTED
    assert not OutgoingMessage.objects.exists()


def test_a_ceiling_keeps_the_nearest_to_the_centre_of_the_areas(
    woerden_author, woerden_approver, make_reader
):
    CeilingStep.objects.create(channel="sms", starts_on=date(2020, 1, 1), max_recipients=1)
    near = make_reader(("3441 AB", 1), at=(WOERDEN[0] + 0.001, WOERDEN[1]))
    far = make_reader(("3441 AB", 2), at=(WOERDEN[0] + 0.01, WOERDEN[1]))
    mailing = services.mailing_create(by=woerden_author, **crisis_fields())
    services.area_add(
        mailing=mailing,
        by=woerden_author,
        kind="circle",
        lat=WOERDEN[0],
        lon=WOERDEN[1],
        radius_m=2000,
    )
    estimate = services.crisis_estimate(mailing)
    assert estimate["sms"] == {"found": 2, "ceiling": 1, "sent": 1, "cut": 1}
    mailing = submit_and_approve(mailing, woerden_author, woerden_approver)
    assert rows(mailing.message, "sms") == {("sms", near.pk)}
    assert rows(mailing.message, "email") == {("email", near.pk), ("email", far.pk)}


def test_a_ceiling_of_zero_leaves_the_channel_out(
    phase_out_2023, crisis, woerden_author, woerden_approver, residents, devices
):
    mailing = submit_and_approve(crisis, woerden_author, woerden_approver)
    assert {channel for channel, _ in rows(mailing.message)} == {"webpush", "email"}


def test_push_reaches_devices_near_a_municipality_area(
    woerden_author, woerden_approver, woerden, devices
):
    mailing = services.mailing_create(by=woerden_author, **crisis_fields())
    services.area_add(mailing=mailing, by=woerden_author, kind="municipality", municipality=woerden)
    mailing = submit_and_approve(mailing, woerden_author, woerden_approver)
    assert rows(mailing.message, "webpush") == {("webpush", devices["near"].pk)}


def test_the_sms_carries_the_title_and_the_instruction_however_long_the_text(
    woerden_author, woerden_approver, make_reader
):
    from apps.channels import gsm
    from apps.channels.senders.sms import alert_text

    make_reader(("3441 AB", 1))
    mailing = services.mailing_create(by=woerden_author, **crisis_fields(body="Rook. " * 800))
    services.area_add(mailing=mailing, by=woerden_author, **PC6)
    mailing = submit_and_approve(mailing, woerden_author, woerden_approver)
    text = alert_text(mailing.message)
    assert text.startswith("Burgernet crisismelding: Grote brand bij de Rijnstraat\n" + INSTRUCTION)
    assert gsm.fits(text, 3)


# Who writes and who approves ---------------------------------------------------------------


def test_a_crisis_message_always_needs_a_second_person(
    utrecht_author, make_staff_user, org_utrecht, make_reader
):
    """Utrecht's other mail goes out at once; its crisis message waits for an approver."""
    make_reader(("3511 AA", 1))
    assert not org_utrecht.requires_mail_approval
    mailing = services.mailing_create(by=utrecht_author, **crisis_fields())
    services.area_add(mailing=mailing, by=utrecht_author, kind="pc4", postcode="3511")
    services.mailing_submit(mailing=mailing, by=utrecht_author)
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SUBMITTED
    assert not OutgoingMessage.objects.exists()
    assert audited("mailing.submitted", mailing)
    with pytest.raises(PermissionDenied):
        services.mailing_fan_out(mailing=mailing, by=utrecht_author)
    approver = make_staff_user("goedkeurder-utrecht", org_utrecht, [Role.MAIL_APPROVER])
    mailing = submit_and_approve_submitted(mailing, approver)
    assert mailing.state == Mailing.State.SENT


def submit_and_approve_submitted(mailing, approver) -> Mailing:
    services.mailing_approve(
        mailing=mailing, by=approver, version=services.mailing_version(mailing)
    )
    mailing.refresh_from_db()
    return mailing


def test_the_author_cannot_approve_their_own_crisis_message(
    staff_client, woerden_author_and_approver, residents
):
    author = woerden_author_and_approver
    mailing = services.mailing_create(by=author, **crisis_fields())
    services.area_add(mailing=mailing, by=author, **PC6)
    services.mailing_submit(mailing=mailing, by=author)
    with pytest.raises(PermissionDenied):
        services.mailing_approve(
            mailing=mailing, by=author, version=services.mailing_version(mailing)
        )
    assert verdict(staff_client(author), "approve", mailing).status_code == 403
    mailing.refresh_from_db()
    assert (mailing.state, mailing.message) == (Mailing.State.SUBMITTED, None)
    assert not Delivery.objects.exists()


def test_another_organisations_approver_cannot_approve(
    staff_client, crisis, woerden_author, utrecht_approver, residents
):
    services.mailing_submit(mailing=crisis, by=woerden_author)
    version = services.mailing_version(crisis)
    with pytest.raises(PermissionDenied):
        services.mailing_approve(mailing=crisis, by=utrecht_approver, version=version)
    response = staff_client(utrecht_approver).post(url("approve", crisis), {"version": version})
    assert response.status_code == 404
    crisis.refresh_from_db()
    assert crisis.state == Mailing.State.SUBMITTED
    assert not Delivery.objects.exists()


def test_a_changed_crisis_message_is_refused(crisis, woerden_author, woerden_approver, residents):
    services.mailing_submit(mailing=crisis, by=woerden_author)
    seen = services.mailing_version(crisis)
    services.mailing_withdraw(mailing=crisis, by=woerden_author)
    services.mailing_update(mailing=crisis, by=woerden_author, instruction="Blijf buiten.")
    services.mailing_submit(mailing=crisis, by=woerden_author)
    with pytest.raises(ValidationError) as caught:
        services.mailing_approve(mailing=crisis, by=woerden_approver, version=seen)
    assert caught.value.code == "changed"
    crisis.refresh_from_db()
    assert crisis.state == Mailing.State.SUBMITTED
    assert not Delivery.objects.exists()


def test_a_police_team_cannot_write_a_crisis_message(police_team_user):
    with pytest.raises(ValidationError) as caught:
        services.mailing_create(by=police_team_user, **crisis_fields())
    assert "kind" in caught.value.message_dict
    assert not Mailing.objects.exists()


def test_a_crisis_message_without_an_instruction_cannot_be_sent(woerden_author, residents):
    mailing = services.mailing_create(by=woerden_author, **crisis_fields(instruction=""))
    services.area_add(mailing=mailing, by=woerden_author, **PC6)
    with pytest.raises(ValidationError):
        services.mailing_submit(mailing=mailing, by=woerden_author)
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.DRAFT


# The end message ---------------------------------------------------------------------------


def test_the_end_message_goes_to_exactly_those_reached_on_their_channels(
    sent, woerden_author, make_reader, residents
):
    newcomer = make_reader(("3441 AB", 9))  # in the area, but not reached
    Participant.objects.filter(pk=newcomer.pk).update(wants_voice=True)
    make_device(*WOERDEN)
    deliver(sent.message)
    before = rows(sent.message)
    mailing = services.mailing_end(
        mailing=sent, by=woerden_author, text="De brand is geblust. Ramen mogen weer open."
    )
    end = mailing.end_message
    assert rows(end) == before
    assert end.title == "Burgernet: crisis voorbij: Grote brand bij de Rijnstraat"
    assert end.body == "De brand is geblust. Ramen mogen weer open."
    assert mailing.ended_at is not None and mailing.ended_by == woerden_author
    assert audited("mailing.ended", mailing).detail["channels"]["sms"] == 2


def test_ending_stops_what_is_still_queued_and_ends_only_for_those_it_reached(
    sent, woerden_approver, residents
):
    """A row still queued is stopped: its recipient never had the crisis message, so
    gets no end message either."""
    deliver(sent.message)
    waiting = Delivery.objects.get(
        message=sent.message, participant=residents["sms_only"], channel="sms"
    )
    Delivery.objects.filter(pk=waiting.pk).update(state="queued", sent_at=None)
    mailing = services.mailing_end(mailing=sent, by=woerden_approver, text="Crisis voorbij.")
    sent.message.refresh_from_db()
    assert sent.message.stopped_at is not None
    waiting.refresh_from_db()
    assert waiting.state == "cancelled"
    assert ("sms", residents["sms_only"].pk) not in rows(mailing.end_message)
    assert ("sms", residents["everything"].pk) in rows(mailing.end_message)


def test_the_end_message_leaves_out_who_was_not_delivered_or_turned_the_channel_off(
    sent, woerden_author, residents
):
    everything, sms_only = residents["everything"], residents["sms_only"]
    deliver(sent.message)
    Delivery.objects.filter(message=sent.message, participant=sms_only, channel="sms").update(
        state="failed"
    )
    Participant.objects.filter(pk=everything.pk).update(wants_voice=False)
    mailing = services.mailing_end(mailing=sent, by=woerden_author, text="Voorbij.")
    assert rows(mailing.end_message, "sms") == {("sms", everything.pk)}
    assert rows(mailing.end_message, "voice") == set()


def test_an_end_message_by_sms_waits_for_quiet_hours_to_end(sent, woerden_author, residents):
    everything = residents["everything"]
    Participant.objects.filter(pk=everything.pk).update(**quiet_now())
    deliver(sent.message)
    mailing = services.mailing_end(mailing=sent, by=woerden_author, text="Voorbij.")
    row = Delivery.objects.get(message=mailing.end_message, participant=everything, channel="sms")
    assert row.next_attempt_at is not None and row.next_attempt_at > timezone.now()
    email = Delivery.objects.get(
        message=mailing.end_message, participant=everything, channel="email"
    )
    assert email.next_attempt_at is None


def test_a_crisis_message_is_ended_once_and_only_by_its_organisation(
    sent, woerden_author, utrecht_author, utrecht_approver, manager
):
    for outsider in (utrecht_author, utrecht_approver, manager):
        with pytest.raises(PermissionDenied):
            services.mailing_end(mailing=sent, by=outsider, text="Voorbij.")
    assert not AuditEntry.objects.filter(verb="mailing.ended").exists()
    with pytest.raises(ValidationError) as caught:
        services.mailing_end(mailing=sent, by=woerden_author, text="   ")
    assert "text" in caught.value.message_dict
    services.mailing_end(mailing=sent, by=woerden_author, text="Voorbij.")
    with pytest.raises(ValidationError):
        services.mailing_end(mailing=sent, by=woerden_author, text="Nog eens.")
    assert OutgoingMessage.objects.count() == 2


def test_only_a_sent_crisis_message_can_be_ended(
    crisis, woerden_author, utrecht_author, make_reader
):
    with pytest.raises(ValidationError):
        services.mailing_end(mailing=crisis, by=woerden_author, text="Voorbij.")
    make_reader(("3511 AA", 1))
    other = services.mailing_create(by=utrecht_author, **crisis_fields(kind="preventive"))
    services.area_add(mailing=other, by=utrecht_author, kind="pc4", postcode="3511")
    services.mailing_submit(mailing=other, by=utrecht_author)
    with pytest.raises(ValidationError):
        services.mailing_end(mailing=other, by=utrecht_author, text="Voorbij.")


# Other mail is unchanged -------------------------------------------------------------------


def test_a_non_crisis_mailing_goes_by_email_only(utrecht_author, make_reader, devices):
    reader = make_reader(("3511 AA", 1))
    make_device(52.0884, 5.1175)
    mailing = services.mailing_create(by=utrecht_author, **crisis_fields(kind="informative"))
    services.area_add(mailing=mailing, by=utrecht_author, kind="pc4", postcode="3511")
    services.mailing_submit(mailing=mailing, by=utrecht_author)
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SENT
    assert mailing.message.urgency == OutgoingMessage.Urgency.NORMAL
    assert mailing.message.title == mailing.subject
    assert rows(mailing.message) == {("email", reader.pk)}


# The e-mails -------------------------------------------------------------------------------


def test_the_crisis_email_says_what_to_do_and_the_end_email_says_it_is_over(sent, woerden_author):
    composer = MailingComposer()
    content = composer.content(sent.message)
    assert content.subject == "Crisismelding: Grote brand bij de Rijnstraat"
    assert INSTRUCTION in content.text and INSTRUCTION in content.html
    deliver(sent.message)
    services.mailing_end(mailing=sent, by=woerden_author, text="De brand is geblust.")
    sent.refresh_from_db()
    end = composer.content(sent.end_message)
    assert end.subject == "Crisis voorbij: Grote brand bij de Rijnstraat"
    assert "De brand is geblust." in end.text and "veel rook" not in end.text
    deliveries = list(
        Delivery.objects.filter(message=sent.end_message, channel="email").select_related(
            "participant"
        )
    )
    assert set(composer.recipients(sent.end_message, deliveries)) == {d.pk for d in deliveries}


# The screens -------------------------------------------------------------------------------


def test_the_approver_sees_the_channels_and_counts_before_approving(
    staff_client, crisis, woerden_author, woerden_approver, residents, devices
):
    services.mailing_submit(mailing=crisis, by=woerden_author)
    page = staff_client(woerden_approver).get(url("detail", crisis))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="crisis-channels"' in html
    shown = [(row["channel"], row["sent"]) for row in page.context["crisis_channels"]]
    assert shown == [(channel, shown_count(n)) for channel, n in SENT_NOW]
    assert 'id="crisis-sms"' in html and INSTRUCTION in html
    assert 'id="approve-form"' in html


def test_the_end_form_ends_a_sent_crisis_message(
    staff_client, sent, woerden_approver, utrecht_author
):
    client = staff_client(woerden_approver)
    page = client.get(url("detail", sent))
    assert 'id="end-form"' in page.content.decode()
    assert client.get(url("end", sent)).status_code == 405
    assert client.post(url("end", sent), {"text": ""}).status_code == 400
    assert staff_client(utrecht_author).post(url("end", sent), {"text": "X"}).status_code == 404
    sent.refresh_from_db()
    assert sent.ended_at is None
    response = client.post(url("end", sent), {"text": "De brand is geblust."})
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.end_text == "De brand is geblust."
    page = client.get(url("detail", sent)).content.decode()
    assert 'id="end-form"' not in page and 'id="end-deliveries"' in page


def test_a_device_reaches_the_crisis_by_its_fixed_place_as_it_does_an_action(
    crisis, woerden_author, woerden_approver
):
    """The same rule as an action's (participants/device_areas.py): a phone whose app was
    not opened for a day, with a fixed place in the area, gets the crisis message."""
    from apps.participants import devices as device_services

    away = make_device(*WOERDEN, fresh=False)
    device_services.device_place_add(ref=away.ref, lat=WOERDEN[0], lon=WOERDEN[1])
    sent = submit_and_approve(crisis, woerden_author, woerden_approver)
    assert ("webpush", away.pk) in rows(sent.message)
