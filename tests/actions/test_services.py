"""The life of an action through its services: release, update, end, cancel, tips — who
gets what, who may do it, and the audit trail."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.actions import services
from apps.actions.models import Action, EndMessage, Tip
from apps.channels import outbox
from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import AuditEntry, PoliceUnit
from tests.fakes import point_at

from .conftest import AMSTERDAM, UTRECHT, action_fields, approve_and_release, local

AT = local(2, 14)  # Wednesday 14:00


def recipients(message, channel):
    field = "device_id" if channel == "webpush" else "participant_id"
    return set(
        Delivery.objects.filter(message=message, channel=channel).values_list(field, flat=True)
    )


def mark_sent(message):
    """What the workers do: every queued delivery of the message is sent."""
    Delivery.objects.filter(message=message).update(state=Delivery.State.SENT, sent_at=AT)


def audit_verbs(action):
    return list(
        AuditEntry.objects.filter(target_type="actions.action", target_id=str(action.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )


@pytest.fixture
def neighbourhood(make_participant, make_device):
    """Around the Dom of Utrecht: participants on each channel, devices, and people outside."""
    return {
        "sms": make_participant(point_at(UTRECHT, 300, 10)),
        "sms_voice": make_participant(point_at(UTRECHT, 800, 120), wants_voice=True),
        "email": make_participant(
            point_at(UTRECHT, 500, 200), wants_sms=False, wants_email=True, email_confirmed=True
        ),
        "outside": make_participant(point_at(UTRECHT, 5_000, 0)),
        "device": make_device(UTRECHT, updated=AT - timedelta(hours=1)),
        "test_device": make_device(UTRECHT, updated=AT - timedelta(hours=1), test=True),
        "far_device": make_device(point_at(UTRECHT, 20_000, 0), updated=AT),
    }


# Drafts ----------------------------------------------------------------------------------


def test_it_creates_a_draft_in_the_operators_region_with_its_signalement(draft_mn, operator_mn):
    assert draft_mn.state == Action.State.DRAFT
    assert draft_mn.police_unit.name == "Midden-Nederland"
    assert draft_mn.organisation == operator_mn.organisation
    assert draft_mn.created_by == operator_mn
    assert [p.clothing for p in draft_mn.persons.all()] == ["grijze jas"]
    assert audit_verbs(draft_mn) == ["action.created"]


def test_it_refuses_a_draft_for_another_region(operator_ams):
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    with pytest.raises(PermissionDenied):
        services.action_create(by=operator_ams, police_unit=unit, **action_fields())
    assert not Action.objects.exists()


def test_it_lets_only_the_national_operator_make_an_amber_alert(
    operator_mn, manager, national_operator, photo
):
    for user in (operator_mn, manager):
        with pytest.raises(PermissionDenied):
            services.action_create(by=user, **action_fields(kind="amber_alert", photo=photo))
    amber = services.action_create(
        by=national_operator, **action_fields(kind="amber_alert", photo=photo)
    )
    assert amber.photo.name.startswith("actions/")
    assert amber.photo.name.endswith(".png")
    assert "kind" not in amber.photo.name  # the uploader's file name is not kept


def test_it_changes_a_draft_but_not_a_released_action(draft_mn, operator_mn, operator_ams):
    draft_mn.title = "Vermiste man (83)"
    services.action_save_draft(action=draft_mn, by=operator_mn, changed=["title"])
    assert Action.objects.get(pk=draft_mn.pk).title == "Vermiste man (83)"
    with pytest.raises(PermissionDenied):
        services.action_save_draft(action=draft_mn, by=operator_ams)
    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.RELEASED)
    with pytest.raises(ValidationError):
        services.action_save_draft(action=draft_mn, by=operator_mn)
    assert audit_verbs(draft_mn) == ["action.created", "action.changed"]


# Release ---------------------------------------------------------------------------------


def test_it_releases_to_everyone_in_the_circle_on_the_time_critical_channels(
    draft_mn, operator_mn, neighbourhood
):
    n = neighbourhood
    sent = services.action_release(action=draft_mn, by=operator_mn, at=AT)
    message = sent.message
    assert recipients(message, "sms") == {n["sms"].pk, n["sms_voice"].pk}
    assert recipients(message, "voice") == {n["sms_voice"].pk}
    assert recipients(message, "webpush") == {n["device"].pk}
    assert recipients(message, "email") == set()
    assert sent.queued == {"webpush": 1, "sms": 2, "voice": 1}
    assert message.source == f"actions.action:{draft_mn.pk}:release"
    assert message.topic == f"burgernet-actie-{draft_mn.pk}"
    assert message.urgency == OutgoingMessage.Urgency.HIGH
    assert message.ttl_seconds == services.TIME_CRITICAL_TTL_S
    assert "grijze jas" in message.body
    assert message.data["action"] == str(draft_mn.ref)
    draft_mn.refresh_from_db()
    assert draft_mn.state == Action.State.RELEASED
    assert draft_mn.released_at == AT
    assert draft_mn.release_message == message
    assert audit_verbs(draft_mn) == ["action.created", "action.released"]


def test_it_sends_a_not_time_critical_action_to_the_app_and_email(operator_mn, neighbourhood):
    n = neighbourhood
    action = services.action_create(by=operator_mn, **action_fields(kind="suspicious_situation"))
    message = services.action_release(action=action, by=operator_mn, at=AT).message
    assert recipients(message, "email") == {n["email"].pk}
    assert recipients(message, "webpush") == {n["device"].pk}
    assert not Delivery.objects.filter(message=message, channel__in=["sms", "voice"]).exists()
    assert message.urgency == OutgoingMessage.Urgency.NORMAL


def test_it_sends_an_exercise_only_to_test_devices(operator_mn, neighbourhood):
    action = services.action_create(by=operator_mn, **action_fields(is_exercise=True))
    message = services.action_release(action=action, by=operator_mn, at=AT).message
    deliveries = Delivery.objects.filter(message=message)
    assert list(deliveries.values_list("channel", "device_id", "participant_id")) == [
        ("webpush", neighbourhood["test_device"].pk, None)
    ]
    assert message.title.startswith("Burgernet: OEFENING")


def test_each_channel_names_burgernet_once_in_an_actions_messages(
    draft_mn, operator_mn, neighbourhood
):
    """The action's message carries "Burgernet: " in its title (one place adds it); the push
    title, the SMS, the call and the e-mail subject each show it once."""
    from apps.actions.email import ActionEmailComposer
    from apps.channels.senders import sms, voice, webpush

    released = services.action_release(action=draft_mn, by=operator_mn, at=AT).message
    mark_sent(released)
    ended = services.action_end(
        action=draft_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Hij is terecht.",
        at=AT,
    ).message
    for message in (released, ended):
        texts = {
            "push": webpush.payload_base(message)["title"],
            "sms": sms.alert_text(message),
            "voice": voice.spoken_text(message),
            "email": ActionEmailComposer().content(message).subject,
        }
        for channel, text in texts.items():
            assert text.startswith("Burgernet: "), (channel, text)
            assert text.count("Burgernet:") == 1, (channel, text)
    assert sms.alert_text(released).startswith(f"Burgernet: {draft_mn.title}\n")


@pytest.mark.parametrize("exercise", [False, True])
def test_a_short_sms_shortens_the_free_description_and_keeps_the_call_line(
    operator_mn, neighbourhood, exercise
):
    """The SMS has room for three parts: the free description gives way first; the kind,
    the signalement, the call line and the link stay, and one ellipsis of the operator's
    does not turn the SMS into UCS-2."""
    from apps.channels import gsm
    from apps.channels.senders import sms, webpush

    free = "Loopt slecht… is in de war en zoekt zijn ‘oude’ huis. " * 17  # ~950 characters
    draft = services.action_create(
        by=operator_mn,
        persons=[{"sex": "male", "age": "82", "clothing": "grijze jas"}],
        **action_fields(text=free.strip(), is_exercise=exercise),
    )
    message = services.action_release(action=draft, by=operator_mn, at=AT).message

    text = sms.alert_text(message)

    counted = gsm.segments(text)
    assert (counted.encoding, counted.parts) == ("gsm7", 3)
    assert "82" in text and "grijze jas" in text  # the signalement
    assert "Gezien? Bel 0800-0011 (bij spoed 112).\n" in text  # the call line
    assert text.endswith(message.url)
    assert "Loopt slecht... is in de war" in text and "huis. ..." not in text[-200:]
    assert "...\nGezien?" in text  # the description was shortened, not the tail
    # The push carries the text within its own limit, the call line kept there too.
    pushed = webpush.payload_base(message)["body"]
    assert len(pushed) <= webpush.MAX_BODY_CHARS and "82" in pushed
    assert pushed.endswith("…\nGezien? Bel 0800-0011 (bij spoed 112).")
    assert message.body.endswith("Gezien? Bel 0800-0011 (bij spoed 112).")


def test_only_the_alerts_of_an_action_ask_to_stay_on_screen(draft_mn, operator_mn, neighbourhood):
    """An alert (release, update) of a time-critical action stays on a phone's screen until
    dismissed; its end message and correction are follow-ups, and the app lets them go."""
    from apps.channels.senders import webpush

    released = services.action_release(action=draft_mn, by=operator_mn, at=AT).message
    mark_sent(released)
    update = services.action_update(
        action=draft_mn, by=operator_mn, text="Nu bij het station.", at=AT
    )
    ended = services.action_end(
        action=draft_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Terecht.",
        at=AT,
    ).message
    payloads = {m: webpush.payload_base(m) for m in (released, update.message, ended)}
    assert [p["urgency"] for p in payloads.values()] == ["high", "high", "high"]
    assert [p.get("follow_up", False) for p in payloads.values()] == [False, False, True]

    corrected = services.action_create(by=operator_mn, **action_fields())
    services.action_release(action=corrected, by=operator_mn, at=AT)
    cancel = services.action_cancel(action=corrected, by=operator_mn, text="Vergissing.", at=AT)
    assert webpush.payload_base(cancel.message)["follow_up"] is True


def test_it_refuses_to_release_twice(draft_mn, operator_mn, neighbourhood):
    services.action_release(action=draft_mn, by=operator_mn, at=AT)
    stale_copy = Action.objects.get(pk=draft_mn.pk)
    with pytest.raises(ValidationError):
        services.action_release(action=draft_mn, by=operator_mn, at=AT)
    stale_copy.state = Action.State.DRAFT
    with pytest.raises(ValidationError):
        services.action_release(action=stale_copy, by=operator_mn, at=AT)
    assert OutgoingMessage.objects.count() == 1


def test_it_refuses_release_by_an_operator_of_another_region(draft_mn, operator_ams, neighbourhood):
    with pytest.raises(PermissionDenied):
        services.action_release(action=draft_mn, by=operator_ams, at=AT)
    assert not OutgoingMessage.objects.exists()
    assert Action.objects.get(pk=draft_mn.pk).state == Action.State.DRAFT


def test_it_refuses_an_amber_alert_without_a_photo(national_operator):
    amber = services.action_create(by=national_operator, **action_fields(kind="amber_alert"))
    with pytest.raises(ValidationError) as error:
        services.action_release(action=amber, by=national_operator, at=AT)
    assert "foto" in str(error.value)
    assert not OutgoingMessage.objects.exists()


def test_it_sends_an_amber_alert_to_the_whole_country_on_every_channel(
    national_operator, second_national_operator, operator_mn, neighbourhood, make_participant, photo
):
    n = neighbourhood
    in_amsterdam = make_participant(AMSTERDAM, wants_email=True, email_confirmed=True)
    amber = services.action_create(
        by=national_operator, **action_fields(kind="amber_alert", photo=photo)
    )
    with pytest.raises(PermissionDenied):
        services.action_release(action=amber, by=operator_mn, at=AT)
    sent = approve_and_release(amber, national_operator, second_national_operator, at=AT)
    message = sent.message
    assert recipients(message, "sms") == {
        n["sms"].pk,
        n["sms_voice"].pk,
        n["outside"].pk,
        in_amsterdam.pk,
    }
    assert recipients(message, "email") == {n["email"].pk, in_amsterdam.pk}
    assert recipients(message, "voice") == {n["sms_voice"].pk}
    assert recipients(message, "webpush") == {n["device"].pk, n["far_device"].pk}


# Updates, the end and cancellation -------------------------------------------------------


@pytest.fixture
def released(draft_mn, operator_mn, neighbourhood):
    """The action, released and sent to the neighbourhood at AT."""
    message = services.action_release(action=draft_mn, by=operator_mn, at=AT).message
    mark_sent(message)
    return draft_mn


def test_it_sends_an_update_to_those_alerted_and_to_newcomers(
    released, operator_mn, neighbourhood, make_participant, make_device
):
    n = neighbourhood
    newcomer = make_participant(point_at(UTRECHT, 100, 0))
    new_device = make_device(point_at(UTRECHT, 200, 0), updated=AT)
    # Someone alerted whose address was since moved out of the circle still hears about it.
    n["sms"].addresses.update(lat=AMSTERDAM[0], lon=AMSTERDAM[1])
    later = AT + timedelta(minutes=20)
    sent = services.action_update(
        action=released, by=operator_mn, text="Hij draagt een pet.", at=later
    )
    assert recipients(sent.message, "sms") == {n["sms"].pk, n["sms_voice"].pk, newcomer.pk}
    assert recipients(sent.message, "voice") == {n["sms_voice"].pk}
    assert recipients(sent.message, "webpush") == {n["device"].pk, new_device.pk}
    assert sent.message.source == f"actions.action:{released.pk}:update:{released.updates.get().pk}"
    assert released.updates.get().message == sent.message
    assert audit_verbs(released)[-1] == "action.updated"


def test_it_sends_the_end_message_to_exactly_those_alerted(
    released, operator_mn, neighbourhood, make_participant, make_device
):
    n = neighbourhood
    make_participant(point_at(UTRECHT, 100, 0))  # arrived after the alert
    make_device(point_at(UTRECHT, 200, 0), updated=AT)
    later = AT + timedelta(hours=1)
    sent = services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Hij is terug.",
        at=later,
    )
    assert recipients(sent.message, "sms") == {n["sms"].pk, n["sms_voice"].pk}
    assert recipients(sent.message, "voice") == {n["sms_voice"].pk}
    assert recipients(sent.message, "webpush") == {n["device"].pk}
    assert sent.message.source == f"actions.action:{released.pk}:end"
    assert "gevonden" in sent.message.body
    released.refresh_from_db()
    assert released.state == Action.State.ENDED
    assert released.result == "found_safe"
    assert released.ended_at == later
    end = EndMessage.objects.get(action=released)
    assert (end.text, end.result, end.message) == ("Hij is terug.", "found_safe", sent.message)
    assert audit_verbs(released) == ["action.created", "action.released", "action.ended"]


def test_it_sends_the_end_message_also_to_those_an_update_reached(
    released, operator_mn, make_participant
):
    newcomer = make_participant(point_at(UTRECHT, 100, 0))
    update = services.action_update(action=released, by=operator_mn, text="Pet.", at=AT)
    mark_sent(update.message)
    end = services.action_end(
        action=released, by=operator_mn, information_contributed=True, result="not_found", text="x"
    )
    assert newcomer.pk in recipients(end.message, "sms")


def test_it_knows_the_messages_of_an_action_and_which_of_them_alerted(released, operator_mn):
    first = services.action_update(action=released, by=operator_mn, text="Pet.", at=AT).message
    second = services.action_update(action=released, by=operator_mn, text="Fiets.", at=AT).message
    end = services.action_end(
        action=released, by=operator_mn, information_contributed=True, result="not_found", text="x"
    )
    released.refresh_from_db()
    alerting = [released.release_message_id, first.pk, second.pk]
    assert released.sent_messages() == [
        ("release", released.release_message_id),
        ("update", first.pk),
        ("update", second.pk),
        ("end", end.message.pk),
    ]
    assert released.alerting_message_ids() == alerting


def test_it_ends_only_a_running_action(draft_mn, operator_mn, neighbourhood):
    with pytest.raises(ValidationError):
        services.action_end(
            action=draft_mn,
            by=operator_mn,
            information_contributed=True,
            result="arrested",
            text="Klaar.",
        )
    services.action_release(action=draft_mn, by=operator_mn, at=AT)
    with pytest.raises(ValidationError):
        services.action_end(
            action=draft_mn, by=operator_mn, information_contributed=True, result="", text="Klaar."
        )
    with pytest.raises(ValidationError):
        services.action_end(
            action=draft_mn,
            by=operator_mn,
            information_contributed=True,
            result="arrested",
            text=" ",
        )
    services.action_end(
        action=draft_mn,
        by=operator_mn,
        information_contributed=True,
        result="arrested",
        text="Klaar.",
    )
    with pytest.raises(ValidationError):
        services.action_end(
            action=draft_mn,
            by=operator_mn,
            information_contributed=True,
            result="arrested",
            text="Nog eens.",
        )
    with pytest.raises(ValidationError):
        services.action_update(action=draft_mn, by=operator_mn, text="Te laat.")
    assert EndMessage.objects.count() == 1


def test_it_refuses_the_end_by_an_operator_of_another_region(released, operator_ams):
    with pytest.raises(PermissionDenied):
        services.action_end(
            action=released,
            by=operator_ams,
            information_contributed=True,
            result="arrested",
            text="Klaar.",
        )
    assert Action.objects.get(pk=released.pk).state == Action.State.RELEASED


def test_it_cancels_with_a_correction_to_all_who_got_it(released, operator_mn, neighbourhood):
    n = neighbourhood
    sent = services.action_cancel(
        action=released, by=operator_mn, text="Dit bericht is per vergissing verstuurd."
    )
    assert recipients(sent.message, "sms") == {n["sms"].pk, n["sms_voice"].pk}
    assert recipients(sent.message, "webpush") == {n["device"].pk}
    released.refresh_from_db()
    assert released.state == Action.State.CANCELLED
    assert released.cancel_message == sent.message
    assert released.correction == "Dit bericht is per vergissing verstuurd."
    assert released.sent_messages() == [
        ("release", released.release_message_id),
        ("cancel", sent.message.pk),
    ]
    assert audit_verbs(released)[-1] == "action.cancelled"
    with pytest.raises(ValidationError):
        services.action_cancel(action=released, by=operator_mn, text="Nog eens.")
    with pytest.raises(ValidationError):
        services.action_end(
            action=released, by=operator_mn, information_contributed=True, result="other", text="x"
        )


def test_it_cannot_cancel_a_draft(draft_mn, operator_mn):
    with pytest.raises(ValidationError):
        services.action_cancel(action=draft_mn, by=operator_mn, text="Vergissing.")


# Tips ------------------------------------------------------------------------------------


@pytest.fixture
def running(draft_mn):
    """A released action, without sending anything (for tips)."""
    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.RELEASED)
    draft_mn.refresh_from_db()
    return draft_mn


def test_it_takes_a_tip_with_a_photo_and_a_number(running, photo):
    tip = services.tip_submit(
        action=running, text="Zag hem bij het station.", photo=photo, phone="0612345678"
    )
    assert tip.action == running
    assert tip.photo.name.startswith("tips/")
    assert not tip.is_read
    entry = AuditEntry.objects.get(verb="tip.received")
    assert entry.actor is None
    assert "0612345678" not in str(entry.detail) + entry.target_repr


def test_it_takes_an_anonymous_tip(running):
    tip = services.tip_submit(action=running, text="Rode fiets.")
    assert tip.phone == ""
    assert not tip.photo


def test_it_refuses_tips_on_an_action_that_is_not_running(draft_mn):
    with pytest.raises(ValidationError):
        services.tip_submit(action=draft_mn, text="Iets gezien.")
    Action.objects.filter(pk=draft_mn.pk).update(state=Action.State.ENDED, result="other")
    draft_mn.refresh_from_db()
    with pytest.raises(ValidationError):
        services.tip_submit(action=draft_mn, text="Iets gezien.")
    assert not Tip.objects.exists()


def test_it_refuses_an_empty_tip(running):
    with pytest.raises(ValidationError):
        services.tip_submit(action=running, text="   ")


def test_it_marks_a_tip_read_for_the_region_only(running, operator_mn, operator_ams):
    tip = services.tip_submit(action=running, text="Rode fiets.")
    with pytest.raises(PermissionDenied):
        services.tip_mark_read(tip=tip, by=operator_ams)
    services.tip_mark_read(tip=tip, by=operator_mn)
    assert Tip.objects.get(pk=tip.pk).is_read
    assert AuditEntry.objects.filter(verb="tip.read", actor=operator_mn).count() == 1


def test_it_stops_the_alert_still_queued_when_the_action_ends(draft_mn, operator_mn, neighbourhood):
    n = neighbourhood
    release = services.action_release(action=draft_mn, by=operator_mn, at=AT).message
    # The app push went out; the SMS and voice calls were still waiting.
    Delivery.objects.filter(message=release, channel="webpush").update(state="sent")
    end = services.action_end(
        action=draft_mn,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Terug.",
    )
    assert set(
        Delivery.objects.filter(message=release).values_list("channel", "state").distinct()
    ) == {("webpush", "sent"), ("sms", "cancelled"), ("voice", "cancelled")}
    assert Delivery.objects.filter(message=end.message).count() == 1
    assert recipients(end.message, "webpush") == {n["device"].pk}
    assert end.queued == {"webpush": 1, "sms": 0, "voice": 0}


def test_it_keeps_channel_choices_and_waits_for_quiet_hours_with_the_end_message(
    released, operator_mn, neighbourhood
):
    n = neighbourhood
    quiet_end = (AT + timedelta(hours=8)).time()
    n["sms"].quiet_start, n["sms"].quiet_end = AT.time(), quiet_end
    n["sms"].save()
    n["sms_voice"].wants_voice = False
    n["sms_voice"].save()
    end = services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="arrested",
        text="Aangehouden.",
        at=AT,
    )
    # Alerted before their quiet hours began: the end message waits for them to end.
    assert recipients(end.message, "sms") == {n["sms_voice"].pk, n["sms"].pk}
    waiting = Delivery.objects.get(message=end.message, channel="sms", participant=n["sms"])
    assert waiting.next_attempt_at == AT + timedelta(hours=8)
    now = Delivery.objects.get(message=end.message, channel="sms", participant=n["sms_voice"])
    assert now.next_attempt_at is None
    # Turned voice off since the alert: no end message by voice.
    assert recipients(end.message, "voice") == set()

    # The outbox leaves the waiting row alone until then, and sends it after.
    def claimed_sms(at):
        claimed = outbox.claim_chunk(message_id=end.message.pk, now=at)
        return {d.pk for d in claimed if d.channel == "sms"}

    assert claimed_sms(AT) == {now.pk}
    assert claimed_sms(AT + timedelta(hours=8, minutes=1)) == {waiting.pk}


# The centre of an action lies in the operator's region, whatever the path (issue 9) -------


def test_a_draft_cannot_be_created_with_its_centre_in_another_region(operator_mn):
    with pytest.raises(PermissionDenied, match="buiten het werkgebied"):
        services.action_create(by=operator_mn, **action_fields(lat=AMSTERDAM[0], lon=AMSTERDAM[1]))
    assert not Action.objects.exists()


def test_a_draft_cannot_be_moved_into_another_region(operator_mn, draft_mn):
    draft_mn.lat, draft_mn.lon = AMSTERDAM
    with pytest.raises(PermissionDenied, match="buiten het werkgebied"):
        services.action_save_draft(action=draft_mn, by=operator_mn, changed=["lat", "lon"])
    draft_mn.refresh_from_db()
    assert (draft_mn.lat, draft_mn.lon) == UTRECHT


def test_a_draft_placed_in_another_region_by_any_other_path_is_not_released(
    operator_mn, draft_mn, make_participant
):
    make_participant(AMSTERDAM)
    # Written past the services (an old row, a data fix, a bug elsewhere).
    Action.objects.filter(pk=draft_mn.pk).update(lat=AMSTERDAM[0], lon=AMSTERDAM[1])
    draft_mn.refresh_from_db()

    with pytest.raises(PermissionDenied, match="buiten het werkgebied"):
        services.action_release(action=draft_mn, by=operator_mn)

    draft_mn.refresh_from_db()
    assert draft_mn.state == Action.State.DRAFT
    assert not Delivery.objects.exists()


def test_a_national_operator_may_place_an_action_anywhere(national_operator):
    action = services.action_create(
        by=national_operator,
        police_unit=PoliceUnit.objects.get(name="Amsterdam"),
        **action_fields(lat=UTRECHT[0], lon=UTRECHT[1]),
    )
    assert action.pk


def test_a_circle_may_reach_across_the_border_of_the_region(operator_mn):
    # Centre in Midden-Nederland, 40 km wide: reaches into Amsterdam's region. Allowed.
    near_border = point_at(UTRECHT, 15_000, bearing_deg=330)
    action = services.action_create(
        by=operator_mn, **action_fields(lat=near_border[0], lon=near_border[1], radius_m=30_000)
    )
    assert action.pk


# A blocked e-mail address is not alerted (issue 9, bug 2) ---------------------------------


def test_a_participant_whose_email_is_blocked_is_neither_counted_nor_sent_an_email(
    operator_mn, make_participant
):
    from django.utils import timezone

    from apps.actions import targeting
    from apps.participants.models import Participant

    open_address = make_participant(UTRECHT, wants_email=True, email_confirmed=True)
    blocked = make_participant(UTRECHT, wants_email=True, email_confirmed=True)
    Participant.objects.filter(pk=blocked.pk).update(
        email_suppressed_at=timezone.now(), email_suppressed_reason="bounce"
    )
    action = services.action_create(by=operator_mn, **action_fields(kind="suspicious_situation"))

    estimate = targeting.estimate_reach(targeting.Target.of(action), at=AT)
    message = services.action_release(action=action, by=operator_mn, at=AT).message

    assert estimate["email"].sent == 1
    assert set(
        Delivery.objects.filter(message=message, channel="email").values_list(
            "participant_id", flat=True
        )
    ) == {open_address.pk}


# Free text: cleaned and limited in the services and models (issue 10, item 10) -------------

RLO = "\u202e"  # right-to-left override
ZWSP = "\u200b"  # zero-width space


def test_it_refuses_an_action_text_of_100000_characters(operator_mn):
    with pytest.raises(ValidationError) as refused:
        services.action_create(by=operator_mn, **action_fields(text="x" * 100_000))
    assert "text" in refused.value.message_dict
    assert not Action.objects.exists()


def test_it_takes_an_action_text_up_to_the_limit(operator_mn):
    from apps.actions.models import ACTION_TEXT_MAX

    action = services.action_create(by=operator_mn, **action_fields(text="x" * ACTION_TEXT_MAX))
    assert len(action.text) == ACTION_TEXT_MAX == 1000


def test_it_stores_an_actions_free_text_clean(operator_mn):
    action = services.action_create(
        by=operator_mn,
        persons=[{"clothing": f"rode{ZWSP} jas{RLO}"}],
        vehicles=[{"licence_plate": f"XX{ZWSP}-123-Y"}],
        **action_fields(
            title=f"Vermiste man{RLO} (82)", text=f"Loopt{ZWSP} slecht\r\nen is in de war."
        ),
    )
    action.refresh_from_db()
    assert (action.title, action.text) == ("Vermiste man (82)", "Loopt slecht\nen is in de war.")
    assert action.persons.get().clothing == "rode jas"
    assert action.vehicles.get().licence_plate == "XX-123-Y"


@pytest.mark.parametrize("verb", ["update", "end", "cancel"])
def test_it_refuses_a_follow_up_text_over_the_limit_and_sends_nothing(released, operator_mn, verb):
    from apps.actions.models import FOLLOW_UP_TEXT_MAX

    messages = OutgoingMessage.objects.count()
    too_long = "x" * (FOLLOW_UP_TEXT_MAX + 1)
    call = {
        "update": lambda: services.action_update(action=released, by=operator_mn, text=too_long),
        "end": lambda: services.action_end(
            action=released,
            by=operator_mn,
            information_contributed=True,
            result="found_safe",
            text=too_long,
        ),
        "cancel": lambda: services.action_cancel(action=released, by=operator_mn, text=too_long),
    }[verb]
    with pytest.raises(ValidationError) as refused:
        call()
    assert "text" in refused.value.message_dict
    assert OutgoingMessage.objects.count() == messages
    released.refresh_from_db()
    assert released.state == Action.State.RELEASED
    assert not released.updates.exists() and not EndMessage.objects.exists()


def test_a_follow_up_text_at_the_limit_goes_out_whole(released, operator_mn):
    from apps.actions.models import FOLLOW_UP_TEXT_MAX

    text = "y" * FOLLOW_UP_TEXT_MAX
    sent = services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text=text,
    )
    # The result before it, the verification code after it, nothing cut off.
    assert sent.message.body == (f"gevonden. {text}\nControlecode {released.verification_code}")


def test_it_sends_and_stores_an_update_clean(released, operator_mn):
    sent = services.action_update(
        action=released, by=operator_mn, text=f"Gezien bij{ZWSP} het station{RLO}."
    )
    assert sent.message.body.startswith("Gezien bij het station.\n")
    assert released.updates.get().text == "Gezien bij het station."


def test_it_stores_a_tip_clean_and_refuses_one_over_the_limit(released):
    tip = services.tip_submit(action=released, text=f"{RLO}Man met{ZWSP} rugzak")
    assert tip.text == "Man met rugzak"
    with pytest.raises(ValidationError):
        services.tip_submit(action=released, text="x" * 2001)
    assert Tip.objects.count() == 1
