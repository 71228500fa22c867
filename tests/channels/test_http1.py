"""The web-push sender's own HTTP/1.1 client (apps/channels/senders/http1.py): answers as
push services and broken servers give them, against small servers on raw sockets."""

import socket
import ssl
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from apps.bench.fanout import _self_signed_certificate
from apps.channels import outbox
from apps.channels.models import Channel, Delivery
from apps.channels.senders.http1 import ProtocolError, ResponseReader
from apps.participants.models import Device

pytestmark = pytest.mark.django_db


# The answer reader ----------------------------------------------------------------------


def _read_bytewise(reader: ResponseReader, data: bytes):
    answers = []
    for i in range(len(data)):
        answer = reader.feed(data[i : i + 1])
        if answer is not None:
            answers.append((i, answer))
    return answers


def test_it_reads_a_chunked_answer_with_extensions_and_trailers_however_it_is_cut():
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nLocation: https://push.example/m/1\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    [(at, answer)] = _read_bytewise(ResponseReader(), data)
    assert at == len(data) - 1  # complete only with its last byte
    assert (answer.status, answer.headers["location"], answer.keep_alive) == (
        201,
        "https://push.example/m/1",
        True,
    )


def test_it_reads_a_content_length_answer_and_knows_when_the_connection_ends():
    data = b"HTTP/1.1 410 Gone\r\nContent-Length: 5\r\nConnection: close\r\n\r\ngone!"
    [(at, answer)] = _read_bytewise(ResponseReader(), data)
    assert at == len(data) - 1
    assert (answer.status, answer.keep_alive) == (410, False)


def test_an_answer_without_length_lasts_until_the_connection_closes():
    reader = ResponseReader()
    assert reader.feed(b"HTTP/1.1 500 Oops\r\n\r\nsome text") is None
    answer = reader.eof()
    assert (answer.status, answer.keep_alive) == (500, False)


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 abc Nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70_000,
    ],
)
def test_it_refuses_what_is_not_an_http_answer(data):
    with pytest.raises(ProtocolError):
        ResponseReader().feed(data)


# Through the sender, against raw servers ---------------------------------------------------


class RawServer:
    """Accepts connections on 127.0.0.1 and runs `handle(connection, server)` for each in a
    thread of its own; counts the requests it read."""

    def __init__(self, handle, *, tls: ssl.SSLContext | None = None):
        self.handle = handle
        self.tls = tls
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/push"

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.handle(conn, self)
        except OSError:
            pass
        finally:
            conn.close()

    def read_request(self, conn) -> bytes | None:
        """One whole request (head and Content-Length body), or None at the end."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head)
        return head

    def close(self):
        self._stop = True
        self._listener.close()


@contextmanager
def raw_server(handle, **kwargs):
    server = RawServer(handle, **kwargs)
    try:
        yield server
    finally:
        server.close()


def _deliveries_to(url, make_device, make_message, count):
    devices = []
    for i in range(count):
        device, _ = make_device(f"raw{i}")
        Device.objects.filter(pk=device.pk).update(endpoint=f"{url}/raw{i}")
        devices.append(device)
    message = make_message()
    outbox.enqueue(message=message, channel=Channel.WEBPUSH, device_ids=[d.pk for d in devices])
    return message


def _send(message):
    return outbox.send_chunk(outbox.claim_chunk(message_id=message.pk))


CREATED = (
    b"HTTP/1.1 201 Created\r\nLocation: https://push.example/m/%d\r\nContent-Length: 0\r\n\r\n"
)


def test_it_sends_again_at_once_what_a_connection_closed_while_idle_never_took(
    make_device, make_message, settings
):
    settings.WEBPUSH_CONCURRENCY = 1  # one connection, reused for the next push

    def answer_once_then_close(conn, server):
        server.read_request(conn)
        conn.sendall(CREATED % len(server.requests))
        time.sleep(0.2)  # the next request arrives meanwhile, unread; then the service closes

    with raw_server(answer_once_then_close) as server:
        message = _deliveries_to(server.url, make_device, make_message, 3)
        counts = _send(message)

    assert counts == {"sent": 3}
    assert len(server.requests) == 3 and server.connections >= 3
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}


def test_it_keeps_one_connection_for_many_chunked_answers(make_device, make_message, settings):
    settings.WEBPUSH_CONCURRENCY = 1

    def chunked_answers(conn, server):
        while server.read_request(conn) is not None:
            conn.sendall(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                b"Location: https://push.example/m/%d\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"2\r\nok\r\n0\r\n\r\n" % len(server.requests)
            )

    with raw_server(chunked_answers) as server:
        message = _deliveries_to(server.url, make_device, make_message, 4)
        assert _send(message) == {"sent": 4}

    assert server.connections == 1
    ids = set(Delivery.objects.values_list("provider_id", flat=True))
    assert ids == {f"https://push.example/m/{n}" for n in range(1, 5)}
    host = f"Host: 127.0.0.1:{server.port}".encode()
    assert all(host in head.split(b"\r\n") for head in server.requests)


def test_it_does_not_follow_a_redirect(make_device, make_message):
    def elsewhere(conn, server):
        server.read_request(conn)
        conn.sendall(CREATED)

    def redirect(conn, server):
        server.read_request(conn)
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: %s/x\r\nContent-Length: 0\r\n\r\n"
            % target.url.encode()
        )

    with raw_server(elsewhere) as target, raw_server(redirect) as server:
        message = _deliveries_to(server.url, make_device, make_message, 1)
        assert _send(message) == {"failed": 1}

    assert target.requests == []
    assert Delivery.objects.get().error == "push service answered 302"


@pytest.mark.parametrize(
    "answer, error",
    [
        (b"garbage\r\n\r\n", "connection error (ProtocolError)"),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nabc", "connection error"),
        (b"", "connection error"),
    ],
)
def test_a_broken_answer_is_retried_later(make_device, make_message, answer, error):
    def broken(conn, server):
        server.read_request(conn)
        conn.sendall(answer)

    with raw_server(broken) as server:
        message = _deliveries_to(server.url, make_device, make_message, 1)
        assert _send(message) == {"retry": 1}

    row = Delivery.objects.get()
    assert row.state == Delivery.State.QUEUED and row.error.startswith(error)


@pytest.fixture
def certificate(tmp_path: Path):
    cert_file, key_file = _self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    return cert_file, tls


def test_it_pushes_over_tls_to_a_service_it_trusts_and_not_to_one_it_does_not(
    make_device, make_message, settings, certificate
):
    cert_file, tls = certificate

    def answer_all(conn, server):
        while server.read_request(conn) is not None:
            conn.sendall(CREATED % len(server.requests))

    with raw_server(answer_all, tls=tls) as server:
        message = _deliveries_to(server.url, make_device, make_message, 3)
        assert _send(message) == {"retry": 3}  # the system's CAs do not know it
        assert server.requests == []
        assert Delivery.objects.filter(error__contains="SSLCertVerificationError").count() == 3

        from apps.channels.senders.webpush import forget_gates

        forget_gates()
        settings.WEBPUSH_CA_FILE = cert_file
        Delivery.objects.update(next_attempt_at=None)
        outbox.send_chunk(outbox.claim_chunk(message_id=message.pk, now=_later()))

    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    assert len(server.requests) == 3


def _later():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(minutes=5)


def test_a_service_that_never_finishes_the_handshake_times_out(
    make_device, make_message, settings, certificate
):
    settings.WEBPUSH_TIMEOUT = 0.5

    def silent(conn, server):
        time.sleep(3)

    with raw_server(silent) as server:  # a TCP listener that never speaks TLS
        url = server.url.replace("http://", "https://")
        message = _deliveries_to(url, make_device, make_message, 1)
        started = time.monotonic()
        assert _send(message) == {"retry": 1}
        assert time.monotonic() - started < 2.5

    assert Delivery.objects.get().error == "timeout"
