"""A stand-in SMS gateway: a real HTTP server on 127.0.0.1 that records what it gets."""

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.channels.senders import sms
from tests.fakes import VAPID_PRIVATE, VAPID_PUBLIC


class FakeGateway:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.body: dict = {"id": "gw-1"}
        self.delay_s = 0.0
        self.location = ""  # a Location header to answer with (a redirect)
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(self.rfile.read(length) or b"null"),
                    }
                )
                if gateway.delay_s:
                    time.sleep(gateway.delay_s)
                payload = json.dumps(gateway.body).encode()
                try:
                    self.send_response(gateway.status)
                    self.send_header("Content-Type", "application/json")
                    if gateway.location:
                        self.send_header("Location", gateway.location)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        return Handler

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    fake = FakeGateway()
    settings.SMS_BACKEND = "http"
    settings.SMS_GATEWAY_URL = fake.url
    settings.SMS_GATEWAY_TOKEN = "test-token"
    settings.SMS_SENDER_ID = "Burgernet"
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


# Web push: the local push service (signed with tests/conftest.py's vapid_keys), devices
# that are real subscriptions ---------------------------------------------------------------


@pytest.fixture
def push(vapid_keys, settings):
    """The local push service, started for the test."""
    from apps.bench.pushendpoint import PushEndpoint

    settings.WEBPUSH_TIMEOUT = 2.0
    with PushEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def make_device(push):
    """make_device("a1") → (Device, Subscriber): a device subscribed at the local push
    service with keys made like a browser makes them."""
    from apps.bench.pushendpoint import make_subscriber
    from apps.participants.models import Device

    def make(push_id: str, **fields):
        subscriber = make_subscriber(push.url_for(push_id))
        device = Device.objects.create(
            endpoint=subscriber.endpoint, p256dh=subscriber.p256dh, auth=subscriber.auth, **fields
        )
        return device, subscriber

    return make


@pytest.fixture
def make_message(db):
    from apps.channels.models import OutgoingMessage

    def make(**fields):
        fields.setdefault("source", "tests.channels:1:release")
        fields.setdefault("title", "Vermist: meisje (8)")
        fields.setdefault("body", "Lang blond haar, roze jas. Gezien bij het station.")
        fields.setdefault("url", "/app/acties/1/")
        fields.setdefault("topic", "actie-1")
        return OutgoingMessage.objects.create(**fields)

    return make


@pytest.fixture
def make_participant(db):
    from django.utils import timezone

    from apps.participants.models import Participant

    def make(phone: str, *, confirmed: bool = True, **fields):
        return Participant.objects.create(
            phone=phone, phone_confirmed_at=timezone.now() if confirmed else None, **fields
        )

    return make


@pytest.fixture(autouse=True)
def _fresh_push_gates():
    """Each test starts without pauses learnt from another test's push service."""
    from apps.channels.senders.webpush import forget_gates

    forget_gates()
    yield
    forget_gates()


@pytest.fixture
def send_all():
    """send_all(message) claims and sends chunks of `message` until none is due, like the
    chunk tasks would; returns the summed counts."""
    from collections import Counter

    from apps.channels import outbox

    def run(message, *, chunk_size: int = 500) -> Counter:
        totals: Counter = Counter()
        while deliveries := outbox.claim_chunk(message_id=message.pk, limit=chunk_size):
            totals.update(outbox.send_chunk(deliveries))
        return totals

    return run


def database_url() -> str:
    """The test database as a DATABASE_URL, for worker processes started by a test."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        return f"postgres://{auth}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker process a test starts: this test database, the test VAPID
    pair, the local push service allowed, and `extra`."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "burgernet.settings",
        "DATABASE_URL": database_url(),
        "VAPID_PRIVATE_KEY": VAPID_PRIVATE,
        "VAPID_PUBLIC_KEY": VAPID_PUBLIC,
        "WEBPUSH_ALLOW_INSECURE_ENDPOINTS": "true",
        **extra,
    }
