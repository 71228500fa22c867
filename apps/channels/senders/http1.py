"""A small HTTP/1.1 client for pushing: keep-alive connections per push service, never
blocking, driven by a selector loop that the web-push sender runs in the worker's own
thread.

Why not aiohttp: a push is one small POST whose answer is a status and a Location. Per
push aiohttp spent ~110 µs of CPU on its request and response objects, timers and the
asyncio TLS layer; this client ~27 µs (the same TLS push service, 50 in flight, measured
in one process). At a few thousand pushes per second per worker that is a third of the
worker's CPU. What it does not do, on purpose: redirects (a redirect is a failed
delivery), cookies, compression, proxies, HTTP/2.

Each Connection is a small state machine — connecting, TLS handshake, sending, waiting
for the answer, idle — over a non-blocking socket; `on_event()` moves it on when the
selector says its socket is ready and returns the Answer once it is complete. The Pool
keeps idle connections per origin, resolves host names (cached), and opens new
connections; the caller owns the loop (see webpush.PushClient.run).
"""

import contextlib
import errno
import os
import selectors
import socket
import ssl
import time
from dataclasses import dataclass

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
# An idle connection is not reused after this long: push services close idle connections
# after some seconds, and a request sent into a closing connection has to be sent again.
KEEPALIVE_S = 15.0
DNS_TTL_S = 300.0
MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The push service answered something that is not HTTP/1.1."""


class AddressRefused(OSError):
    """The host resolves only to addresses the pool may not connect to (see Pool)."""


class ConnectionClosed(ConnectionError):
    """The connection ended before a whole answer came. `early` when not a byte of the
    answer had come on a connection that had served before (closed or reset): the service
    had closed it while idle, so the request most likely never reached it and is sent
    again at once on a new connection."""

    def __init__(self, *, early: bool):
        super().__init__("connection closed by the push service")
        self.early = early


@dataclass(slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    keep_alive: bool


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str  # "https" or "http"
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class ResponseReader:
    """Reads one answer from bytes as they come (the body is read and dropped: a push
    service's answer carries what matters in its status and headers)."""

    __slots__ = ("_buffer", "_answer", "_body_left", "_chunked", "_until_close", "started")

    def __init__(self):
        self._buffer = b""
        self._answer: Answer | None = None
        self._body_left = 0
        self._chunked = False
        self._until_close = False
        self.started = False  # a byte of the answer has come

    def feed(self, data: bytes) -> Answer | None:
        self.started = True
        self._buffer += data
        while self._answer is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError("answer head too long")
                return None
            head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
            answer = self._head(head)
            if 100 <= answer.status < 200:
                continue  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self._answer = answer
        return self._body()

    def eof(self) -> Answer | None:
        """The connection ended: the answer, if its body ran until the end."""
        if self._answer is not None and self._until_close:
            return self._answer
        return None

    def _head(self, head: bytes) -> Answer:
        lines = head.split(b"\r\n")
        status_line = lines[0]
        if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
            raise ProtocolError("not an HTTP/1.x answer")
        try:
            status = int(status_line[9:12])
        except ValueError:
            raise ProtocolError("no status code") from None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                raise ProtocolError("malformed header line")
            key = name.strip().lower().decode("latin-1")
            text = value.strip().decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        connection = headers.get("connection", "").lower()
        keep_alive = status_line[7:8] == b"1" and "close" not in connection
        if status in (204, 304) or 100 <= status < 200:
            self._body_left = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._chunked = True
            self._body_left = -1  # the next chunk's size line comes first
        elif "content-length" in headers:
            try:
                self._body_left = int(headers["content-length"])
            except ValueError:
                raise ProtocolError("bad Content-Length") from None
            if self._body_left < 0:
                raise ProtocolError("bad Content-Length")
        else:
            self._until_close = True
            keep_alive = False
        return Answer(status, headers, keep_alive)

    def _body(self) -> Answer | None:
        answer = self._answer
        if self._until_close:
            self._buffer = b""
            return None
        if not self._chunked:
            take = min(self._body_left, len(self._buffer))
            self._body_left -= take
            self._buffer = self._buffer[take:]
            if self._body_left:
                return None
            if self._buffer:  # more than the answer: nothing to do with it but close
                answer.keep_alive = False
            return answer
        while True:
            if self._body_left > 0:  # inside a chunk, then its CRLF
                take = min(self._body_left, len(self._buffer))
                self._body_left -= take
                self._buffer = self._buffer[take:]
                if self._body_left:
                    return None
                self._body_left = -2
            if self._body_left == -2:
                if len(self._buffer) < 2:
                    return None
                if self._buffer[:2] != b"\r\n":
                    raise ProtocolError("bad chunk end")
                self._buffer = self._buffer[2:]
                self._body_left = -1
            if self._body_left == -1:  # a chunk-size line
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > 1024:
                        raise ProtocolError("chunk size line too long")
                    return None
                size_text = self._buffer[:end].split(b";", 1)[0].strip()
                self._buffer = self._buffer[end + 2 :]
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ProtocolError("bad chunk size") from None
                if size < 0:
                    raise ProtocolError("bad chunk size")
                self._body_left = size if size else -3
            if self._body_left == -3:  # trailers, up to an empty line
                end = self._buffer.find(b"\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD_BYTES:
                        raise ProtocolError("trailers too long")
                    return None
                line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                if not line:
                    if self._buffer:
                        answer.keep_alive = False
                    return answer


class Connection:
    """One keep-alive connection to one origin, never blocking."""

    CONNECTING, HANDSHAKE, SENDING, WAITING, IDLE, CLOSED = range(6)

    __slots__ = (
        "origin",
        "sock",
        "fd",
        "state",
        "events",
        "out",
        "reader",
        "served",
        "last_used",
        "deadline",
        "_selector",
        "_tls",
    )

    def __init__(self, origin: Origin, sock: socket.socket, selector, tls: ssl.SSLContext | None):
        self.origin = origin
        self.sock = sock
        self.fd = sock.fileno()
        self.state = self.CONNECTING
        self.events = WRITE
        self.out = b""
        self.reader: ResponseReader | None = None
        self.served = 0  # answers this connection has carried
        self.last_used = time.monotonic()
        self.deadline = float("inf")
        self._selector = selector
        self._tls = tls
        selector.register(self.fd, WRITE, self)

    def send(self, request: bytes, *, deadline: float) -> None:
        """Start sending `request`; the answer comes from a later on_event()."""
        self.out = request
        self.reader = ResponseReader()
        self.deadline = deadline
        if self.state == self.IDLE:
            self.state = self.SENDING
            self._write()

    def on_event(self, mask: int) -> Answer | None:
        """Move on as far as the socket allows; the answer once it is complete. Raises
        OSError (ssl.SSLError included), ConnectionClosed or ProtocolError when the
        connection is broken: then it is of no more use."""
        if self.state == self.CLOSED:
            return None
        if self.state == self.CONNECTING:
            error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error))
            if self._tls is not None:
                self.sock = self._tls.wrap_socket(
                    self.sock, server_hostname=self.origin.host, do_handshake_on_connect=False
                )
                self.state = self.HANDSHAKE
            else:
                self.state = self.SENDING if self.reader else self.IDLE
        if self.state == self.HANDSHAKE:
            try:
                self.sock.do_handshake()
            except ssl.SSLWantReadError:
                return self._want(READ)
            except ssl.SSLWantWriteError:
                return self._want(WRITE)
            self.state = self.SENDING if self.reader else self.IDLE
        if self.state == self.SENDING and not self._write():
            return None
        if self.state == self.WAITING:
            return self._read()
        if self.state == self.IDLE:
            self._want(READ)
            if mask & READ:  # an idle connection has nothing to say but goodbye
                self._read_idle()
        return None

    def close(self) -> None:
        if self.state == self.CLOSED:
            return
        self.state = self.CLOSED
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(self.fd)
        with contextlib.suppress(OSError):
            self.sock.close()

    def _want(self, events: int) -> None:
        if events != self.events:
            self.events = events
            self._selector.modify(self.fd, events, self)

    def _write(self) -> bool:
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except (ssl.SSLWantWriteError, BlockingIOError):
                self._want(WRITE)
                return False
            except ssl.SSLWantReadError:
                self._want(READ)
                return False
            except (BrokenPipeError, ConnectionResetError):
                if not self.served:
                    raise
                raise ConnectionClosed(early=True) from None
            self.out = self.out[sent:]
        self.state = self.WAITING
        self._want(READ)
        return True

    def _read(self) -> Answer | None:
        reader = self.reader
        while True:
            try:
                data = self.sock.recv(RECV_BYTES)
            except (ssl.SSLWantReadError, BlockingIOError):
                return None
            except ssl.SSLWantWriteError:
                self._want(WRITE)
                return None
            except ssl.SSLZeroReturnError:
                data = b""
            except ConnectionResetError:
                if reader.started or not self.served:
                    raise
                raise ConnectionClosed(early=True) from None
            if not data:
                answer = reader.eof()
                if answer is not None:
                    return self._answered(answer)
                raise ConnectionClosed(early=not reader.started and self.served > 0)
            answer = reader.feed(data)
            if answer is not None:
                return self._answered(answer)

    def _answered(self, answer: Answer) -> Answer:
        self.served += 1
        self.reader = None
        self.deadline = float("inf")
        self.last_used = time.monotonic()
        self.state = self.IDLE if answer.keep_alive else self.CLOSED
        return answer

    def _read_idle(self) -> None:
        try:
            data = self.sock.recv(RECV_BYTES)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # TLS housekeeping (a session ticket), nothing for us
        except ssl.SSLZeroReturnError:
            data = b""
        if not data:
            raise ConnectionClosed(early=False)
        raise ProtocolError("the push service spoke while idle")


class Pool:
    """Idle connections per origin, name resolution, new connections.

    `address_allowed(ip_text)` is asked of each address a host resolves to, when a new
    connection is opened (not for every request: a connection is opened once per origin
    and kept): the first allowed one is connected to, and a host with none raises
    AddressRefused. So a name that resolves to an address it may not reach (a push
    service's name that now points into our own network) is refused however it came to.
    """

    def __init__(
        self,
        *,
        tls: ssl.SSLContext,
        connect_timeout: float = 5.0,
        address_allowed=lambda address: True,
    ):
        self.selector = selectors.DefaultSelector()
        self.tls = tls
        self.connect_timeout = connect_timeout
        self.address_allowed = address_allowed
        self._idle: dict[Origin, list[Connection]] = {}
        self._addresses: dict[tuple[str, int], tuple[float, list]] = {}

    def connection(self, origin: Origin, *, deadline: float) -> Connection:
        """An idle connection to `origin` that is still fresh, or a new one (connecting).
        Raises OSError when the host cannot be resolved or connected to at once,
        AddressRefused when it resolves to no address that is allowed."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.state == Connection.IDLE and now - conn.last_used < KEEPALIVE_S:
                return conn
            conn.close()
        family, address = self._resolve(origin.host, origin.port)
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            error = sock.connect_ex(address)
            if error not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                raise OSError(error, os.strerror(error))
        except BaseException:
            sock.close()
            raise
        conn = Connection(origin, sock, self.selector, self.tls if origin.tls else None)
        conn.deadline = min(deadline, now + self.connect_timeout)
        return conn

    def release(self, conn: Connection) -> None:
        """Keep an answered connection for the next request to its origin."""
        if conn.state == Connection.IDLE:
            self._idle.setdefault(conn.origin, []).append(conn)
        else:
            conn.close()

    def discard(self, conn: Connection) -> None:
        conn.close()
        idle = self._idle.get(conn.origin)
        if idle and conn in idle:
            idle.remove(conn)

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        self.selector.close()

    def _resolve(self, host: str, port: int) -> tuple[int, tuple]:
        now = time.monotonic()
        cached = self._addresses.get((host, port))
        if cached is None or cached[0] < now:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            if not infos:
                raise OSError(errno.EHOSTUNREACH, f"no address for {host}")
            cached = self._addresses[(host, port)] = (now + DNS_TTL_S, infos)
        for family, _type, _proto, _name, address in cached[1]:
            if self.address_allowed(address[0]):
                return family, address
        raise AddressRefused(errno.EACCES, f"no allowed address for {host}")
