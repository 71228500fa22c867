"""The outbox workers: processes that claim due deliveries from the database and send them.

`manage.py outbox_worker` starts a supervisor that forks OUTBOX_PROCESSES workers and keeps
them running:

- A worker loops: claim a chunk of due rows (urgent messages first, then notices: the
  codes and links people wait for), send it, writing the answers back as they come,
  while it claims the next chunk in the background; when nothing is due it waits
  OUTBOX_POLL_SECONDS and looks again. Every few seconds it sweeps (the rows of dead
  workers, stopped and expired messages and notices). A retry is due at the moment the
  push service or the backoff named, so it is sent within a poll of that moment.
- The supervisor notices at once when a worker dies (killed, out of memory, a bug): it
  gives that worker's rows back to the queue and starts a new one. A worker that stops
  showing signs of life (stuck in a call) is killed and replaced. When the supervisor
  itself is killed, its workers finish their chunk and stop; the service manager
  (systemd, `make run`) starts the supervisor again, and the rows of anything killed
  with it come back when their lease runs out (OUTBOX_LEASE_SECONDS).

No message broker stands between a release and its sending: the rows are the queue, and
nothing a dead process held can keep the others waiting (docs/architecture.md).
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import signal
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import RawArray
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connections

from . import outbox

logger = logging.getLogger(__name__)

SWEEP_EVERY_S = 2.0
RESTART_BACKOFF_MAX_S = 30.0
SUPERVISOR_TICK_S = 0.2


def _poll_seconds() -> float:
    return settings.OUTBOX_POLL_SECONDS


def silent_seconds_allowed() -> float:
    """How long a worker may show no sign of life before its supervisor kills it: a whole
    chunk, plus the slowest answer, plus a margin."""
    return outbox.chunk_seconds() + settings.WEBPUSH_TIMEOUT + 30


class Worker:
    """One worker process's loop. `name` starts every claim token it makes; `heartbeat`
    (a shared double) is set to time.monotonic() whenever it shows a sign of life."""

    def __init__(
        self,
        *,
        name: str,
        chunk_size: int | None = None,
        poll: float | None = None,
        parent_pid: int | None = None,
        heartbeat=None,
    ):
        self.name = name
        self.chunk_size = chunk_size or outbox.DEFAULT_CHUNK_SIZE
        self.sizer = outbox.ChunkSizer(self.chunk_size)
        self.poll = _poll_seconds() if poll is None else poll
        self.parent_pid = parent_pid
        self.heartbeat = heartbeat
        self.stopping = False
        self._last_sweep = float("-inf")
        self._claims: outbox.ClaimAhead | None = None

    def stop(self, *_args) -> None:
        self.stopping = True

    def beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.value = time.monotonic()

    def orphaned(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info("outbox worker %s started (pid %s)", self.name, os.getpid())
        while not self.stopping:
            if self.orphaned():
                logger.warning("outbox worker %s: its supervisor is gone; stopping", self.name)
                break
            self.beat()
            busy = self.step()
            if not busy:
                self._sleep(self.poll)
        self._close_claims()
        logger.info("outbox worker %s stopped", self.name)

    def step(self) -> bool:
        """Sweep when it is time, then claim and send one chunk; True if there was one."""
        try:
            close_old_connections()
            if time.monotonic() - self._last_sweep >= SWEEP_EVERY_S:
                self._last_sweep = time.monotonic()
                outbox.sweep()
            if self._claims is None:
                self._claims = outbox.ClaimAhead(
                    lambda limit: outbox.claim_next(limit=limit, worker=self.name)
                )
            deliveries = self._claims.next(self.sizer.size)
            if not deliveries:
                return False
            started = time.monotonic()
            self._claims.ahead(self.sizer.size)
            outbox.send_chunk(deliveries)
            self.sizer.sent(len(deliveries), time.monotonic() - started)
            return True
        except (DatabaseError, InterfaceError) as exc:
            # The database went away or refused: try again in a moment with a new connection.
            logger.error("outbox worker %s: database error (%s)", self.name, type(exc).__name__)
            self._close_claims()
            connections.close_all()
            self._sleep(1.0)
        except Exception as exc:
            # Texts of exceptions may carry an endpoint or an address: the type only.
            logger.error("outbox worker %s: %s", self.name, type(exc).__name__)
            logger.debug("outbox worker failure", exc_info=True)
            self._sleep(1.0)
        return False

    def _close_claims(self) -> None:
        """Give back a chunk claimed ahead; a new ClaimAhead (and connection) next time."""
        claims, self._claims = self._claims, None
        if claims is not None:
            try:
                claims.close()
            except (DatabaseError, InterfaceError) as exc:
                # Its lease runs out; the sweep or the supervisor gives the rows back.
                logger.error(
                    "outbox worker %s: could not give back (%s)", self.name, type(exc).__name__
                )

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))


class InstanceLock:
    """The outbox's lock of this host and database: a lock file that one supervisor holds,
    and its workers with it (they inherit the descriptor when forked).

    The kernel lets go of the lock when the last process holding it dies, kill -9 included.
    So a supervisor that gets it knows that every process of the earlier supervisors of
    this instance is gone, and gives their rows back at once, instead of after their lease
    (a killed supervisor's workers held up to two chunks each). A supervisor that does not
    get it (the workers of a killed one are still finishing their chunk) runs all the same,
    under names the next holder of the lock will not touch.
    """

    def __init__(self, directory: str | None = None, instance: str | None = None):
        database = connections["default"].settings_dict
        place = "|".join(
            str(part)
            for part in (
                instance or settings.OUTBOX_INSTANCE,
                database.get("HOST"),
                database.get("PORT"),
                database["NAME"],
            )
        )
        self.key = hashlib.sha256(place.encode()).hexdigest()[:10]
        self.path = (
            Path(directory or settings.OUTBOX_LOCK_DIR) / f"burgernet-outbox-{self.key}.lock"
        )
        self.fd: int | None = None

    @property
    def prefix(self) -> str:
        """What the claim tokens of this instance's lock holders start with."""
        return f"w{self.key}."

    def acquire(self) -> bool:
        """Take the lock if no process holds it; True if taken."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the workers' copies go with them
            self.fd = None


@dataclass
class _Slot:
    index: int
    pid: int = 0
    name: str = ""
    started: float = 0.0
    failures: int = 0
    restart_at: float = 0.0


class Supervisor:
    """Forks `processes` workers and keeps that many running until SIGTERM or SIGINT."""

    def __init__(self, *, processes: int, chunk_size: int | None = None, poll: float | None = None):
        self.processes = processes
        self.chunk_size = chunk_size
        self.poll = poll
        self.id = secrets.token_hex(3)
        self.prefix = f"x{self.id}."  # until it holds the instance lock
        self.lock: InstanceLock | None = None
        self.stopping = False
        self._spawned = 0
        self._heartbeats = RawArray("d", processes)
        self.slots = [_Slot(index=i) for i in range(processes)]

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        logger.info(
            "outbox supervisor %s (pid %s): %s worker processes",
            self.id,
            os.getpid(),
            self.processes,
        )
        self._take_over()
        for slot in self.slots:
            self._spawn(slot)
        try:
            while not self.stopping:
                self._reap()
                self._restart_due()
                self._kill_silent()
                time.sleep(SUPERVISOR_TICK_S)
        finally:
            self._shutdown()
            if self.lock is not None:
                self.lock.release()

    def _take_over(self) -> None:
        """Take the instance lock and give back what this instance's earlier supervisors
        and workers held: they are all gone, or the lock would not be free."""
        lock = InstanceLock()
        try:
            taken = lock.acquire()
        except OSError as exc:
            logger.error("outbox supervisor: no instance lock (%s)", type(exc).__name__)
            return
        if not taken:
            logger.warning(
                "outbox supervisor %s: processes of an earlier supervisor still run; "
                "their rows come back when they finish or their lease runs out",
                self.id,
            )
            return
        self.lock, self.prefix = lock, lock.prefix
        try:
            given = outbox.release_claims(self.prefix)
        except (DatabaseError, InterfaceError) as exc:
            logger.error("outbox supervisor: could not release claims (%s)", type(exc).__name__)
            given = 0
        if given:
            logger.warning(
                "outbox supervisor %s: %s rows of killed predecessors back in the queue",
                self.id,
                given,
            )

    def _spawn(self, slot: _Slot) -> None:
        self._spawned += 1
        slot.name = f"{self.prefix}{self.id}{self._spawned:04x}-"
        slot.started = time.monotonic()
        self._heartbeats[slot.index] = slot.started
        connections.close_all()  # the child must not share the parent's connection
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                Worker(
                    name=slot.name,
                    chunk_size=self.chunk_size,
                    poll=self.poll,
                    parent_pid=os.getppid(),
                    heartbeat=_Beat(self._heartbeats, slot.index),
                ).run()
                code = 0
            except BaseException:
                logger.exception("outbox worker %s crashed", slot.name)
            finally:
                os._exit(code)
        slot.pid = pid

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is None:
                continue
            self._gone(slot, status)

    def _gone(self, slot: _Slot, status: int) -> None:
        how = (
            f"signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit {os.WEXITSTATUS(status)}"
        )
        lived = time.monotonic() - slot.started
        logger.warning("outbox worker %s (pid %s) ended: %s", slot.name, slot.pid, how)
        slot.pid = 0
        try:
            outbox.release_claims(slot.name)
        except (DatabaseError, InterfaceError) as exc:
            # Its lease runs out by itself; the sweep of the other workers takes the rows.
            logger.error("outbox supervisor: could not release claims (%s)", type(exc).__name__)
        finally:
            connections.close_all()
        # A worker that keeps dying at once (a broken setting) is restarted more slowly.
        slot.failures = slot.failures + 1 if lived < 5 else 0
        delay = min(2 ** (slot.failures - 1), RESTART_BACKOFF_MAX_S) if slot.failures else 0
        slot.restart_at = time.monotonic() + delay

    def _restart_due(self) -> None:
        for slot in self.slots:
            if not slot.pid and not self.stopping and time.monotonic() >= slot.restart_at:
                self._spawn(slot)

    def _kill_silent(self) -> None:
        allowed = silent_seconds_allowed()
        now = time.monotonic()
        for slot in self.slots:
            if slot.pid and now - self._heartbeats[slot.index] > allowed:
                logger.error("outbox worker %s silent for %.0f s: killed", slot.name, allowed)
                _kill(slot.pid, signal.SIGKILL)
                self._heartbeats[slot.index] = now  # reaped (and replaced) on the next tick

    def _shutdown(self, grace: float | None = None) -> None:
        """Ask the workers to finish their chunk, wait for them, kill what remains."""
        grace = outbox.chunk_seconds() + 15 if grace is None else grace
        for slot in self.slots:
            if slot.pid:
                _kill(slot.pid, signal.SIGTERM)
        end = time.monotonic() + grace
        while any(slot.pid for slot in self.slots) and time.monotonic() < end:
            self._reap()
            time.sleep(0.1)
        for slot in self.slots:
            if slot.pid:
                _kill(slot.pid, signal.SIGKILL)
        while any(slot.pid for slot in self.slots):
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            slot = next((s for s in self.slots if s.pid == pid), None)
            if slot is not None:
                self._gone(slot, status)
        logger.info("outbox supervisor %s stopped", self.id)


class _Beat:
    """One worker's cell of the shared heartbeat array, as something with a `value`."""

    def __init__(self, array, index: int):
        self._array = array
        self._index = index

    @property
    def value(self) -> float:
        return self._array[self._index]

    @value.setter
    def value(self, value: float) -> None:
        self._array[self._index] = value


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
