"""The annual report (jaarverslag): its tables, built from the daily figures.

Pure functions over `reporting.figures(scope, 1 Jan of the year before, 31 Dec of the
year)`, the participants of the scope's municipalities on the last snapshot day, the
ceiling steps and the retention rules. Each section is one or more `Table`s: the page
shows a table's `cells()` and its CSV download writes the very same strings, so what is
downloaded is what is on the screen.

How figures add up (reporting.METRICS): a flow (SUM) is the sum of the days, a stock
(LAST) is its value on the last day of the period that has figures of that metric (a key
without a row that day is 0: zeros are not stored), a maximum (MAX) the largest day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import formats
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from apps.channels.models import RECIPIENT_CHANNELS, CeilingStep, Channel

from . import policy, reporting, retention
from .models import DailyFigure, Municipality, PoliceUnit

# Kinds of column: how a value is written.
TEXT = "text"
INT = "int"
PCT = "pct"  # a fraction, written as a percentage with one decimal
CHANGE = "change"  # a signed whole number
CHANGE_PCT = "change_pct"  # a signed fraction, as a percentage

PARTICIPANT_KEYS = ("registered", "sms", "voice", "email", "app")
# Participants of a municipality for the participation rate: people registered with a
# number, and devices with the web app.
RATE_KEYS = ("registered", "app")
SUCCESS_RESULTS = ("found_safe", "arrested")
# Five classes of participation; ColorBrewer "Blues" (sequential, colour-blind safe).
MAP_CLASSES = 5
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")

SORTS = ("naam", "deelnemers", "inwoners", "deelname")


class ReportInputError(ValueError):
    """A year or scope the report cannot be made for (a 400 with this message)."""


# --- formatting -----------------------------------------------------------------------


def _pct(fraction: float, *, signed: bool = False) -> str:
    """One decimal; two below 1% (a small municipality's participation, a response rate),
    where one decimal would say 0,0%."""
    places = 2 if 0 < abs(fraction) < 0.01 else 1
    text = formats.number_format(
        round(fraction * 100, places), decimal_pos=places, force_grouping=False
    )
    if signed and fraction > 0:
        text = "+" + text
    return f"{text}%"


def display(value, kind: str = INT) -> str:
    """A value as the page and the CSV write it: whole numbers plain (no grouping), shares
    (floats) as percentages with a decimal comma in Dutch, "—" where there is nothing to
    say, text as it is."""
    if value is None:
        return "—"
    if isinstance(value, str) or kind == TEXT:
        return str(value)
    if isinstance(value, float):  # every fraction in the report is a share
        return _pct(value, signed=kind == CHANGE_PCT)
    if kind == CHANGE:
        return f"+{value}" if value > 0 else str(value)
    return str(value)


@dataclass
class Column:
    label: str
    kind: str = INT
    sort: str = ""  # the sort key, in a sortable table


@dataclass
class Table:
    """One table of the report; the first column holds the row headers."""

    name: str  # its CSV's name: /jaarverslag/<name>.csv
    caption: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    note: str = ""

    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def numeric(self) -> list[bool]:
        return [c.kind != TEXT for c in self.columns]

    def body(self) -> list[list[tuple[str, bool]]]:
        """The cells with whether each is a number (right-aligned on screen)."""
        flags = self.numeric()
        return [list(zip(row, flags, strict=True)) for row in self.cells()]

    def cells(self) -> list[list[str]]:
        return [
            [display(v, c.kind) for v, c in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]


# --- adding up ------------------------------------------------------------------------


class Figures(dict):
    """The figures of one scope, by metric: {metric: [(day, key, value)]}."""

    @classmethod
    def of(cls, rows) -> Figures:
        found = cls()
        for day, metric, key, value in rows:
            found.setdefault(metric, []).append((day, key, value))
        return found


def _in(figures: Figures, metric, first, last):
    return [(d, k, v) for d, k, v in figures.get(metric, ()) if first <= d <= last]


def total(rows: Figures, metric: str, first: dt.date, last: dt.date) -> dict[str, int]:
    """key → value of `metric` over first..last, added up as the metric says."""
    how = reporting.METRICS[metric].how
    found = _in(rows, metric, first, last)
    result: dict[str, int] = defaultdict(int)
    if how == reporting.LAST:
        if not found:
            return {}
        day = max(d for d, _k, _v in found)
        for d, k, v in found:
            if d == day:
                result[k] += v
    elif how == reporting.MAX:
        for _d, k, v in found:
            result[k] = max(result[k], v)
    else:
        for _d, k, v in found:
            result[k] += v
    return dict(result)


def last_day(rows: Figures, metric: str, first: dt.date, last: dt.date):
    days = [d for d, _k, _v in _in(rows, metric, first, last)]
    return max(days) if days else None


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _change(now, before):
    if now is None or before is None:
        return None, None
    return now - before, ((now - before) / before if before else None)


def _share(part, whole):
    return part / whole if whole else None


def _ordered(labels: dict[str, str], keys) -> list[tuple[str, str]]:
    """Registered keys in registered order, then unknown keys found in the data."""
    extra = sorted(set(keys) - set(labels))
    return [(k, str(v)) for k, v in labels.items()] + [(k, k) for k in extra]


# --- scopes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportScope:
    """The area of a report: "nl", "u<unit id>" or "m<municipality id>"."""

    code: str
    name: str
    municipality_ids: tuple[int, ...]  # the municipalities shown per municipality

    @property
    def nationwide(self) -> bool:
        return self.code == reporting.NATION


def parse_scope(code: str) -> ReportScope:
    """The scope of a code; ReportInputError when it is malformed, Municipality or
    PoliceUnit.DoesNotExist when its area does not exist."""
    code = (code or "").strip()
    if code == reporting.NATION:
        ids = tuple(Municipality.objects.values_list("id", flat=True))
        return ReportScope(code, str(_("Nederland")), ids)
    if len(code) > 1 and code[0] in "um" and code[1:].isdigit() and len(code) < 12:
        pk = int(code[1:])
        if code[0] == "u":
            unit = PoliceUnit.objects.get(pk=pk, is_national=False)
            ids = tuple(unit.municipalities.values_list("id", flat=True))
            return ReportScope(code, unit.name, ids)
        municipality = Municipality.objects.get(pk=pk)
        return ReportScope(code, municipality.name, (municipality.pk,))
    raise ReportInputError(
        _("Onbekend gebied: kies het land, een politie-eenheid of een gemeente.")
    )


def parse_year(value: str, *, today: dt.date) -> int:
    value = (value or "").strip()
    if not value.isdigit() or len(value) != 4:
        raise ReportInputError(_("Geef het jaar als vier cijfers, bijvoorbeeld 2023."))
    year = int(value)
    if not 2000 <= year <= today.year:
        raise ReportInputError(_("Er is geen jaarverslag over dat jaar."))
    return year


# --- sections -------------------------------------------------------------------------


def _participant_label(key: str) -> str:
    labels = {
        "registered": _("geregistreerde deelnemers"),
        "sms": Channel.SMS.label,
        "voice": Channel.VOICE.label,
        "email": Channel.EMAIL.label,
        "app": _("web-app"),
    }
    return str(labels.get(key, key))


def participants_table(rows, year: int) -> Table:
    now = total(rows, "participants", *year_bounds(year))
    before = total(rows, "participants", *year_bounds(year - 1))
    day = last_day(rows, "participants", *year_bounds(year))
    table = Table(
        "deelnemers",
        _("Deelnemers per kanaal aan het eind van het jaar"),
        [
            Column(_("Kanaal"), TEXT),
            Column(str(year)),
            Column(str(year - 1)),
            Column(_("Verschil"), CHANGE),
            Column(_("Verschil in %"), CHANGE_PCT),
        ],
    )
    for key in PARTICIPANT_KEYS:
        a = now.get(key, 0) if now else None
        b = before.get(key, 0) if before else None
        table.rows.append([_participant_label(key), a, b, *_change(a, b)])
    if day:
        table.note = _("Stand op %(day)s.") % {"day": formats.date_format(day, "DATE_FORMAT")}
    return table


@dataclass
class Participation:
    municipality: Municipality
    participants: int
    rate: float | None
    band: int | None  # 1..MAP_CLASSES, None when the rate is unknown


def participation(scope: ReportScope, rows, year: int) -> tuple[list[Participation], list]:
    """Participation per municipality of the scope on the scope's last snapshot day of the
    year (one query), and the class bounds [(low, high)] of the map."""
    day = last_day(rows, "participants", *year_bounds(year))
    municipalities = Municipality.objects.filter(pk__in=scope.municipality_ids).only(
        "id", "name", "code", "inhabitants"
    )
    counts: dict[int, int] = defaultdict(int)
    if day is not None:
        figures = DailyFigure.objects.filter(
            metric="participants", day=day, key__in=RATE_KEYS, scope__startswith="m"
        )
        if not scope.nationwide:
            figures = figures.filter(
                scope__in=[reporting.municipality_scope(pk) for pk in scope.municipality_ids]
            )
        for code, value in figures.values_list("scope", "value"):
            counts[int(code[1:])] += value
    found = []
    for m in municipalities:
        n = counts.get(m.pk, 0)
        rate = n / m.inhabitants if m.inhabitants else None
        found.append(Participation(m, n, rate, None))
    known = [p.rate for p in found if p.rate is not None]
    top = max(known) if known else 0
    bounds = [(top * i / MAP_CLASSES, top * (i + 1) / MAP_CLASSES) for i in range(MAP_CLASSES)]
    for p in found:
        if p.rate is not None:
            p.band = 1 if not top else min(MAP_CLASSES, int(p.rate / top * MAP_CLASSES) + 1)
    return found, bounds


def sort_participation(found: list[Participation], sort: str) -> list[Participation]:
    """Sorted by "naam", "deelnemers", "inwoners" or "deelname" ("-" first: descending);
    unknown values last either way."""
    descending = sort.startswith("-")
    what = sort.lstrip("-")
    if what not in SORTS:
        raise ReportInputError(_("Onbekende sortering."))
    if what == "naam":
        return sorted(found, key=lambda p: p.municipality.name.lower(), reverse=descending)
    attr = {
        "deelnemers": lambda p: p.participants,
        "inwoners": lambda p: p.municipality.inhabitants,
        "deelname": lambda p: p.rate,
    }[what]
    known = [p for p in found if attr(p) is not None]
    unknown = [p for p in found if attr(p) is None]
    known.sort(key=lambda p: (attr(p), p.municipality.name.lower()), reverse=descending)
    return known + sorted(unknown, key=lambda p: p.municipality.name.lower())


def participation_table(found: list[Participation]) -> Table:
    table = Table(
        "deelname",
        _("Deelname per gemeente: deelnemers (geregistreerd en web-app) per inwoner"),
        [
            Column(_("Gemeente"), TEXT, "naam"),
            Column(_("Deelnemers"), INT, "deelnemers"),
            Column(_("Inwoners"), INT, "inwoners"),
            Column(_("Deelname"), PCT, "deelname"),
        ],
    )
    for p in found:
        rate = p.rate if p.rate is not None else str(_("onbekend"))
        table.rows.append([p.municipality.name, p.participants, p.municipality.inhabitants, rate])
    return table


def _kinds(rows, *metrics):
    keys = {k for m in metrics for _d, k, _v in rows.get(m, ())}
    return _ordered(reporting.key_labels("kind"), keys)


def action_tables(rows, year: int) -> list[Table]:
    this, prev = year_bounds(year), year_bounds(year - 1)
    actions, actions_before = total(rows, "actions", *this), total(rows, "actions", *prev)
    tc, tc_before = total(rows, "actions_tc", *this), total(rows, "actions_tc", *prev)
    high = reporting.key_group("high_impact")

    def summary(a, t):
        all_, crit = sum(a.values()), sum(t.values())
        return [all_, crit, all_ - crit, _share(sum(v for k, v in t.items() if k in high), crit)]

    now, before = summary(actions, tc), summary(actions_before, tc_before)
    overview = Table(
        "acties",
        _("Burgernetacties"),
        [
            Column(_("Acties"), TEXT),
            Column(str(year)),
            Column(str(year - 1)),
            Column(_("Verschil"), CHANGE),
            Column(_("Verschil in %"), CHANGE_PCT),
        ],
    )
    labels = [_("alle acties"), _("tijdkritisch"), _("niet tijdkritisch")]
    for label, a, b in zip(labels, now, before, strict=False):
        overview.rows.append([str(label), a, b, *_change(a, b)])
    overview.rows.append(
        [str(_("aandeel high-impact (overval, inbraak) in tijdkritisch")), now[3], before[3]]
        + [None, None]
    )
    by_kind = Table(
        "acties-soort",
        _("Burgernetacties per soort"),
        [
            Column(_("Soort"), TEXT),
            Column(_("Acties")),
            Column(_("Tijdkritisch")),
            Column(_("Niet tijdkritisch")),
            Column(_("Vorig jaar")),
            Column(_("Verschil"), CHANGE),
        ],
    )
    for key, label in _kinds(rows, "actions", "actions_tc"):
        a, t, b = actions.get(key, 0), tc.get(key, 0), actions_before.get(key, 0)
        by_kind.rows.append([label, a, t, a - t, b, a - b])
    by_month = Table(
        "acties-maand",
        _("Burgernetacties per maand"),
        [
            Column(_("Maand"), TEXT),
            Column(str(year)),
            Column(_("Tijdkritisch")),
            Column(str(year - 1)),
            Column(_("Verschil"), CHANGE),
        ],
    )
    for month in range(1, 13):
        a = sum(total(rows, "actions", *month_bounds(year, month)).values())
        t = sum(total(rows, "actions_tc", *month_bounds(year, month)).values())
        b = sum(total(rows, "actions", *month_bounds(year - 1, month)).values())
        by_month.rows.append([str(MONTHS[month]), a, t, b, a - b])
    return [overview, by_kind, by_month]


def reach_tables(rows, year: int) -> list[Table]:
    this = year_bounds(year)
    sent = total(rows, "messages", *this)
    delivered = total(rows, "messages_delivered", *this)
    opened = total(rows, "messages_opened", *this)
    messages = Table(
        "berichten",
        _("Berichten van acties per kanaal"),
        [
            Column(_("Kanaal"), TEXT),
            Column(_("Verzonden")),
            Column(_("Afgeleverd")),
            Column(_("Afgeleverd in %"), PCT),
            Column(_("Geopend in de app")),
        ],
    )
    used = set(sent) | set(delivered) | set(opened)
    for channel in Channel:
        if channel in RECIPIENT_CHANNELS or channel.value in used:
            s, d = sent.get(channel.value, 0), delivered.get(channel.value, 0)
            o = opened.get(channel.value, 0)
            messages.rows.append([str(channel.label), s, d, _share(d, s), o])

    reactions = total(rows, "reactions", *this)
    tc = sum(total(rows, "actions_tc", *this).values())
    reacted = sum(total(rows, "actions_tc_reacted", *this).values())
    contributed = sum(total(rows, "actions_tc_contributed", *this).values())
    reaction_table = Table(
        "reacties",
        _("Reacties van deelnemers"),
        [Column(_("Reacties"), TEXT), Column(_("Aantal")), Column(_("Aandeel"), PCT)],
    )
    reaction_table.rows += [
        [str(_("tips")), reactions.get("tips", 0), None],
        [str(_("telefonische reacties")), reactions.get("calls", 0), None],
        [str(_("tijdkritische acties")), tc, None],
        [str(_("tijdkritische acties met minstens één reactie")), reacted, _share(reacted, tc)],
        [
            str(_("tijdkritische acties waarin informatie van deelnemers bijdroeg")),
            contributed,
            _share(contributed, tc),
        ],
    ]

    actions = total(rows, "actions", *this)
    results = total(rows, "actions_result", *this)
    by_kind: dict[str, dict[str, int]] = defaultdict(dict)
    for composite, value in results.items():
        kind, _sep, result = composite.partition(":")
        by_kind[kind][result] = value
    result_labels = reporting.key_labels("result")
    success = Table(
        "succes",
        _("Resultaat per soort actie"),
        [
            Column(_("Soort"), TEXT),
            Column(_("Acties")),
            Column(str(result_labels.get("found_safe", _("gevonden"))).capitalize()),
            Column(str(result_labels.get("arrested", _("aangehouden"))).capitalize()),
            Column(_("Succes"), PCT),
        ],
    )
    for key, label in _ordered(reporting.key_labels("kind"), set(actions) | set(by_kind)):
        a = actions.get(key, 0)
        found, arrested = by_kind[key].get("found_safe", 0), by_kind[key].get("arrested", 0)
        if a or found or arrested:
            success.rows.append([label, a, found, arrested, _share(found + arrested, a)])
    a = sum(actions.values())
    found = sum(r.get("found_safe", 0) for r in by_kind.values())
    arrested = sum(r.get("arrested", 0) for r in by_kind.values())
    success.rows.append([str(_("alle soorten")), a, found, arrested, _share(found + arrested, a)])
    return [messages, reaction_table, success]


def mail_table(rows, year: int) -> Table:
    this = year_bounds(year)
    mailings = total(rows, "mailings", *this)
    recipients = total(rows, "mail_recipients", *this)
    responses = total(rows, "mail_responses", *this)
    table = Table(
        "mail",
        _("Burgernetmail per soort"),
        [
            Column(_("Soort"), TEXT),
            Column(_("Mailings")),
            Column(_("Ontvangers")),
            Column(_("Reacties")),
            Column(_("Respons"), PCT),
        ],
    )
    keys = set(mailings) | set(recipients) | set(responses)
    for key, label in _ordered(reporting.key_labels("mail kind"), keys):
        r, s = recipients.get(key, 0), responses.get(key, 0)
        table.rows.append([label, mailings.get(key, 0), r, s, _share(s, r)])
    r, s = sum(recipients.values()), sum(responses.values())
    table.rows.append([str(_("alle soorten")), sum(mailings.values()), r, s, _share(s, r)])
    return table


def ceiling_on(steps: list[CeilingStep], channel: str, day: dt.date):
    """The ceiling in force on `day` (the latest step starting on or before it): a number,
    or None for no ceiling."""
    found = None
    for step in steps:
        later = found is None or step.starts_on >= found.starts_on
        if step.channel == channel and step.starts_on <= day and later:
            found = step
    return found.max_recipients if found else None


def channel_table(rows, year: int, steps: list[CeilingStep]) -> Table:
    table = Table(
        "kanalen",
        _("Verzendingen per kanaal en maand, naast het plafond"),
        [
            Column(_("Maand"), TEXT),
            Column(_("Kanaal"), TEXT),
            Column(_("Verzendingen")),
            Column(_("Plafond per bericht")),
            Column(_("Grootste bericht")),
        ],
    )
    year_sends = total(rows, "sends", *year_bounds(year))
    channels = [c for c in Channel if c in RECIPIENT_CHANNELS or year_sends.get(c.value)]
    for month in range(1, 13):
        first, last = month_bounds(year, month)
        sends = total(rows, "sends", first, last)
        largest = total(rows, "sends_largest", first, last)
        for channel in channels:
            ceiling = ceiling_on(steps, channel.value, last)
            table.rows.append(
                [
                    str(MONTHS[month]),
                    str(channel.label),
                    sends.get(channel.value, 0),
                    ceiling if ceiling is not None else str(_("geen plafond")),
                    largest.get(channel.value, 0),
                ]
            )
    return table


def deleted_table(rows, year: int) -> Table:
    deleted = total(rows, "deleted", *year_bounds(year))
    table = Table(
        "verwijderd",
        _("Verwijderd volgens de bewaartermijnen"),
        [Column(_("Gegevens"), TEXT), Column(_("Verwijderd"))],
    )
    labels = {rule.name: str(rule.label) for rule in retention.rules()}
    for key, label in _ordered(labels, deleted):
        table.rows.append([label, deleted.get(key, 0)])
    table.rows.append([str(_("totaal")), sum(deleted.values())])
    return table


# --- the whole report -----------------------------------------------------------------


@dataclass
class Report:
    year: int
    scope: ReportScope
    participants: Table
    participation: list[Participation]
    participation_table: Table
    bounds: list[tuple[float, float]]
    actions: list[Table]
    reach: list[Table]
    mail: Table
    channels: Table | None
    deleted: Table | None

    def tables(self) -> dict[str, Table]:
        found = [self.participants, self.participation_table, *self.actions, *self.reach]
        found += [self.mail, self.channels, self.deleted]
        return {t.name: t for t in found if t is not None}


TABLE_NAMES = (
    "deelnemers",
    "deelname",
    "acties",
    "acties-soort",
    "acties-maand",
    "berichten",
    "reacties",
    "succes",
    "mail",
    "kanalen",
    "verwijderd",
)
NATIONAL_TABLES = ("kanalen", "verwijderd")


def build(scope: ReportScope, year: int, *, sort: str = "naam") -> Report:
    """The whole report of one scope and year: one read of the figures, one of the
    municipalities' participants, one of the ceilings (national only)."""
    rows = Figures.of(reporting.figures(scope.code, dt.date(year - 1, 1, 1), dt.date(year, 12, 31)))
    found, bounds = participation(scope, rows, year)
    found = sort_participation(found, sort)
    actions = action_tables(rows, year)
    return Report(
        year=year,
        scope=scope,
        participants=participants_table(rows, year),
        participation=found,
        participation_table=participation_table(found),
        bounds=bounds,
        actions=actions,
        reach=reach_tables(rows, year),
        mail=mail_table(rows, year),
        channels=(
            channel_table(rows, year, list(CeilingStep.objects.all())) if scope.nationwide else None
        ),
        deleted=deleted_table(rows, year) if scope.nationwide else None,
    )


# --- who may see what -----------------------------------------------------------------

VERB = "report.view"


def policy_scope(scope: ReportScope):
    """The policy's scope of a report's area: the country, or its municipalities."""
    if scope.nationwide:
        return policy.Scope.nation()
    return policy.Scope.of_municipalities(scope.municipality_ids)


def may_view(user, scope: ReportScope) -> bool:
    return policy.can(user, VERB, policy_scope(scope))


@dataclass
class Choices:
    """The areas a user may open a report of, for the chooser."""

    nation: bool
    units: list[PoliceUnit]
    municipalities: list[Municipality]

    def default(self) -> str:
        if self.nation:
            return reporting.NATION
        if self.units:
            return reporting.unit_scope(self.units[0].pk)
        if self.municipalities:
            return reporting.municipality_scope(self.municipalities[0].pk)
        return ""


def choices_for(user) -> Choices:
    """The country (country-wide managers), the police units all of whose municipalities
    the user covers, and those municipalities."""
    if not policy.has_role_for(user, VERB):
        return Choices(False, [], [])
    mine = policy.user_scope(user)
    municipalities = Municipality.objects.only("id", "name", "police_unit_id").order_by("name")
    if not mine.nationwide:
        municipalities = municipalities.filter(pk__in=mine.municipality_ids)
    municipalities = list(municipalities)
    per_unit: dict[int, set[int]] = defaultdict(set)
    for unit_id, pk in Municipality.objects.values_list("police_unit_id", "id"):
        per_unit[unit_id].add(pk)
    covered = {m.pk for m in municipalities}
    units = [
        unit
        for unit in PoliceUnit.objects.filter(is_national=False).order_by("name")
        if per_unit[unit.pk] and per_unit[unit.pk] <= covered
    ]
    return Choices(mine.nationwide, units, municipalities)
