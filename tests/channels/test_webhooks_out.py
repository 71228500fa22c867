"""Signed webhooks to partners: what a release, update, end and cancel post, the signature,
retries, refusals (SSRF), the filters, and the managers' admin with its test button,
against a partner's bridge on 127.0.0.1 (allowed as the tests' local services are)."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.actions import services
from apps.channels.models import Channel, ChannelSetting, Delivery, WebhookSubscription
from apps.channels.senders import webhook
from apps.governance.models import AuditEntry
from tests.actions.conftest import AMSTERDAM, action_fields

State = Delivery.State


class Partner:
    """A partner's bridge: answers each POST with the next of `answers` (status, headers),
    the last one for good, and records what came."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = [(204, {})]
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                partner.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length),
                    }
                )
                status, headers = (
                    partner.answers.pop(0) if len(partner.answers) > 1 else partner.answers[0]
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def partner(settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True  # the local bridge, as for push
    bridge = Partner()
    yield bridge
    bridge.close()


@pytest.fixture
def subscribe(partner):
    def make(name="partner", **fields):
        fields.setdefault("url", partner.url)
        return WebhookSubscription.objects.create(name=name, **fields)

    return make


def _release(by, **fields):
    action = services.action_create(by=by, **action_fields(**fields))
    sent = services.action_release(action=action, by=by)
    action.refresh_from_db()
    return action, sent.message


def _rows(message):
    return list(Delivery.objects.filter(message=message, channel=Channel.WEBHOOK))


def _due_now(message):
    Delivery.objects.filter(message=message, state=State.QUEUED).update(next_attempt_at=None)


# What is posted ----------------------------------------------------------------------------


def test_it_posts_each_message_signed_with_the_secret_over_timestamp_and_body(
    operator_mn, subscribe, partner, send_all
):
    subscription = subscribe()
    action, message = _release(operator_mn)

    assert send_all(message)["sent"] == 1

    [request] = partner.requests
    headers, body = request["headers"], request["body"]
    [row] = _rows(message)
    assert headers["X-Burgernet-Delivery"] == str(row.pk)
    timestamp = headers["X-Burgernet-Timestamp"]
    expected = hmac.new(
        subscription.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["X-Burgernet-Signature"], f"sha256={expected}")
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    payload = json.loads(body)
    assert payload["delivery"] == row.pk
    assert payload["message"]["action"] == str(action.ref)
    assert payload["message"]["what"] == "release"
    assert payload["message"]["kind"] == "missing_person"
    assert payload["message"]["title"] == message.title
    assert payload["message"]["exercise"] is False
    row.refresh_from_db()
    assert (row.state, row.provider_id, row.subscription_id) == (
        State.SENT,
        "http-204",
        subscription.pk,
    )


def test_a_signature_with_another_secret_does_not_verify(operator_mn, subscribe, partner, send_all):
    subscribe()
    _, message = _release(operator_mn)
    send_all(message)

    [request] = partner.requests
    forged = webhook.sign(
        "another-secret", request["headers"]["X-Burgernet-Timestamp"], request["body"]
    )
    assert forged != request["headers"]["X-Burgernet-Signature"]


def test_update_end_and_cancel_messages_reach_the_partner_too(
    operator_mn, subscribe, partner, send_all
):
    subscribe()
    action, release = _release(operator_mn)
    send_all(release)
    update = services.action_update(action=action, by=operator_mn, text="Hij draagt een pet.")
    send_all(update.message)
    end = services.action_end(
        action=action,
        by=operator_mn,
        result="found_safe",
        text="Gevonden.",
        information_contributed=False,
    )
    send_all(end.message)

    assert [json.loads(r["body"])["message"]["what"] for r in partner.requests] == [
        "release",
        "update",
        "end",
    ]

    other, _ = _release(operator_mn)
    cancel = services.action_cancel(action=other, by=operator_mn, text="Vergissing.")
    assert len(_rows(cancel.message)) == 1


# Retries and failures ------------------------------------------------------------------


def test_a_500_is_tried_again_later_and_delivered_once(operator_mn, subscribe, partner, send_all):
    subscribe()
    partner.answers = [(500, {}), (200, {})]
    _, message = _release(operator_mn)

    assert send_all(message) == {"retry": 1}
    [row] = _rows(message)
    assert row.state == State.QUEUED and row.attempts == 1
    assert row.error.startswith("HTTP 500")
    assert row.next_attempt_at > timezone.now()

    _due_now(message)
    assert send_all(message) == {"sent": 1}
    assert send_all(message) == {}

    assert len(partner.requests) == 2
    ids = {r["headers"]["X-Burgernet-Delivery"] for r in partner.requests}
    assert ids == {str(row.pk)}
    row.refresh_from_db()
    assert (row.state, row.provider_id, row.error) == (State.SENT, "http-200", "")


def test_a_429_waits_as_long_as_retry_after_asks(operator_mn, subscribe, partner, send_all):
    subscribe()
    partner.answers = [(429, {"Retry-After": "120"})]
    _, message = _release(operator_mn)
    before = timezone.now()

    assert send_all(message) == {"retry": 1}

    [row] = _rows(message)
    assert before + timedelta(seconds=119) < row.next_attempt_at
    assert row.next_attempt_at < before + timedelta(seconds=140)
    assert row.error.startswith("HTTP 429")


def test_a_404_fails_for_good(operator_mn, subscribe, partner, send_all):
    subscribe()
    partner.answers = [(404, {})]
    _, message = _release(operator_mn)

    assert send_all(message) == {"failed": 1}

    [row] = _rows(message)
    assert row.state == State.FAILED and row.error.startswith("HTTP 404")
    assert len(partner.requests) == 1


def test_a_redirect_is_not_followed(operator_mn, subscribe, partner, send_all):
    subscribe()
    partner.answers = [(307, {"Location": f"http://127.0.0.1:{partner.port}/elsewhere"})]
    _, message = _release(operator_mn)

    assert send_all(message) == {"failed": 1}

    assert [r["path"] for r in partner.requests] == ["/hook"]
    [row] = _rows(message)
    assert "redirect not followed" in row.error


def test_a_timeout_is_tried_again(operator_mn, subscribe, send_all, settings):
    import socket

    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        subscribe(url=f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        _, message = _release(operator_mn)
        webhook_timeout = webhook.TIMEOUT_S
        webhook.TIMEOUT_S = 0.3
        try:
            assert send_all(message) == {"retry": 1}
        finally:
            webhook.TIMEOUT_S = webhook_timeout
        [row] = _rows(message)
        assert "timed out" in row.error
    finally:
        silent.close()


# Where it may go (SSRF) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/burgernet",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://localhost/hook",
        "https://10.1.2.3/hook",  # private
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://intranet/hook",  # single label
        "https://hooks.corp/hook",
        "https://user:secret@hooks.example.com/hook",  # credentials in the URL
        "ftp://hooks.example.com/hook",
        "not a url",
    ],
)
def test_it_refuses_to_save_a_url_outside_the_public_internet(url, settings, db):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    subscription = WebhookSubscription(name="x", url=url)

    with pytest.raises(ValidationError) as refused:
        subscription.full_clean()

    assert "url" in refused.value.message_dict


def test_it_saves_a_public_https_url(settings, db):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    settings.WEBPUSH_ALLOWED_HOSTS = ["fcm.googleapis.com"]  # names push services only
    WebhookSubscription(name="x", url="https://hooks.example.com/burgernet?k=1").full_clean()


def test_it_refuses_loopback_at_sending_once_insecure_endpoints_are_off(
    operator_mn, subscribe, partner, send_all, settings
):
    subscribe()  # saved while the local bridge was allowed
    _, message = _release(operator_mn)
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False

    assert send_all(message) == {"failed": 1}

    assert partner.requests == []
    [row] = _rows(message)
    assert row.error == "webhook refused: not https"


def test_it_refuses_a_public_name_that_resolves_into_our_network(
    operator_mn, subscribe, partner, send_all, settings, monkeypatch
):
    real = webhook.socket.getaddrinfo

    def resolve(name, port, *args, **kwargs):
        if name == "rebound.example.net":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(name, port, *args, **kwargs)

    monkeypatch.setattr(webhook.socket, "getaddrinfo", resolve)
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    subscribe(url=f"https://rebound.example.net:{partner.port}/hook")
    _, message = _release(operator_mn)

    assert send_all(message) == {"failed": 1}

    assert partner.requests == []
    [row] = _rows(message)
    assert row.error == "webhook address not public"


# Which actions go where ------------------------------------------------------------------


def test_the_filters_choose_the_subscriptions(operator_mn, operator_ams, subscribe, partner):
    subscribe("all")
    subscribe("unit mn", units=["midden-nederland"])
    subscribe("unit ams", units=["amsterdam"])
    subscribe("province utrecht", provinces=["utrecht"])
    subscribe("province noord-holland", provinces=["noord-holland"])
    subscribe("missing persons", kinds=["missing_person", "missing_child"])
    subscribe("robberies", kinds=["robbery"])
    subscribe("time-critical", urgencies=["high"])
    subscribe("not time-critical", urgencies=["normal"])
    subscribe("inactive", is_active=False)

    def names(message):
        return {
            WebhookSubscription.objects.get(pk=row.subscription_id).name for row in _rows(message)
        }

    _, missing_in_utrecht = _release(operator_mn, is_time_critical=False)
    assert names(missing_in_utrecht) == {
        "all",
        "unit mn",
        "province utrecht",
        "missing persons",
        "not time-critical",
    }

    _, robbery_in_amsterdam = _release(
        operator_ams,
        kind="robbery",
        title="Overval",
        lat=AMSTERDAM[0],
        lon=AMSTERDAM[1],
        is_time_critical=True,
    )
    assert names(robbery_in_amsterdam) == {
        "all",
        "unit ams",
        "province noord-holland",
        "robberies",
        "time-critical",
    }


def test_a_paused_webhook_channel_sends_nothing(operator_mn, subscribe):
    subscribe()
    ChannelSetting.objects.update_or_create(
        channel=Channel.WEBHOOK,
        defaults={"state": ChannelSetting.State.PAUSED, "urgencies": ["high", "normal"]},
    )

    _, message = _release(operator_mn)

    assert _rows(message) == []


def test_an_exercise_never_goes_to_partners(operator_mn, subscribe):
    subscribe()

    _, message = _release(operator_mn, is_exercise=True)

    assert _rows(message) == []


def test_a_deactivated_subscription_gets_nothing_more(operator_mn, subscribe, partner, send_all):
    subscription = subscribe()
    _, message = _release(operator_mn)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)

    assert send_all(message) == {"failed": 1}

    assert partner.requests == []
    assert _rows(message)[0].error == "subscription inactive"


# The managers' admin -----------------------------------------------------------------------


def _form(partner, **overrides):
    data = {
        "name": "Social bridge",
        "url": partner.url,
        "is_active": "on",
        "units": ["utrecht"],
        "format": "json",
    }
    data.update(overrides)
    return data


def test_a_manager_adds_a_subscription_and_sees_its_secret_once(staff_client, manager, partner):
    client = staff_client(manager)

    response = client.post(
        reverse("admin:channels_webhooksubscription_add"),
        _form(partner, units=["midden-nederland"]),
        follow=True,
    )

    subscription = WebhookSubscription.objects.get()
    assert subscription.units == ["midden-nederland"]
    assert subscription.secret in response.content.decode()
    change = client.get(
        reverse("admin:channels_webhooksubscription_change", args=[subscription.pk])
    )
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()
    entry = AuditEntry.objects.get(verb="webhooksubscription.added")
    assert entry.actor == manager
    assert subscription.secret not in json.dumps(entry.detail) + entry.target_repr
    assert partner.url not in json.dumps(entry.detail) + entry.target_repr


def test_the_admin_refuses_a_private_url_and_saves_nothing(
    staff_client, manager, settings, partner
):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    client = staff_client(manager)

    response = client.post(
        reverse("admin:channels_webhooksubscription_add"),
        _form(partner, url="https://169.254.169.254/latest/meta-data"),
    )

    assert response.status_code == 200  # the form again, with the error
    assert "not a public address" in response.content.decode()
    assert not WebhookSubscription.objects.exists()
    assert not AuditEntry.objects.filter(verb__startswith="webhooksubscription").exists()


def test_the_test_button_posts_a_signed_test_and_shows_the_answer(
    staff_client, manager, subscribe, partner
):
    subscription = subscribe()
    partner.answers = [(202, {})]

    response = staff_client(manager).post(
        reverse("admin:channels_webhooksubscription_changelist"),
        {"action": "send_test", "_selected_action": [subscription.pk]},
        follow=True,
    )

    [request] = partner.requests
    body, headers = request["body"], request["headers"]
    assert json.loads(body)["test"] is True
    assert headers["X-Burgernet-Signature"] == webhook.sign(
        subscription.secret, headers["X-Burgernet-Timestamp"], body
    )
    assert "http-202" in response.content.decode()
    entry = AuditEntry.objects.get(verb="webhooksubscription.tested")
    assert entry.detail == {"outcome": "sent", "answer": "http-202"}
    assert Delivery.objects.count() == 0  # not through the outbox


@pytest.mark.parametrize("who", ["operator", "local manager"])
def test_others_cannot_see_or_change_subscriptions(
    staff_client, who, operator_mn, make_staff_user, org_woerden, subscribe, partner
):
    from apps.governance.roles import Role

    user = (
        operator_mn
        if who == "operator"
        else make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])
    )
    subscription = subscribe()
    client = staff_client(user)

    for url in (
        reverse("admin:channels_webhooksubscription_changelist"),
        reverse("admin:channels_webhooksubscription_add"),
        reverse("admin:channels_webhooksubscription_change", args=[subscription.pk]),
    ):
        assert client.get(url).status_code in (302, 403)
    response = client.post(
        reverse("admin:channels_webhooksubscription_changelist"),
        {"action": "send_test", "_selected_action": [subscription.pk]},
    )
    assert response.status_code in (302, 403)
    assert partner.requests == []
    assert subscription.secret not in client.get(reverse("admin:index")).content.decode()


def test_a_partner_that_asked_for_cap_gets_each_message_as_a_valid_cap_alert(
    operator_mn, subscribe, partner, send_all
):
    """The same signed POST, with the message's CAP 1.2 alert as the body."""
    from apps.actions.cap_read import read_alert

    subscription = subscribe(format=WebhookSubscription.Format.CAP)
    action, message = _release(operator_mn)
    assert send_all(message)["sent"] == 1

    [request] = partner.requests
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/cap+xml"
    expected = hmac.new(
        subscription.secret.encode(),
        headers["X-Burgernet-Timestamp"].encode() + b"." + body,
        hashlib.sha256,
    ).hexdigest()
    assert headers["X-Burgernet-Signature"] == f"sha256={expected}"
    alert = read_alert(body)  # valid against the schema, read by our own reader
    assert alert.msg_type == "Alert" and alert.status == "Actual"
    assert alert.infos[0].web == action.page_url()
