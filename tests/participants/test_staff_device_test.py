"""A manager tests the web-push channel on their own device: the channel screen names the
device by its push endpoint, and the test goes through the outbox like any alert."""

import pytest
from django.urls import reverse

from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import AuditEntry
from apps.governance.roles import Role
from apps.participants.models import Device

URL = reverse("participants:staff_device_test")
ENDPOINT = "https://push.example.org/send/eigen-telefoon"


@pytest.fixture
def own_device(db):
    return Device.objects.create(endpoint=ENDPOINT, p256dh="key", auth="auth")


def test_a_manager_s_own_device_gets_a_test_push_through_the_outbox(
    staff_client, manager, own_device
):
    response = staff_client(manager).post(URL, {"endpoint": ENDPOINT})
    assert response.status_code == 302
    assert response.url == reverse("governance:channel", args=["webpush"])
    delivery = Delivery.objects.get()
    assert delivery.device == own_device and delivery.channel == "webpush"
    entry = AuditEntry.objects.get(verb="channel.tested")
    assert entry.actor == manager and entry.detail == {"channel": "webpush"}
    assert "push.example.org" not in str(entry.detail)


@pytest.mark.parametrize(
    "endpoint", ["", "https://push.example.org/send/iemand-anders", "x" * 2000]
)
def test_without_the_app_on_this_device_nothing_is_sent(
    staff_client, manager, own_device, endpoint
):
    response = staff_client(manager).post(URL, {"endpoint": endpoint}, follow=True)
    assert "meldingen van de web-app niet aan" in response.content.decode()
    assert not OutgoingMessage.objects.exists()
    assert not AuditEntry.objects.filter(verb="channel.tested").exists()


def test_only_a_nationwide_manager_may_send_it(
    staff_client, make_staff_user, org_woerden, operator_mn, own_device
):
    local_manager = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    for user in (operator_mn, local_manager):
        assert staff_client(user).post(URL, {"endpoint": ENDPOINT}).status_code == 403
    assert not OutgoingMessage.objects.exists()


def test_it_answers_only_a_post(staff_client, manager):
    assert staff_client(manager).get(URL).status_code == 405


def test_the_channel_screen_offers_the_test_on_this_device(staff_client, manager):
    page = staff_client(manager).get(reverse("governance:channel", args=["webpush"]))
    body = page.content.decode()
    assert 'id="push-test-form"' in body and f'action="{URL}"' in body
    assert "governance/channel-test.js" in body
