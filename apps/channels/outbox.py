"""The delivery outbox: rows written set-based, claimed in chunks, sent, written back as
the answers come.

The life of a message:

    enqueue_from_queryset(...)   one Delivery per recipient, in one INSERT … SELECT
    enqueue_notice(...)          one text to one participant (a code, a link): a Notice and
                                 its Delivery, claimed after urgent messages, before the rest
    release(message)             nothing more to do: the rows are the queue
    (outbox worker) claim_next   the due rows of live messages, urgent ones first, in chunks,
                                 the next chunk claimed while one is sent (ClaimAhead)
    send_chunk                   sent / retry at a set time / failed, written back every
                                 50 answers or 250 ms, the claim's lease renewed meanwhile
    sweep()                      every few seconds, by the workers: rows of dead workers back
                                 to the queue, rows of stopped or expired messages closed
    release_claims(worker)       at once when a worker process dies: its rows back
    stop(message)                nothing still queued is sent

The database is the queue (docs/architecture.md says why; apps/channels/worker.py runs
the processes). A row is claimed by one worker with a conditional UPDATE under a lease
and a token; it is sent at most once per claim and, once recorded as sent, never again.
A worker killed mid-chunk repeats only what it had not yet written back — at most one
batch of answers and the requests in flight — and a repeat carries the same Topic and
message id, so the push service keeps one and the web app shows it once.
"""

import logging
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from .models import CHANNELS_WITH_RECEIPTS, Channel, Delivery, Notice, OutgoingMessage
from .senders import SENDERS, Outcome

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 500  # rows per claim at least (ChunkSizer)
# Notices go out one by one to a gateway: a small chunk keeps a worker free for an alert.
NOTICE_CHUNK_SIZE = 50
MAX_CHUNK_SIZE = 5000
# A chunk this big is written back from a thread of its own (_ChunkWriter).
BACKGROUND_WRITE_ROWS = 200
CHUNK_TARGET_S = 1.0
BACKOFF_BASE_S = 15
BACKOFF_MAX_S = 15 * 60
FIELDS_WRITTEN_BACK = [
    "state",
    "attempts",
    "next_attempt_at",
    "lease_until",
    "provider_id",
    "error",
    "sent_at",
]

State = Delivery.State


def default_lease_seconds() -> int:
    """How long a claim holds without news from its worker. A live worker renews it every
    third of that while it sends (see _ChunkWriter), so only a dead worker's claim runs
    out, and its rows are back in the queue this long after it died (at once, when the
    worker's supervisor saw it die)."""
    return settings.OUTBOX_LEASE_SECONDS


def chunk_seconds() -> float:
    """How long one chunk may go on starting sends; what it has not started by then goes
    back to the queue (a slow push service does not hold a worker's rows for ever)."""
    return settings.OUTBOX_CHUNK_SECONDS


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


# Writing the rows ------------------------------------------------------------------------


def enqueue_from_queryset(
    *,
    message: OutgoingMessage,
    channel: str,
    participant_ids: QuerySet | None = None,
    device_ids: QuerySet | None = None,
) -> int:
    """Write one queued Delivery of `message` on `channel` per id the queryset selects.

    `participant_ids` (or `device_ids`) is a queryset selecting one column of ids, e.g.
    `Address.objects.filter(...).values("participant_id")`, or of participants (devices)
    themselves; it runs inside the database as
    `WITH recipients(id) AS (<its SQL>) INSERT … SELECT … ON CONFLICT DO NOTHING`, so no
    model instance is built and an id already enqueued for this message and channel is
    skipped. Returns the number of rows inserted.
    """
    if (participant_ids is None) == (device_ids is None):
        raise ValueError("give participant_ids or device_ids")
    column, ids = ("participant", participant_ids) if device_ids is None else ("device", device_ids)
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if ids._fields is None:  # a queryset of rows: take their ids
        ids = ids.values("pk")
    elif len(ids._fields) != 1:
        raise ValueError("the queryset must select one column of ids")
    if not ids.query.is_sliced:
        ids = ids.order_by()  # the order of the ids means nothing here
    inserted = _insert_select(message, ids, to=[column], select="r.id", channel=channel)
    logger.info("outbox: message %s, %s: %s deliveries enqueued", message.pk, channel, inserted)
    return inserted


def enqueue_by_choice(
    *, message: OutgoingMessage, participants: QuerySet, channels: Sequence[str]
) -> dict[str, int]:
    """Write the deliveries of `message` on several channels from one selection of
    participants: `participants` selects the id and then one boolean column per channel,
    in the order of `channels` (whether that participant gets it on that channel), e.g.
    `.annotate(to_sms=…, to_voice=…).values("pk", "to_sms", "to_voice")`.

    One INSERT … SELECT for all channels, so the database selects the participants once
    (a release's SMS and voice recipients come from the same address query). Returns the
    rows written per channel.
    """
    if not channels or any(channel not in Channel.values for channel in channels):
        raise ValueError(f"unknown channels {channels!r}")
    if participants._fields is None or len(participants._fields) != len(channels) + 1:
        raise ValueError("the queryset must select the ids and one column per channel")
    flags = [f"f{i}" for i in range(len(channels))]
    choices = " UNION ALL ".join(["SELECT %s AS channel"] * len(channels))
    chosen = " OR ".join(f"(c.channel = %s AND r.{flag})" for flag in flags)
    _insert_select(
        message,
        participants.order_by(),
        to=["channel", "participant"],
        select="c.channel, r.id",
        flags=flags,
        join=f"CROSS JOIN ({choices}) AS c",
        where=f"({chosen})",
        params=(*channels, *channels),
    )
    written = dict(
        Delivery.objects.filter(message=message, channel__in=channels)
        .values_list("channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {channel: written.get(channel, 0) for channel in channels}
    logger.info("outbox: message %s: deliveries enqueued %s", message.pk, counts)
    return counts


def _insert_select(
    message: OutgoingMessage,
    recipients: QuerySet,
    *,
    to: list[str],
    select: str,
    channel: str | None = None,
    flags: Sequence[str] = (),
    join: str = "",
    where: str = "",
    params: Sequence = (),
) -> int:
    """Write queued deliveries of `message` in one statement; return its rowcount:
    `INSERT INTO delivery (<constant columns>, <to>) WITH recipients (id, <flags>) AS
    (<recipients>) SELECT <constant values>, <select> FROM recipients AS r <join>
    WHERE r.id IS NOT NULL [AND <where>] ON CONFLICT DO NOTHING`. `params` are those of
    `join` and `where`; `channel`, when one channel for all, is a constant column.

    Only quoted names and the ORM's own SQL go into the text; every value is a parameter.
    The statement starts with INSERT (the WITH inside it), so drivers report its rowcount.
    ON CONFLICT also skips an id the queryset selects twice. SQLite needs a WHERE before
    ON CONFLICT in INSERT … SELECT (else "ON" reads as a join).
    """
    connection = connections[router.db_for_write(Delivery)]
    qn = connection.ops.quote_name
    columns, values = _constant_columns(connection, message, skip=set(to), channel=channel)
    columns += [qn(Delivery._meta.get_field(name).column) for name in to]
    inner_sql, inner_params = recipients.query.sql_with_params()
    placeholders = ", ".join(["%s"] * len(values))
    sql = (
        f"INSERT INTO {qn(Delivery._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"WITH recipients ({', '.join(['id', *flags])}) AS ({inner_sql}) "
        f"SELECT {placeholders}, {select} "
        f"FROM recipients AS r {join + ' ' if join else ''}"
        f"WHERE r.id IS NOT NULL {'AND ' + where + ' ' if where else ''}"
        f"ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*inner_params, *values, *params))
        return cursor.rowcount


def _constant_columns(connection, message: OutgoingMessage, *, skip: set[str], channel=None):
    """The columns and values every new queued row of `message` gets (not `skip`)."""
    qn = connection.ops.quote_name
    given = {
        "message": message.pk,
        "channel": channel,
        "state": State.QUEUED,
        "created_at": timezone.now(),
    }
    columns, values = [], []
    for field in Delivery._meta.concrete_fields:
        if field.primary_key or field.name in skip:
            continue
        if field.name in given:
            value = given[field.name]
        elif field.null:
            continue
        else:
            value = field.get_default()
        columns.append(qn(field.column))
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def enqueue(
    *,
    message: OutgoingMessage,
    channel: str,
    participant_ids: Iterable[int] | QuerySet | None = None,
    device_ids: Iterable[int] | QuerySet | None = None,
) -> int:
    """Like enqueue_from_queryset, for a list of ids too (ids that do not exist are left out)."""
    if (participant_ids is None) == (device_ids is None):
        raise ValueError("give participant_ids or device_ids")
    name, ids = ("participant", participant_ids) if device_ids is None else ("device", device_ids)
    if not isinstance(ids, QuerySet):
        model = Delivery._meta.get_field(name).related_model
        ids = model._default_manager.filter(pk__in=list(ids)).values("pk")
    return enqueue_from_queryset(message=message, channel=channel, **{f"{name}_ids": ids})


# The channels whose sender sends a notice's own text (senders.sms.deliver_notices).
NOTICE_CHANNELS = frozenset({Channel.SMS})


def enqueue_notice(
    *, participant_id: int, text: str, expires_at: datetime, source: str, channel=Channel.SMS
) -> Delivery:
    """Queue `text` for one participant on `channel`, to be sent before `expires_at` or not
    at all: a Notice (a confirmation code, a manage link) and its Delivery, written in the
    caller's transaction. The caller chose the number: unlike a message's, it need not be
    confirmed. The outbox workers send it like any row (there is nothing to wake: they
    poll for due rows), retry it, and wipe the text once it is sent, failed or expired.
    `source` says what it is ("participants.phone_code"); neither it nor the log holds
    personal data."""
    if channel not in NOTICE_CHANNELS:
        raise ValueError(f"no notices on channel {channel!r}")
    if not text:
        raise ValueError("a notice needs a text")
    with transaction.atomic(using=router.db_for_write(Delivery)):
        notice = Notice.objects.create(source=source, text=text, expires_at=expires_at)
        delivery = Delivery.objects.create(
            notice=notice, channel=channel, participant_id=participant_id
        )
    logger.info("outbox: notice %s (%s) queued", notice.pk, source)
    return delivery


# Handing the work to the workers --------------------------------------------------------


def release(message: OutgoingMessage) -> int:
    """Say that `message`'s rows are ready. The outbox workers poll for due rows a few
    times a second, so there is nothing to queue: the rows, once committed, are the work.
    Returns the number of queued rows."""
    queued = Delivery.objects.filter(message=message, state=State.QUEUED).count()
    logger.info("outbox: message %s released with %s queued deliveries", message.pk, queued)
    return queued


class ChunkSizer:
    """How many rows a worker claims next: about CHUNK_TARGET_S of its own recent sending,
    at least the configured chunk size, at most MAX_CHUNK_SIZE.

    Every chunk ends by waiting one round trip for its last answers, then claims again. A
    chunk of about a second keeps that to a few percent even against a push service 50 ms
    away (500 rows at 3,000 pushes/s took a sixth of a second, and the wait cost a
    quarter of the rate); a slow channel's chunks stay small. Repeats after a kill do not
    grow with the chunk: answers are written back every 50 or 250 ms.
    """

    def __init__(self, minimum: int | None = None):
        self.minimum = minimum or DEFAULT_CHUNK_SIZE
        self.size = self.minimum

    def sent(self, rows: int, seconds: float) -> None:
        """Learn from a chunk of `rows` rows that took `seconds`."""
        if seconds > 0:
            wanted = round(rows / seconds * CHUNK_TARGET_S)
            self.size = max(self.minimum, min(MAX_CHUNK_SIZE, wanted))


def drain(
    *, message_id: int | None = None, chunk_size: int | None = None, worker: str = ""
) -> Counter:
    """Claim and send chunks (of one message, or of every live one) until none is due, in
    this process. What a worker does in its loop; tests and benchmarks call it directly."""
    totals: Counter = Counter()
    sizer = ChunkSizer(chunk_size)
    if message_id is None:
        claims = ClaimAhead(lambda limit: claim_next(limit=limit, worker=worker))
    else:
        claims = ClaimAhead(
            lambda limit: claim_chunk(message_id=message_id, limit=limit, worker=worker)
        )
    try:
        while deliveries := claims.next(sizer.size):
            started = time.monotonic()
            claims.ahead(sizer.size)
            totals.update(send_chunk(deliveries))
            sizer.sent(len(deliveries), time.monotonic() - started)
    finally:
        claims.close()
    return totals


class ClaimAhead:
    """A worker's claims, one chunk ahead: while a chunk is sent, a thread of its own (with
    a connection of its own) claims the next, so the sender does not stand still while
    the database picks rows (a claim took 5–13 % of a one-worker fan-out's time).
    PostgreSQL outside a transaction only; elsewhere every claim is made when asked.

    A chunk claimed ahead is held under its lease like any claim. Taken up later than half
    its lease (after a slow chunk), its lease is renewed first and only the rows still
    held are sent: a row the sweep gave back meanwhile, perhaps claimed by another worker,
    is never sent twice. `close()` gives back a chunk claimed ahead and not taken (a
    worker told to stop); a killed worker's rows come back as any claim's do, through
    release_claims() or the lease. An urgent message waits at most one chunk (about
    CHUNK_TARGET_S) behind a chunk claimed ahead.
    """

    def __init__(self, claim):
        self._claim = claim
        self._ahead: Future | None = None
        self._ahead_at = 0.0
        self._thread: ThreadPoolExecutor | None = None
        self._alias = router.db_for_write(Delivery)
        connection = connections[self._alias]
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="claim-ahead")

    def next(self, limit: int) -> list["ClaimedDelivery"]:
        """The next chunk: the one claimed ahead if it holds rows, else claimed now."""
        if self._ahead is not None:
            future, age = self._ahead, time.monotonic() - self._ahead_at
            self._ahead = None
            rows = future.result()  # raises what the claim raised
            if rows and age > default_lease_seconds() / 2:
                rows = _still_held(rows)
            if rows:
                return rows
        return self._claim(limit)

    def ahead(self, limit: int) -> None:
        """Start claiming the next chunk (of up to `limit` rows) in the background."""
        if self._thread is not None and self._ahead is None:
            self._ahead_at = time.monotonic()
            self._ahead = self._thread.submit(self._claim, limit)

    def close(self) -> None:
        """Give back a chunk claimed ahead and not taken; close the thread's connection."""
        if self._thread is None:
            return
        try:
            if self._ahead is not None:
                rows = self._ahead.result()
                if rows:
                    _give_back(rows)
        finally:
            self._ahead = None
            self._thread.submit(self._close_connection).result()
            self._thread.shutdown()
            self._thread = None

    def _close_connection(self) -> None:
        connections[self._alias].close()  # the claim thread's own connection


def _still_held(rows: list["ClaimedDelivery"]) -> list["ClaimedDelivery"]:
    """Renew the lease of claimed rows that are still this claim's and return those. A row
    the sweep gave back has another state, one claimed again another token: neither is
    renewed (PostgreSQL re-checks the condition on a row another statement changed)."""
    tokens = {row.claim_token for row in rows}
    held = Delivery.objects.filter(
        pk__in=[row.pk for row in rows], claim_token__in=tokens, state=State.SENDING
    )
    held.update(lease_until=timezone.now() + timedelta(seconds=default_lease_seconds()))
    ids = set(held.values_list("pk", flat=True))
    return [row for row in rows if row.pk in ids]


def _give_back(rows: list["ClaimedDelivery"]) -> int:
    """Claimed rows, not sent, back to the queue."""
    return _requeue(
        Delivery.objects.filter(
            pk__in=[row.pk for row in rows],
            claim_token__in={row.claim_token for row in rows},
            state=State.SENDING,
        )
    )


def _requeue(claimed: QuerySet) -> int:
    """Claimed rows back to the queue, due at once and not counted as an attempt: what a
    claim given back, a dead worker's rows and an expired lease have in common."""
    return claimed.update(state=State.QUEUED, lease_until=None, next_attempt_at=None)


# Claiming --------------------------------------------------------------------------------


def claim_chunk(
    *,
    message_id: int | None = None,
    limit: int = DEFAULT_CHUNK_SIZE,
    lease_seconds: int | None = None,
    now: datetime | None = None,
    worker: str = "",
    messages: QuerySet | None = None,
    notices: bool = False,
) -> list["ClaimedDelivery"]:
    """Take up to `limit` due queued rows (of one message, of `messages`, of notices, or
    of any live message) for this worker. The claim's token starts with `worker`, so the
    rows of a worker that died can be given back at once (release_claims).

    A conditional UPDATE moves them to `sending` with a lease and a fresh token; then
    exactly the rows with that token are read back. Two workers never get the same row:
    on PostgreSQL the UPDATE takes the candidates its SELECT … FOR UPDATE SKIP LOCKED
    locked first, in one statement (a concurrent claim takes the next ones); on SQLite one
    UPDATE picks and takes them, and SQLite runs writers one at a time. Either way the
    UPDATE re-checks that a row is still queued.
    """
    now = now or timezone.now()
    lease = lease_seconds or default_lease_seconds()
    if message_id is not None:
        stopped = OutgoingMessage.objects.filter(pk=message_id, stopped_at__isnull=False)
        if stopped.exists():
            Delivery.objects.filter(message_id=message_id, state=State.QUEUED).update(
                state=State.CANCELLED, error="stopped"
            )
            return []
    candidates = Delivery.objects.filter(_due(now), state=State.QUEUED)
    if message_id is not None:
        candidates = candidates.filter(message_id=message_id)
    elif notices:
        candidates = candidates.filter(notice__isnull=False)  # the partial index's rows
    else:
        if messages is None:
            messages = live_messages(now).filter(stopped_at__isnull=True)
        candidates = candidates.filter(message__in=messages.values("pk"))
    db = router.db_for_write(Delivery)
    token = (worker + uuid.uuid4().hex)[: Delivery._meta.get_field("claim_token").max_length]
    taken = {
        "state": State.SENDING,
        "claim_token": token,
        "lease_until": now + timedelta(seconds=lease),
    }
    with transaction.atomic(using=db):
        if connections[db].features.has_select_for_update_skip_locked:
            locked = candidates.select_for_update(skip_locked=True, of=("self",))
            claimed = _claim_locked(connections[db], locked.values("pk")[:limit], taken)
        else:
            chosen = candidates.values("pk")[:limit]
            claimed = Delivery.objects.filter(pk__in=chosen, state=State.QUEUED).update(**taken)
    if not claimed:
        return []
    return _read_claimed(token)


class DeviceRef:
    """What a sender needs of a claimed row's device: its push subscription and the
    language its reader chose."""

    __slots__ = ("auth", "endpoint", "language", "p256dh", "pk")

    def __init__(self, pk: int, endpoint: str, p256dh: str, auth: str, language: str = ""):
        self.pk, self.endpoint, self.p256dh, self.auth = pk, endpoint, p256dh, auth
        self.language = language


class ClaimedDelivery:
    """A claimed Delivery row as the senders and the write-back use it: its columns, its
    message (one object per message, shared by the chunk's rows), its device's
    subscription and its participant (a model instance: the phone and e-mail senders
    read it). Plain objects, not model instances: building 500 rows with their device
    through the ORM cost 45–50 µs a row, these 10 µs (docs/benchmarks.md)."""

    __slots__ = (
        "attempts",
        "channel",
        "claim_token",
        "device",
        "device_id",
        "error",
        "lease_until",
        "message",
        "message_id",
        "next_attempt_at",
        "notice",
        "notice_id",
        "participant",
        "participant_id",
        "pk",
        "provider_id",
        "sent_at",
        "state",
    )

    @property
    def id(self) -> int:
        return self.pk

    def as_model(self) -> Delivery:
        return Delivery(
            id=self.pk,
            message_id=self.message_id,
            notice_id=self.notice_id,
            channel=self.channel,
            participant_id=self.participant_id,
            device_id=self.device_id,
            claim_token=self.claim_token,
            **{name: getattr(self, name) for name in FIELDS_WRITTEN_BACK},
        )

    def __repr__(self) -> str:
        return f"<claimed delivery {self.pk} ({self.channel}, {self.state})>"


_CLAIMED_COLUMNS = (
    "pk",
    "message_id",
    "notice_id",
    "channel",
    "participant_id",
    "device_id",
    "state",
    "attempts",
    "lease_until",
    "claim_token",
    "next_attempt_at",
    "provider_id",
    "error",
    "sent_at",
    "device__endpoint",
    "device__p256dh",
    "device__auth",
    "device__language",
)


def _read_claimed(token: str) -> list[ClaimedDelivery]:
    """The rows claimed with `token`, each with its message (or notice), device and
    participant: one query for the rows and their devices, one for their messages (or
    notices), one for participants."""
    values = list(
        Delivery.objects.filter(claim_token=token, state=State.SENDING)
        .order_by("pk")
        .values_list(*_CLAIMED_COLUMNS)
    )
    message_ids = {row[1] for row in values}
    messages = OutgoingMessage.objects.in_bulk(message_ids - {None})
    notices = {}
    if None in message_ids:  # rows of notices
        notices = Notice.objects.in_bulk({row[2] for row in values if row[2] is not None})
    participant_ids = {row[4] for row in values if row[4] is not None}
    participants = {}
    if participant_ids:
        model = Delivery._meta.get_field("participant").related_model
        participants = model._default_manager.in_bulk(participant_ids)
    rows = []
    for (
        pk,
        message_id,
        notice_id,
        channel,
        participant_id,
        device_id,
        state,
        attempts,
        lease_until,
        claim_token,
        next_attempt_at,
        provider_id,
        error,
        sent_at,
        endpoint,
        p256dh,
        auth,
        language,
    ) in values:
        row = ClaimedDelivery()
        row.pk, row.message_id, row.notice_id, row.channel = pk, message_id, notice_id, channel
        row.participant_id, row.device_id = participant_id, device_id
        row.state, row.attempts, row.lease_until = state, attempts, lease_until
        row.claim_token, row.next_attempt_at = claim_token, next_attempt_at
        row.provider_id, row.error, row.sent_at = provider_id, error, sent_at
        row.message = messages[message_id] if notice_id is None else None
        row.notice = None if notice_id is None else notices[notice_id]
        row.participant = participants.get(participant_id) if participant_id else None
        row.device = DeviceRef(device_id, endpoint, p256dh, auth, language) if device_id else None
        rows.append(row)
    return rows


def claim_next(
    *, limit: int = DEFAULT_CHUNK_SIZE, worker: str = "", now: datetime | None = None
) -> list["ClaimedDelivery"]:
    """A worker's next chunk: due rows of live messages, the urgent (time-critical) ones
    first, so an alert never waits behind a newsletter. Notices (a code, a link someone
    waits for) come after the urgent messages, before the others, in small chunks."""
    now = now or timezone.now()
    live = live_messages(now).filter(stopped_at__isnull=True)
    for claim in (
        {"messages": live.filter(urgency=OutgoingMessage.Urgency.HIGH)},
        {"notices": True, "limit": min(limit, NOTICE_CHUNK_SIZE)},
        {"messages": live.filter(urgency=OutgoingMessage.Urgency.NORMAL)},
    ):
        deliveries = claim_chunk(**{"limit": limit, **claim}, worker=worker, now=now)
        if deliveries:
            return deliveries
    return []


def _claim_locked(connection, locked: QuerySet, values: dict) -> int:
    """UPDATE the rows `locked` (a SELECT … FOR UPDATE SKIP LOCKED of their pks) selects
    to `values`, in one statement; returns how many.

    The SELECT runs once, as a materialized CTE: a subquery with LIMIT inside the UPDATE
    may be run again per row by PostgreSQL's planner and take more than `limit` rows. One
    statement, rather than the pks to Python and back in an IN list of a thousand, saves a
    round trip and the building and parsing of that list.
    """
    meta = Delivery._meta
    qn = connection.ops.quote_name
    inner_sql, inner_params = locked.query.get_compiler(connection=connection).as_sql()
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    # Only quoted names and the ORM's own SQL go into the text; every value is a parameter.
    sql = (
        f"WITH chosen (id) AS MATERIALIZED ({inner_sql}) "  # noqa: S608
        f"UPDATE {qn(meta.db_table)} AS d SET {assignments} FROM chosen "
        f"WHERE d.{qn(meta.pk.column)} = chosen.id AND d.{qn(meta.get_field('state').column)} = %s"
    )
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, (*inner_params, *params, State.QUEUED))
        return cursor.rowcount


# Sending ---------------------------------------------------------------------------------


def retry_wait(attempts: int, retry_after: float | None) -> float:
    """Seconds before the next try of a row that failed transiently for the `attempts`th
    time: what the service asked for (Retry-After, plus up to 10 % so the retries do not
    all come back in the same instant), else the backoff."""
    if retry_after is not None:
        return retry_after * random.uniform(1.0, 1.1)
    return backoff_seconds(attempts)


def backoff_seconds(attempts: int) -> float:
    """Seconds before try number `attempts + 1`: 15 s, 30 s, 1 min, … up to 15 min, with
    a little jitter so a throttled push service is not hit by all rows at once."""
    base = min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S)
    return base * random.uniform(1.0, 1.25)


def send_chunk(
    deliveries: Sequence[Delivery], *, now: datetime | None = None, deadline: float | None = None
) -> Counter:
    """Send claimed rows through their channel's sender and write what became of them back
    as the answers come (every 50, or every 250 ms), renewing the claim's lease meanwhile.
    Sends not started by `deadline` (time.monotonic(); by default chunk_seconds() from
    now) go back to the queue. Returns the counts per new state ("retry" for those
    queued again)."""
    if not deliveries:
        return Counter()
    now = now or timezone.now()
    if deadline is None:
        deadline = time.monotonic() + chunk_seconds()
    writer = _ChunkWriter(deliveries)
    # The stop button may have been pressed since the claim.
    stopped = set(
        OutgoingMessage.objects.filter(
            pk__in={d.message_id for d in deliveries}, stopped_at__isnull=False
        ).values_list("pk", flat=True)
    )
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    decided = []
    for delivery in deliveries:
        if delivery.message_id in stopped:
            decided.append((delivery, _STOPPED))
        elif now >= (delivery.message or delivery.notice).expires_at:
            decided.append((delivery, _EXPIRED))
        else:
            by_channel[delivery.channel].append(delivery)
    writer.write(decided)
    misconfigured = None
    for channel, rows in by_channel.items():
        sender = SENDERS.get(channel)
        if sender is None:
            writer.write([(d, Outcome.permanent(f"no sender for {channel}")) for d in rows])
            continue

        def report(batch, rows=rows):
            writer.write([(rows[position], outcome) for position, outcome in batch])

        try:
            results = sender.deliver(rows, deadline=deadline, report=report)
        except Exception as exc:
            # Written back as a transient failure, not left to the lease: the rows are
            # tried again after the backoff (e.g. once the settings are fixed).
            # Exception texts of HTTP clients may carry an endpoint or an address: the
            # log gets the type; the traceback only at DEBUG level.
            logger.error(
                "outbox: the %s sender failed on a chunk (%s)", channel, type(exc).__name__
            )
            logger.debug("outbox: sender failure", exc_info=True)
            results = [Outcome.transient(f"sender error ({type(exc).__name__})")] * len(rows)
            if isinstance(exc, ImproperlyConfigured):
                misconfigured = exc
        writer.write(list(zip(rows, results, strict=True)))
    writer.finish()
    counts = writer.counts
    logger.info("outbox: chunk of %s written back: %s", len(deliveries), dict(counts))
    if misconfigured:
        raise misconfigured
    return counts


class _ChunkWriter:
    """Writes a chunk's outcomes back as they come, each row once, and keeps the chunk's
    claim alive: every third of the lease its rows still in flight get a new lease_until,
    so no sweep hands them to another worker while this one still sends.

    On PostgreSQL, outside a transaction, a chunk of BACKGROUND_WRITE_ROWS rows or more is
    written back by a thread of its own over a second connection, so the sender goes on
    while the database works (a worker waited on its write-backs for a seventh of its
    time). The writes keep their order; `finish()` waits for them, closes that connection
    and raises what went wrong. A write that fails makes the next write() raise too, so
    the chunk stops early; its rows stay claimed until the supervisor or the sweep gives
    them back.
    """

    def __init__(self, deliveries: Sequence[Delivery]):
        self.counts: Counter = Counter()
        self._written: set[int] = set()
        self._tokens = sorted({d.claim_token for d in deliveries})
        self._lease = default_lease_seconds()
        self._renewed = time.monotonic()
        self._thread: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None
        alias = router.db_for_write(Delivery)
        connection = connections[alias]
        if (
            len(deliveries) >= BACKGROUND_WRITE_ROWS
            and connection.vendor == "postgresql"
            and not connection.in_atomic_block
        ):
            self._alias = alias
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-back")
            self._pending: list[Future] = []

    def write(self, pairs: list[tuple[Delivery, Outcome]]) -> None:
        if self._error is not None:
            raise self._error
        pairs = [(d, o) for d, o in pairs if d.pk not in self._written]
        if pairs:
            self._written.update(d.pk for d, _ in pairs)
            self._run(self._write, pairs)
        if time.monotonic() - self._renewed >= self._lease / 3:
            self.renew()

    def renew(self) -> None:
        self._renewed = time.monotonic()
        self._run(self._renew)

    def finish(self) -> None:
        """Wait for the writes in the background, if any, and raise what went wrong."""
        if self._thread is None:
            return
        try:
            for future in self._pending:
                future.exception()  # waits; a failure is kept in self._error
        finally:
            self._thread.submit(self._close).result()
            self._thread.shutdown()
            self._thread = None
        if self._error is not None:
            raise self._error

    def _run(self, work, *args) -> None:
        if self._thread is None:
            work(*args)
            return
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._thread.submit(self._guarded, work, *args))

    def _guarded(self, work, *args) -> None:
        if self._error is not None:
            return  # the order of writes is broken: write nothing more
        try:
            work(*args)
        except BaseException as exc:
            self._error = exc
            connections[self._alias].close()  # may be broken; the next chunk opens anew

    def _close(self) -> None:
        connections[self._alias].close()

    def _write(self, pairs) -> None:
        self.counts.update(
            _write_back([d for d, _ in pairs], {d.pk: o for d, o in pairs}, now=timezone.now())
        )

    def _renew(self) -> None:
        Delivery.objects.filter(claim_token__in=self._tokens, state=State.SENDING).update(
            lease_until=timezone.now() + timedelta(seconds=self._lease)
        )


# Decided before sending, so not an attempt.
_STOPPED = Outcome("stopped", error="stopped")
_EXPIRED = Outcome("expired", error="expired")


def _write_back(deliveries, outcomes: dict[int, Outcome], *, now: datetime) -> Counter:
    counts: Counter = Counter()
    gone: list[tuple[int, str]] = []
    for d in deliveries:
        outcome = outcomes[d.pk]
        d.lease_until = None
        if outcome is _STOPPED or outcome is _EXPIRED:
            d.state = State.CANCELLED if outcome is _STOPPED else State.FAILED
            d.error = outcome.error
            counts[str(d.state)] += 1
            continue
        if outcome.status == Outcome.SKIPPED:
            d.state, d.next_attempt_at = State.QUEUED, None
            counts["retry"] += 1
            continue
        if outcome.status == Outcome.DEFERRED:  # not sent: the service asked us to wait
            d.state, d.error = State.QUEUED, outcome.error[:200]
            d.next_attempt_at = now + timedelta(seconds=outcome.retry_after or 0)
            counts["retry"] += 1
            continue
        d.attempts += 1
        d.error = outcome.error[:200]
        if outcome.status == Outcome.SENT:
            d.state, d.sent_at, d.error = State.SENT, now, ""
            d.provider_id = outcome.provider_id[:200]
        elif outcome.status == Outcome.TRANSIENT:
            next_attempt = now + timedelta(seconds=retry_wait(d.attempts, outcome.retry_after))
            if next_attempt >= (d.message or d.notice).expires_at:
                d.state, d.error = State.FAILED, "expired"
            else:
                d.state, d.next_attempt_at = State.QUEUED, next_attempt
                counts["retry"] += 1
                continue
        else:
            d.state = State.FAILED
            if outcome.status == Outcome.GONE and d.device_id:
                gone.append((d.device_id, d.device.endpoint))
        counts[str(d.state)] += 1

    # Only the rows this claim still holds: a row whose lease the sweep took back is no
    # longer this worker's (another may be sending it now).
    by_token = defaultdict(list)
    for d in deliveries:
        by_token[d.claim_token].append(d)
    # One transaction: a worker killed in between must not leave a row failed as "gone"
    # with its device still there.
    decided_notices = [d.pk for d in deliveries if d.notice_id and d.state != State.QUEUED]
    with transaction.atomic(using=router.db_for_write(Delivery)):
        for token, rows in by_token.items():
            _update_claimed(token, rows)
        if gone:
            _forget_devices(gone)
        if decided_notices:
            _wipe_notices(Delivery.objects.filter(pk__in=decided_notices))
    return counts


def _update_claimed(token: str, rows: list[Delivery]) -> None:
    """Write the rows' new values back — only to rows this claim still holds.

    Django's bulk_update builds one CASE per field with a branch per row: most of a second
    for 500 rows on PostgreSQL, over two seconds for 1,000 on SQLite. Instead the new
    values go into the database as a table `v` and one UPDATE … FROM v writes them: from
    unnest(<one array per column>) on PostgreSQL, from VALUES on SQLite (3.33 and later).
    Other databases use bulk_update.
    """
    mine = Delivery.objects.filter(claim_token=token, state=State.SENDING)
    connection = connections[mine.db]
    if connection.vendor == "postgresql":
        _update_from_arrays(connection, token, rows)
    elif connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33):
        _update_from_values(connection, token, rows)
    else:
        mine.bulk_update(
            [row.as_model() if isinstance(row, ClaimedDelivery) else row for row in rows],
            FIELDS_WRITTEN_BACK,
        )


def _written_back_fields() -> list:
    return [Delivery._meta.get_field(name) for name in FIELDS_WRITTEN_BACK]


def _update_from(connection, values: str) -> str:
    """UPDATE … FROM v, the table `values` makes: (id, f0, f1, …), the new value of
    FIELDS_WRITTEN_BACK[i] in f<i>. Takes the claim token and the state `sending` as its
    last two parameters."""
    qn = connection.ops.quote_name
    meta = Delivery._meta
    fields = _written_back_fields()
    names = ", ".join(["id"] + [f"f{i}" for i in range(len(fields))])
    assignments = ", ".join(f"{qn(f.column)} = v.f{i}" for i, f in enumerate(fields))
    # Only quoted names go into the text; every value is a parameter.
    return (
        f"WITH v ({names}) AS {values} "  # noqa: S608
        f"UPDATE {qn(meta.db_table)} AS d SET {assignments} FROM v "
        f"WHERE d.{qn(meta.pk.column)} = v.id "
        f"AND d.{qn(meta.get_field('claim_token').column)} = %s "
        f"AND d.{qn(meta.get_field('state').column)} = %s"
    )


def _update_from_arrays(connection, token: str, rows: list[Delivery]) -> None:
    fields = _written_back_fields()
    columns = [[row.pk for row in rows]] + [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for row in rows] for f in fields
    ]
    arrays = ", ".join(["%s::bigint[]"] + [f"%s::{f.db_type(connection)}[]" for f in fields])
    # Materialized, so a nested loop reads the 500 values from memory, not by calling
    # unnest again per row (the plan after a release, before the statistics catch up).
    values = f"MATERIALIZED (SELECT * FROM unnest({arrays}))"  # noqa: S608 (types, placeholders)
    sql = _update_from(connection, values)
    with connection.cursor() as cursor:
        cursor.execute(sql, (*columns, token, State.SENDING))


def _update_from_values(connection, token: str, rows: list[Delivery]) -> None:
    fields = _written_back_fields()
    per_row = 1 + len(fields)
    # SQLite refuses a statement with more parameters than its limit (999 on old builds):
    # write as many rows per statement as fit, all in one transaction.
    batch = max((connection.features.max_query_params - 2) // per_row, 1)
    row = "(" + ", ".join(["%s"] * per_row) + ")"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            params = [
                value
                for d in part
                for value in (
                    d.pk,
                    *(f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields),
                )
            ]
            sql = _update_from(connection, f"(VALUES {', '.join([row] * len(part))})")
            cursor.execute(sql, (*params, token, State.SENDING))


def _wipe_notices(deliveries: QuerySet) -> int:
    """Wipe the texts (a code, a link) of the notices of `deliveries` that were sent or
    failed: what is no longer needed is not kept. Only rows written back as such, not
    one a sweep took back from this claim meanwhile (it may still be sent)."""
    decided = deliveries.filter(state__in=[State.SENT, State.FAILED, State.CANCELLED])
    notices = Notice.objects.filter(pk__in=decided.values("notice_id")).exclude(text="")
    return notices.update(text="")


def _forget_devices(gone: list[tuple[int, str]]) -> None:
    """Delete devices whose subscription the push service says is gone — unless the web app
    renewed the subscription meanwhile (another endpoint)."""
    device_model = Delivery._meta.get_field("device").related_model
    match = Q()
    for device_id, endpoint in gone:
        match |= Q(pk=device_id, endpoint=endpoint)
    device_model._default_manager.filter(match).delete()
    logger.info("outbox: %s devices with a gone subscription deleted", len(gone))


# The stop button, the sweep, the counts --------------------------------------------------


def stop(message: OutgoingMessage) -> int:
    """Stop sending `message`: every still queued row is cancelled. Rows being sent at this
    moment finish. Returns the number of rows cancelled."""
    now = timezone.now()
    with transaction.atomic():
        OutgoingMessage.objects.filter(pk=message.pk, stopped_at__isnull=True).update(
            stopped_at=now
        )
        cancelled = Delivery.objects.filter(message=message, state=State.QUEUED).update(
            state=State.CANCELLED, error="stopped"
        )
    message.refresh_from_db(fields=["stopped_at"])
    logger.info("outbox: message %s stopped, %s deliveries cancelled", message.pk, cancelled)
    return cancelled


# How long after its TTL ran out a message is still looked at by the sweep (and by claims
# without a message): time enough to fail its last queued rows as expired.
LIVE_GRACE = timedelta(days=1)


def live_messages(now: datetime) -> QuerySet:
    """The messages that may still have rows to move: created within the longest TTL, and a
    grace period. The sweep reads their rows through the (message, state) index instead of
    scanning every row of the table (which holds every delivery ever made)."""
    longest = OutgoingMessage.objects.aggregate(longest=Max("ttl_seconds"))["longest"] or 0
    return OutgoingMessage.objects.filter(
        created_at__gte=now - timedelta(seconds=longest) - LIVE_GRACE
    )


def sweep(*, now: datetime | None = None) -> Counter:
    """Keep the outbox moving; the outbox workers run it every few seconds.

    - Rows in `sending` whose lease ran out belonged to a worker that died: back to the
      queue, due at once (not counted as an attempt; a stopped message's are cancelled).
    - Queued rows of stopped messages are cancelled, of expired messages failed.
    - Queued rows of expired notices are failed, and those notices' texts wiped (also
      of a notice whose delivery is gone with its participant).

    Every step is one UPDATE through a partial or (message, state) index, so several
    workers may sweep at once.
    """
    now = now or timezone.now()
    counts: Counter = Counter()

    expired_leases = Delivery.objects.filter(state=State.SENDING, lease_until__lt=now)
    counts["cancelled"] += expired_leases.filter(message__stopped_at__isnull=False).update(
        state=State.CANCELLED, error="stopped", lease_until=None
    )
    counts["requeued"] += _requeue(expired_leases)
    if counts["requeued"]:
        logger.warning("outbox: %s deliveries of dead workers requeued", counts["requeued"])

    live = live_messages(now).values_list("pk", "stopped_at", "created_at", "ttl_seconds")
    stopped, expired = [], []
    for pk, stopped_at, created_at, ttl in live:
        if stopped_at is not None:
            stopped.append(pk)
        elif now >= created_at + timedelta(seconds=ttl):
            expired.append(pk)
    if stopped:
        counts["cancelled"] += Delivery.objects.filter(
            state=State.QUEUED, message_id__in=stopped
        ).update(state=State.CANCELLED, error="stopped")
    if expired:
        counts["expired"] += Delivery.objects.filter(
            state=State.QUEUED, message_id__in=expired
        ).update(state=State.FAILED, error="expired")

    expired_notices = Notice.objects.filter(expires_at__lte=now).exclude(text="")
    if expired_notices.exists():
        counts["expired"] += Delivery.objects.filter(
            state=State.QUEUED, notice__isnull=False, notice__in=expired_notices.values("pk")
        ).update(state=State.FAILED, error="expired")
        expired_notices.update(text="")
    return +counts  # without the zeros


def release_claims(worker: str) -> int:
    """Give back at once the rows held by `worker` (the prefix of its claim tokens), which
    is known to be dead: its supervisor saw the process end. Returns how many."""
    if not worker:
        raise ValueError("name the worker")
    held = Delivery.objects.filter(state=State.SENDING, claim_token__startswith=worker)
    cancelled = held.filter(message__stopped_at__isnull=False).update(
        state=State.CANCELLED, error="stopped", lease_until=None
    )
    requeued = _requeue(held)
    if requeued or cancelled:
        logger.warning("outbox: %s deliveries of a dead worker requeued", requeued)
    return requeued


# Receipts the services report (CHANNELS_WITH_RECEIPTS), counted per channel by stats().
RECEIPTS_COUNTED = (
    Delivery.Receipt.DELIVERED,
    Delivery.Receipt.BOUNCED,
    Delivery.Receipt.COMPLAINED,
    Delivery.Receipt.UNANSWERED,
)


# The operators' live panel asks every few seconds, each operator on their own screen: a
# message's counts are counted at most once per LIVE_STATS_SECONDS (the shared cache), not
# once per operator and poll (20,000 rows: some 15 ms of the database each time).
LIVE_STATS_SECONDS = 2


def live_stats(message: OutgoingMessage) -> dict[str, dict[str, int]]:
    """`stats(message)`, at most LIVE_STATS_SECONDS old."""
    key = f"outbox.live_stats:{message.pk}"
    counts = cache.get(key)
    if counts is None:
        counts = stats(message)
        cache.set(key, counts, LIVE_STATS_SECONDS)
    return counts


def stats(message: OutgoingMessage) -> dict[str, dict[str, int]]:
    """Counts per channel for the operator's live page:
    {"webpush": {"queued": …, "sending": …, "sent": …, "failed": …, "cancelled": …,
    "opened": …, "total": …}, …} — only channels the message has rows on. The channels
    whose service reports back (CHANNELS_WITH_RECEIPTS: e-mail, SMS, voice) also have
    "delivered", "bounced", "complained" and "unanswered": what the service reported
    afterwards (a bounced row counts as sent too: it left us)."""
    receipts = {str(r): Count("pk", filter=Q(receipt=r)) for r in RECEIPTS_COUNTED}
    rows = (
        Delivery.objects.filter(message=message)
        .values("channel", "state")
        .annotate(n=Count("pk"), opened=Count("pk", filter=Q(opened_at__isnull=False)), **receipts)
        .order_by()
    )
    result: dict[str, dict[str, int]] = {}
    for row in rows:
        channel = row["channel"]
        counted = receipts if channel in CHANNELS_WITH_RECEIPTS else {}
        counts = result.setdefault(
            channel,
            {state: 0 for state in State.values}
            | {"opened": 0}
            | dict.fromkeys(counted, 0)
            | {"total": 0},
        )
        counts[row["state"]] += row["n"]
        counts["opened"] += row["opened"]
        for receipt in counted:
            counts[receipt] += row[receipt]
        counts["total"] += row["n"]
    return result
