"""The channel settings screen: a nationwide manager pauses and resumes channels, sets what
they carry and their ceiling schedule, and sends a test message to themselves; nobody else
may, bad input changes nothing, and every change is in the audit trail."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.channels.models import CeilingStep, ChannelSetting
from apps.channels.senders import sms, voice
from apps.governance.models import AuditEntry
from apps.governance.roles import Role


@pytest.fixture
def client(staff_client, manager):
    return staff_client(manager)


def _setting_data(**overrides):
    data = {"state": "enabled", "urgencies": ["high"], "kinds": [], "note": ""}
    data.update(overrides)
    return data


def _ceiling(**fields):
    """The ceiling form's POST data (its fields carry the prefix "ceiling")."""
    return {f"ceiling-{name}": value for name, value in fields.items()}


def _tomorrow():
    return timezone.localdate() + timedelta(days=1)


def test_a_manager_sees_every_channel_with_today_s_ceiling(client, phase_out_2023):
    response = client.get(reverse("governance:channels"))
    assert response.status_code == 200
    page = response.content.decode()
    for channel in ("webpush", "sms", "voice", "email"):
        assert f'id="channel-{channel}"' in page
    assert "niet gebruikt (plafond 0)" in page  # SMS and voice since 1 September 2023


def test_a_manager_pauses_sms_and_the_next_release_leaves_it_out(client, manager):
    response = client.post(
        reverse("governance:channel", args=["sms"]),
        _setting_data(state="paused", note="Storing bij de gateway"),
    )
    assert response.status_code == 302
    setting = ChannelSetting.objects.get(channel="sms")
    assert setting.state == "paused"
    assert setting.note == "Storing bij de gateway"
    entry = AuditEntry.objects.get(verb="channel.changed")
    assert entry.actor == manager
    assert entry.detail["before"]["state"] == "enabled"
    assert entry.detail["after"]["state"] == "paused"


def test_a_manager_limits_a_channel_to_some_kinds(client):
    response = client.post(
        reverse("governance:channel", args=["sms"]),
        _setting_data(kinds=["missing_child", "amber_alert"]),
    )
    assert response.status_code == 302
    assert ChannelSetting.objects.get(channel="sms").kinds == ["amber_alert", "missing_child"]


@pytest.mark.parametrize(
    "data",
    [
        _setting_data(state="sometimes"),
        _setting_data(urgencies=["whenever"]),
        _setting_data(kinds=["picnic"]),
        _setting_data(urgencies=[]),  # in use, but for nothing
        _setting_data(note="x" * 201),
    ],
)
def test_bad_setting_input_is_refused_and_changes_nothing(client, data):
    before = ChannelSetting.objects.get(channel="sms")
    response = client.post(reverse("governance:channel", args=["sms"]), data)
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()
    after = ChannelSetting.objects.get(channel="sms")
    assert (after.state, after.urgencies, after.kinds) == (
        before.state,
        before.urgencies,
        before.kinds,
    )
    assert not AuditEntry.objects.filter(verb="channel.changed").exists()


def test_a_retired_channel_stays_retired(client):
    url = reverse("governance:channel", args=["voice"])
    assert client.post(url, _setting_data(state="retired")).status_code == 302
    response = client.post(url, _setting_data(state="enabled"))
    assert response.status_code == 400
    assert ChannelSetting.objects.get(channel="voice").state == "retired"


def test_an_unknown_channel_is_not_found(client):
    assert client.get(reverse("governance:channel", args=["pigeon"])).status_code == 404
    response = client.post(reverse("governance:channel", args=["pigeon"]), _setting_data())
    assert response.status_code == 404


def test_a_manager_adds_a_ceiling_step_and_removes_it_before_it_starts(client):
    url = reverse("governance:ceiling_add", args=["sms"])
    response = client.post(
        url, _ceiling(starts_on=_tomorrow().isoformat(), max_recipients="2500", note="Proef")
    )
    assert response.status_code == 302
    step = CeilingStep.objects.get(channel="sms")
    assert (step.max_recipients, step.amber_exempt) == (2500, False)
    assert AuditEntry.objects.filter(verb="ceiling.added").exists()

    response = client.post(reverse("governance:ceiling_remove", args=[step.pk]))
    assert response.status_code == 302
    assert not CeilingStep.objects.exists()
    assert AuditEntry.objects.filter(verb="ceiling.removed").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"starts_on": "2020-01-01", "max_recipients": "10"},  # the past
        {"starts_on": "gisteren", "max_recipients": "10"},
        {"starts_on": "TOMORROW", "max_recipients": "-1"},
        {"starts_on": "TOMORROW", "max_recipients": "veel"},
    ],
)
def test_bad_ceiling_input_is_refused_and_changes_nothing(client, data):
    data = {k: v.replace("TOMORROW", _tomorrow().isoformat()) for k, v in data.items()}
    response = client.post(reverse("governance:ceiling_add", args=["sms"]), _ceiling(**data))
    assert response.status_code == 400
    assert not CeilingStep.objects.exists()


def test_two_steps_on_one_day_are_refused(client):
    url = reverse("governance:ceiling_add", args=["sms"])
    data = _ceiling(starts_on=_tomorrow().isoformat(), max_recipients="100")
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 400
    assert CeilingStep.objects.count() == 1


def test_a_step_in_force_or_past_stays_in_the_schedule(client, phase_out_2023):
    step = phase_out_2023[0]
    response = client.post(reverse("governance:ceiling_remove", args=[step.pk]), follow=True)
    assert CeilingStep.objects.filter(pk=step.pk).exists()
    assert "blijft in het schema" in response.content.decode()


def test_only_a_nationwide_manager_may_set_channels(
    staff_client, make_staff_user, org_woerden, operator_mn, national_operator, woerden_author
):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    for user in (operator_mn, national_operator, woerden_author, local_manager):
        client = staff_client(user)
        assert client.get(reverse("governance:channels")).status_code == 403
        response = client.post(
            reverse("governance:channel", args=["sms"]), _setting_data(state="paused")
        )
        assert response.status_code == 403
        response = client.post(
            reverse("governance:ceiling_add", args=["sms"]),
            _ceiling(starts_on=_tomorrow().isoformat(), max_recipients="1"),
        )
        assert response.status_code == 403
    assert ChannelSetting.objects.get(channel="sms").state == "enabled"
    assert not CeilingStep.objects.exists()


def test_a_test_sms_and_call_go_to_the_manager_s_own_number(client, manager, settings):
    settings.SMS_BACKEND = "locmem"
    settings.VOICE_BACKEND = "locmem"
    sms.outbox.clear()
    voice.outbox.clear()
    manager.phone = "06 12345678"
    manager.save(update_fields=["phone"])
    assert client.post(reverse("governance:channel_test", args=["sms"])).status_code == 302
    assert client.post(reverse("governance:channel_test", args=["voice"])).status_code == 302
    assert [m.to for m in sms.outbox] == ["+31612345678"]
    assert [c.to for c in voice.outbox] == ["+31612345678"]
    assert "testbericht" in sms.outbox[0].text
    entries = AuditEntry.objects.filter(verb="channel.tested")
    assert sorted(e.detail["channel"] for e in entries) == ["sms", "voice"]
    assert all("3161" not in str(e.detail) for e in entries)  # no number in the trail


def test_a_test_sms_without_an_own_number_says_what_to_do(client, settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    response = client.post(reverse("governance:channel_test", args=["sms"]))
    assert response.status_code == 400
    assert "eigen mobiele nummer" in response.content.decode()
    assert sms.outbox == []


def test_a_test_e_mail_goes_to_the_manager_s_own_address(client, manager, mailoutbox):
    manager.email = "beheer@burgernet.example"
    manager.save(update_fields=["email"])
    assert client.post(reverse("governance:channel_test", args=["email"])).status_code == 302
    assert [m.to for m in mailoutbox] == [["beheer@burgernet.example"]]


def test_a_gateway_refusal_is_shown_and_audited(client, manager, settings, monkeypatch):
    from apps.channels.senders import sms as sms_sender
    from apps.channels.senders.base import SendError

    def refuse(to, text):
        raise SendError("HTTP 500", transient=True)

    monkeypatch.setattr(sms_sender, "send_sms", refuse)
    manager.phone = "+31612345678"
    manager.save(update_fields=["phone"])
    response = client.post(reverse("governance:channel_test", args=["sms"]))
    assert response.status_code == 400
    assert "HTTP 500" in response.content.decode()
    assert AuditEntry.objects.filter(verb="channel.test_failed").exists()


def test_a_staff_phone_must_be_a_phone_number(manager):
    from django.core.exceptions import ValidationError

    manager.phone = "bel me maar"
    with pytest.raises(ValidationError):
        manager.full_clean()


def test_today_is_the_dutch_day(db):
    # A step starting tomorrow (Dutch time) is not in force today.
    CeilingStep.objects.create(channel="sms", starts_on=_tomorrow(), max_recipients=5)
    from apps.channels import plan

    assert plan.plan_for(kind="other", urgent=True, at=timezone.now()).ceiling("sms") is None


def test_a_public_channel_has_no_ceiling(client):
    response = client.post(
        reverse("governance:ceiling_add", args=["display"]),
        _ceiling(starts_on=_tomorrow().isoformat(), max_recipients="10"),
    )
    assert response.status_code == 400
    assert not CeilingStep.objects.exists()
    page = client.get(reverse("governance:channel", args=["display"])).content.decode()
    assert 'id="ceiling-form"' not in page


def test_displays_carry_only_missing_persons_by_default(db):
    from apps.channels import plan

    assert plan.publishes("display", kind="missing_child", urgent=True)
    assert not plan.publishes("display", kind="robbery", urgent=True)
    assert plan.publishes("feed", kind="robbery", urgent=True)
    assert sorted(plan.published_kinds("display")) == [
        "amber_alert",
        "missing_child",
        "missing_person",
    ]
    ChannelSetting.objects.filter(channel="display").update(state="paused")
    assert plan.published_kinds("display") == []
    assert not plan.publishes("display", kind="missing_child", urgent=True)
