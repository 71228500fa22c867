"""The annual report benchmark (`manage.py bench_report`): three years of national data,
the report's figures counted from it, and the report pages timed through the real views.

National size (the defaults): 36,000 actions, 2.4 million participants (600,000 people
registered with an address, 1.8 million web-app devices), 60 million deliveries, 6,000
mailings, spread over the last three years. The actions ended long ago, so their deliveries
are written as retention leaves them: without device or participant.

Every row it makes is recognisable, so it refuses a database with other people in it and
removes exactly its own rows afterwards: participants have a phone number starting with
+997, devices an endpoint under /push/bench-report-, actions and mailings belong to
organisations named "bench_report: …", messages have a source starting with "bench_report:".

On PostgreSQL the rows are written with COPY and the deliveries inside the database
(INSERT … SELECT from generate_series); elsewhere (SQLite, the tests) with executemany.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from apps.actions import demo
from apps.actions.demo import pick as _pick
from apps.actions.models import Action
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.governance import reporting
from apps.governance import services as governance_services
from apps.governance.geography import load_reference_geography
from apps.governance.models import DailyFigure, Municipality, Organisation, PoliceUnit
from apps.governance.roles import Role, sync_roles
from apps.mail.models import Kind as MailKind
from apps.mail.models import Mailing
from apps.participants.models import Address, Device, Participant

from .fanout import _delete_cascading, _without_key_checks
from .publish import _counting

SOURCE = "bench_report"
PHONE_PREFIX = "+997"
PUSH_PATH = "/push/bench-report-"
ENDPOINT_BASE = "https://push.bench.invalid"
CONTROL_ROOM = f"{SOURCE}: Meldkamer"
MANAGEMENT = f"{SOURCE}: Beheer"
MUNICIPALITY_PREFIX = f"{SOURCE}: Gemeente "
MANAGER = "bench-report-manager"
AUTHOR = "bench-report-author"
HOST = "bench.burgernet.invalid"
GOAL_S = 2.0
BATCH = 5_000
CHUNK = 50_000  # rows made, then written, at a time

# Kinds and outcomes in the shares of the 2023 annual report, as the demo year draws them.
KIND_WEIGHTS = demo.KINDS
RESULT_WEIGHTS = demo.RESULTS
MAIL_KIND_WEIGHTS = [
    (MailKind.NEIGHBOURHOOD_INQUIRY, 70),
    (MailKind.PREVENTIVE, 20),
    (MailKind.INFORMATIVE, 10),
    (MailKind.CRISIS, 1),
]


@dataclass
class Options:
    years: int = 3
    actions: int = 36_000
    registered: int = 600_000
    devices: int = 1_800_000
    deliveries: int = 60_000_000
    mailings: int = 6_000
    repeat: int = 5
    seed: int = 13


@dataclass
class Timing:
    name: str
    seconds: list[float]
    size: int = 0
    queries: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def worst(self) -> float:
        return max(self.seconds)


@dataclass
class Result:
    made: dict[str, int] = field(default_factory=dict)
    steps: list[Timing] = field(default_factory=list)
    pages: list[Timing] = field(default_factory=list)


class BenchError(RuntimeError):
    pass


# --- the benchmark's own rows --------------------------------------------------------


def bench_participants():
    return Participant.objects.filter(phone__startswith=PHONE_PREFIX)


def bench_devices():
    return Device.objects.filter(endpoint__startswith=ENDPOINT_BASE + PUSH_PATH)


def bench_actions():
    return Action.objects.filter(organisation__name=CONTROL_ROOM)


def bench_mailings():
    return Mailing.objects.filter(organisation__name__startswith=MUNICIPALITY_PREFIX)


def bench_messages():
    return OutgoingMessage.objects.filter(source__startswith=f"{SOURCE}:")


def refuse_foreign_data(*, allow: bool) -> None:
    if allow:
        return
    foreign = (
        Participant.objects.exclude(phone__startswith=PHONE_PREFIX).exists()
        or Device.objects.exclude(endpoint__startswith=ENDPOINT_BASE + PUSH_PATH).exists()
        or Action.objects.exclude(organisation__name=CONTROL_ROOM).exists()
    )
    if foreign:
        raise BenchError(
            "this database holds participants, devices or actions that bench_report did not "
            "make; run it on a database of its own (or pass --allow-existing-data: only its "
            "own rows are removed, but the figures it counts include the others)"
        )


def purge(first: dt.date | None = None, last: dt.date | None = None) -> None:
    """Remove every row the benchmark made, then count the days it filled again."""
    with transaction.atomic(), _without_key_checks():
        _delete_cascading(bench_messages())
        _delete_cascading(bench_actions())
        _delete_cascading(bench_mailings())
        _delete_cascading(bench_participants())
        _delete_cascading(bench_devices())
        Organisation.objects.filter(name__startswith=f"{SOURCE}: ").update(is_active=False)
    if first and last:
        DailyFigure.objects.filter(day__gte=first, day__lte=last).exclude(metric="deleted").delete()
        reporting.refresh(_days(first, last), beyond_horizon=True)


# --- writing rows fast ---------------------------------------------------------------


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields]


_NOW = timezone.now()


def _row(fields: list[models.Field], given: dict) -> tuple:
    """One row of `model` in column order: the given values, else each field's default."""
    values = []
    for f in fields:
        if f.attname in given:
            values.append(given[f.attname])
        elif f.has_default():
            values.append(f.get_default())
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values.append(_NOW)
        elif f.db_default is not models.NOT_PROVIDED:
            values.append(f.db_default)
        elif f.null:
            values.append(None)
        else:
            values.append("")
    return tuple(values)


def _insert(model, rows: Iterable[dict]) -> int:
    """Write rows (dicts of attname → value, with the id) set-based: COPY on PostgreSQL,
    executemany elsewhere, a chunk at a time. The rows of a chunk are made before it is
    written: a default may ask the database (a unique code), which it cannot while a COPY
    holds the connection. Returns the number written."""
    fields = _columns(model)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    written = 0
    rows = iter(rows)
    while chunk := [_prepared(fields, _row(fields, given)) for given in islice(rows, CHUNK)]:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                cursor.executemany(sql, chunk)
        written += len(chunk)
    return written


def _prepared(fields, values) -> tuple:
    return tuple(
        f.get_db_prep_save(v, connection) if v is not None else None
        for f, v in zip(fields, values, strict=True)
    )


def _next_id(model) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def _reset_sequences(*model_list) -> None:
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(model_list)):
            cursor.execute(sql)


def _analyze(*model_list) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in model_list:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


class _Municipalities:
    """Municipalities drawn by their number of inhabitants."""

    def __init__(self):
        rows = list(
            Municipality.objects.exclude(lat=None).values_list(
                "pk", "police_unit_id", "lat", "lon", "inhabitants"
            )
        )
        self.rows = rows
        self.upto, running = [], 0
        for row in rows:
            running += row[4] or 20_000
            self.upto.append(running)
        self.total = running

    def draw(self, rng: random.Random) -> tuple:
        return self.rows[bisect.bisect(self.upto, rng.random() * self.total)]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# --- the data ------------------------------------------------------------------------


def generate(options: Options, say: Callable[[str], None]) -> dict[str, int]:
    if not Municipality.objects.exists():
        load_reference_geography()
    rng = random.Random(options.seed)
    now = timezone.now()
    first_moment = now - dt.timedelta(days=365 * options.years)
    span = (now - dt.timedelta(hours=2) - first_moment).total_seconds()

    def moment() -> dt.datetime:
        return first_moment + dt.timedelta(seconds=rng.random() * span)

    municipalities = _Municipalities()
    made: dict[str, int] = {}
    with transaction.atomic(), _without_key_checks():
        say(f"participants: {options.registered:,} registered with an address …")
        base = _next_id(Participant)
        homes = []

        def participant_rows():
            for n in range(options.registered):
                created = moment()
                confirmed = rng.random() < 0.98
                sms, voice, email = rng.random() < 0.85, rng.random() < 0.2, rng.random() < 0.25
                pk, unit, lat, lon, _inh = municipalities.draw(rng)
                homes.append((pk, lat, lon, created, confirmed and sms, confirmed and voice))
                yield {
                    "id": base + n,
                    "ref": uuid.uuid4(),
                    "phone": f"{PHONE_PREFIX}{base + n:011d}",
                    "phone_confirmed_at": created if confirmed else None,
                    "email": f"r{base + n}@bench.invalid" if email else "",
                    "email_confirmed_at": created if email else None,
                    "wants_sms": sms,
                    "wants_voice": voice,
                    "wants_email": email,
                    "language": "nl",
                    "created_at": created,
                    "updated_at": created,
                }

        made["participants"] = _insert(Participant, participant_rows())
        address_base = _next_id(Address)

        def address_rows():
            for n, (pk, lat, lon, created, sms, voice) in enumerate(homes):
                yield {
                    "id": address_base + n,
                    "participant_id": base + n,
                    "label": "Thuis",
                    "country": "NL",
                    "postcode": f"{1000 + n % 9000}AB",
                    "house_number": 1 + n % 200,
                    "lat": lat + rng.gauss(0, 0.01),
                    "lon": lon + rng.gauss(0, 0.015),
                    "municipality_id": pk,
                    "always_active": True,
                    "created_at": created,
                    "reach_sms": sms,
                    "reach_voice": voice,
                    "reach_email": False,
                }

        made["addresses"] = _insert(Address, address_rows())
        say(f"devices: {options.devices:,} web apps …")
        device_base = _next_id(Device)

        def device_rows():
            for n in range(options.devices):
                created = moment()
                _pk, _unit, lat, lon, _inh = municipalities.draw(rng)
                yield {
                    "id": device_base + n,
                    "ref": uuid.uuid4(),
                    "endpoint": f"{ENDPOINT_BASE}{PUSH_PATH}{device_base + n}",
                    "p256dh": "bench",
                    "auth": "bench",
                    "cell": "",
                    "cell_lat": round(lat + rng.gauss(0, 0.02), 3),
                    "cell_lon": round(lon + rng.gauss(0, 0.03), 3),
                    "cell_updated_at": None,
                    "is_test_device": False,
                    "language": "nl",
                    "created_at": created,
                    "last_seen_at": now - dt.timedelta(hours=rng.random() * 20),
                }

        made["devices"] = _insert(Device, device_rows())
        _reset_sequences(Participant, Address, Device)

        say(f"actions: {options.actions:,} with their messages …")
        made.update(_generate_actions(options, rng, moment, municipalities))
        say(f"deliveries: {options.deliveries:,} …")
        made["deliveries"] = _generate_deliveries(options, rng)
        say(f"mailings: {options.mailings:,} …")
        made["mailings"] = _generate_mailings(options, rng, moment, municipalities)
    _analyze(Participant, Address, Device, Action, OutgoingMessage, Delivery, Mailing)
    return made


def _verification_code(pk: int) -> str:
    """A code per action made from its id: unique without asking the database (random
    codes would meet each other among tens of thousands written at once)."""
    from apps.actions import models as action_models

    alphabet = action_models.VERIFICATION_ALPHABET
    digits, n = [], pk
    for _i in range(action_models.VERIFICATION_LENGTH):
        n, digit = divmod(n, len(alphabet))
        digits.append(alphabet[digit])
    return action_models.VERIFICATION_PREFIX + "".join(reversed(digits))


def _generate_actions(options, rng, moment, municipalities) -> dict[str, int]:
    """Actions with a release and an end message each, written with their ids (so the
    messages' moments are the actions', not the moment of writing)."""
    from apps.actions.models import EndMessage

    units = {u.pk: u for u in PoliceUnit.objects.all()}
    national = next((u for u in units.values() if u.is_national), None)
    control_room = governance_services.organisation_ensure(
        name=CONTROL_ROOM,
        kind=Organisation.Kind.CONTROL_ROOM,
        police_unit=next(u for u in units.values() if not u.is_national),
    )
    action_base, message_base = _next_id(Action), _next_id(OutgoingMessage)
    end_base = _next_id(EndMessage)
    plan = []
    for n in range(options.actions):
        kind = _pick(rng, KIND_WEIGHTS)
        municipality, unit_id, lat, lon, _inh = municipalities.draw(rng)
        released = moment()
        ended = released + dt.timedelta(minutes=rng.randint(20, 600))
        plan.append((action_base + n, kind, municipality, unit_id, lat, lon, released, ended))

    def messages():
        for pk, _kind, _m, _u, _lat, _lon, released, ended in plan:
            for part, at, offset in (("release", released, 0), ("end", ended, 1)):
                yield {
                    "id": message_base + 2 * (pk - action_base) + offset,
                    "source": f"{SOURCE}:actions.action:{pk}:{part}",
                    "title": "Burgernet",
                    "body": "Gegenereerd door bench_report.",
                    "urgency": "high",
                    "data": {},
                    "created_at": at,
                }

    def actions():
        for pk, kind, municipality, unit_id, lat, lon, released, ended in plan:
            unit = national if kind == Action.Kind.AMBER_ALERT else units[unit_id]
            row = {
                "id": pk,
                "verification_code": _verification_code(pk),
                "kind": kind,
                "is_time_critical": Action.default_time_critical(kind) and rng.random() < 0.95,
                "title": f"Benchmark {pk}",
                "text": "Gegenereerd door bench_report.",
                "lat": lat,
                "lon": lon,
                "radius_m": rng.choice([1000, 2000, 5000]),
                "police_unit_id": unit.pk,
                "municipality_id": municipality,
                "organisation_id": control_room.pk,
                "state": Action.State.ENDED,
                "result": _pick(rng, RESULT_WEIGHTS),
                "information_contributed": rng.random() < 0.1,
                "calls_registered": int(rng.expovariate(1.5)) if rng.random() < 0.2 else 0,
                "created_at": released - dt.timedelta(minutes=3),
                "released_at": released,
                "ended_at": ended,
                "release_message_id": message_base + 2 * (pk - action_base),
                "tips_counted": int(rng.expovariate(1.0)) if rng.random() < 0.45 else 0,
            }
            yield row

    def end_messages():
        for pk, *_rest, ended in plan:
            yield {
                "id": end_base + pk - action_base,
                "action_id": pk,
                "text": "Beëindigd.",
                "created_at": ended,
                "message_id": message_base + 2 * (pk - action_base) + 1,
            }

    made = {"messages": _insert(OutgoingMessage, messages())}
    made["actions"] = _insert(Action, actions())
    _insert(EndMessage, end_messages())
    _reset_sequences(OutgoingMessage, Action, EndMessage)
    return made


# Deliveries per message: web push most, then e-mail, SMS and voice (before the phase-out);
# nearly all sent, a few failed or stopped; receipts for SMS, voice and e-mail; a third of
# the pushes opened.
_DELIVERIES_SQL = """
INSERT INTO channels_delivery
    (message_id, channel, state, attempts, claim_token, provider_id, error, created_at,
     sent_at, opened_at, receipt, receipt_at)
SELECT m.id, c.channel,
       CASE WHEN x.s < 0.97 THEN 'sent' WHEN x.s < 0.99 THEN 'failed' ELSE 'cancelled' END,
       1, '', '', '', m.created_at,
       CASE WHEN x.s < 0.97 THEN m.created_at + interval '4 seconds' END,
       CASE WHEN c.channel = 'webpush' AND x.s < 0.97 AND x.o < 0.35
            THEN m.created_at + interval '9 minutes' END,
       CASE WHEN c.channel <> 'webpush' AND x.s < 0.97 AND x.o < 0.9 THEN 'delivered'
            ELSE '' END,
       CASE WHEN c.channel <> 'webpush' AND x.s < 0.97 AND x.o < 0.9
            THEN m.created_at + interval '20 seconds' END
FROM bench_message AS m
CROSS JOIN LATERAL generate_series(1, m.n) AS g
CROSS JOIN LATERAL (SELECT random() AS c, random() AS s, random() AS o, g AS g) AS x
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.c < 0.80 THEN 'webpush' WHEN x.c < 0.90 THEN 'email'
                WHEN x.c < 0.98 THEN 'sms' ELSE 'voice' END AS channel
) AS c
"""


def _delivery_counts(options, rng, messages) -> list[tuple[int, dt.datetime, int]]:
    weights = [rng.lognormvariate(0, 1) for _m in messages]
    total = sum(weights)
    return [
        (pk, created, max(1, round(options.deliveries * w / total)))
        for (pk, created), w in zip(messages, weights, strict=True)
    ]


def _generate_deliveries(options, rng) -> int:
    messages = list(bench_messages().order_by("pk").values_list("pk", "created_at"))
    counts = _delivery_counts(options, rng, messages)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [rng.random() * 2 - 1])
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_message (id bigint, created_at timestamptz, "
                "n int) ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY bench_message FROM STDIN") as copy:
                for row in counts:
                    copy.write_row(row)
            cursor.execute(_DELIVERIES_SQL)
            return cursor.rowcount

    def rows():
        for pk, created, n in counts:
            for _g in range(n):
                c, s, o = rng.random(), rng.random(), rng.random()
                channel = (
                    Channel.WEBPUSH
                    if c < 0.8
                    else Channel.EMAIL
                    if c < 0.9
                    else Channel.SMS
                    if c < 0.98
                    else Channel.VOICE
                )
                state = "sent" if s < 0.97 else "failed" if s < 0.99 else "cancelled"
                sent = state == "sent"
                receipt = channel != Channel.WEBPUSH and sent and o < 0.9
                yield {
                    "message_id": pk,
                    "channel": channel,
                    "state": state,
                    "attempts": 1,
                    "created_at": created,
                    "sent_at": created + dt.timedelta(seconds=4) if sent else None,
                    "opened_at": (
                        created + dt.timedelta(minutes=9)
                        if channel == Channel.WEBPUSH and sent and o < 0.35
                        else None
                    ),
                    "receipt": "delivered" if receipt else "",
                    "receipt_at": created + dt.timedelta(seconds=20) if receipt else None,
                }

    base = _next_id(Delivery)
    written = _insert(Delivery, ({"id": base + n, **row} for n, row in enumerate(rows())))
    _reset_sequences(Delivery)
    return written


def _generate_mailings(options, rng, moment, municipalities) -> int:
    organisations: dict[int, int] = {}
    base = _next_id(Mailing)
    author = governance_services.staff_user_ensure(
        username=AUTHOR, organisation=None, roles=[], password=uuid.uuid4().hex
    )

    def rows():
        for n in range(options.mailings):
            pk, _unit, _lat, _lon, _inhabitants = municipalities.draw(rng)
            if pk not in organisations:
                organisations[pk] = governance_services.organisation_ensure(
                    name=f"{MUNICIPALITY_PREFIX}{pk}",
                    kind=Organisation.Kind.MUNICIPALITY,
                    municipality=Municipality.objects.get(pk=pk),
                ).pk
            sent = moment()
            recipients = max(10, int(rng.lognormvariate(6, 1)))
            yield {
                "id": base + n,
                "kind": _pick(rng, MAIL_KIND_WEIGHTS),
                "subject": f"Benchmark {n}",
                "body": "Gegenereerd door bench_report.",
                "organisation_id": organisations[pk],
                "author_id": author.pk,
                "state": Mailing.State.SENT,
                "created_at": sent - dt.timedelta(hours=1),
                "updated_at": sent,
                "sent_at": sent,
                "recipient_count": recipients,
                "responses_counted": int(recipients * rng.random() * 0.03),
            }

    written = _insert(Mailing, rows())
    _reset_sequences(Mailing)
    return written


# --- measuring -----------------------------------------------------------------------


def _timed(seconds: list[float], fn):
    start = time.perf_counter()
    value = fn()
    seconds.append(time.perf_counter() - start)
    return value


def count_figures(options: Options, say) -> list[Timing]:
    """Count every collector's figures over the whole period (the backfill), then time the
    hourly run (the last REPORT_REFRESH_DAYS days and today's snapshot)."""
    today = timezone.localdate()
    days = _days(today - dt.timedelta(days=365 * options.years + 1), today)
    steps = []
    for name in sorted(reporting.collectors()):
        say(f"counting {name} over {len(days)} days …")
        timing = Timing(f"backfill: {name}", [])
        _timed(
            timing.seconds,
            lambda name=name: reporting.refresh(days, only=[name], beyond_horizon=True),
        )
        steps.append(timing)
    hourly = Timing("hourly refresh (all collectors)", [])
    _timed(hourly.seconds, reporting.refresh)
    steps.append(hourly)
    _analyze(DailyFigure)
    return steps


def _manager_client() -> Client:
    import django_otp
    from django.http import HttpRequest
    from django_otp.util import random_hex

    sync_roles()
    organisation = governance_services.organisation_ensure(
        name=MANAGEMENT, kind=Organisation.Kind.MANAGEMENT
    )
    user = governance_services.staff_user_ensure(
        username=MANAGER,
        organisation=organisation,
        roles=[Role.MANAGER],
        password=uuid.uuid4().hex,
    )
    device = governance_services.totp_device_ensure(user=user, key=random_hex(20))
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    request.user = user
    django_otp.login(request, device)
    request.session.save()
    return client


def report_pages() -> list[tuple[str, str]]:
    """The report pages measured: last full year and this year for the country, a police
    unit and a big municipality, and one table as CSV."""
    from django.urls import reverse

    year = timezone.localdate().year
    unit = PoliceUnit.objects.get(name="Midden-Nederland")
    utrecht = Municipality.objects.get(code="GM0344")
    page = reverse("governance:report")
    return [
        (f"report {year - 1}, country", f"{page}?jaar={year - 1}&gebied=nl"),
        (f"report {year}, country", f"{page}?jaar={year}&gebied=nl"),
        (f"report {year - 1}, Midden-Nederland", f"{page}?jaar={year - 1}&gebied=u{unit.pk}"),
        (f"report {year - 1}, Utrecht", f"{page}?jaar={year - 1}&gebied=m{utrecht.pk}"),
        (
            f"CSV participation {year - 1}, country",
            reverse("governance:report_csv", kwargs={"table": "deelname"})
            + f"?jaar={year - 1}&gebied=nl",
        ),
    ]


def measure(options: Options) -> list[Timing]:
    client = _manager_client()
    timings = []
    with override_settings(ALLOWED_HOSTS=[HOST]):
        for name, url in report_pages():
            response = client.get(url)  # warm up (caches: the map's shapes)
            if response.status_code != 200:
                raise BenchError(f"{url} answered {response.status_code}")
            queries: list[str] = []
            with connection.execute_wrapper(_counting(queries)):
                client.get(url)
            timing = Timing(name, [], size=len(response.content), queries=len(queries))
            for _n in range(options.repeat):
                _timed(timing.seconds, lambda url=url: client.get(url))
            timings.append(timing)
    return timings


def run(options: Options, *, keep: bool, reuse: bool, allow: bool, say) -> Result:
    refuse_foreign_data(allow=allow)
    result = Result()
    today = timezone.localdate()
    first = today - dt.timedelta(days=365 * options.years + 1)
    if reuse and bench_actions().exists():
        say("reusing the rows of an earlier run (--reuse)")
    else:
        purge()
        generation = Timing("generating the data", [])
        result.made = _timed(generation.seconds, lambda: generate(options, say))
        result.steps.append(generation)
    try:
        result.steps += count_figures(options, say)
        result.pages = measure(options)
    finally:
        if not keep:
            say("removing the benchmark's rows …")
            purge(first, today)
    return result
