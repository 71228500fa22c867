"""The annual report's builder (apps/governance/report.py) on a fixed set of daily figures
whose every table is known in advance."""

import datetime as dt

import pytest

from apps.channels.models import CeilingStep
from apps.governance import report, reporting
from apps.governance.models import DailyFigure, Municipality, PoliceUnit

pytestmark = pytest.mark.django_db

D = dt.date


def _rows(scope: str, *figures):
    return [DailyFigure(day=d, scope=scope, metric=m, key=k, value=v) for d, m, k, v in figures]


@pytest.fixture
def figures(geography):
    """Two years (2022, 2023) of national figures, a few of Midden-Nederland and of three
    municipalities: Woerden (50,000 inhabitants), Utrecht (360,000), Amsterdam (unknown)."""
    mn = PoliceUnit.objects.get(name="Midden-Nederland")
    ams_unit = PoliceUnit.objects.get(name="Amsterdam")
    woerden = Municipality.objects.get(code="GM0632")
    utrecht = Municipality.objects.get(code="GM0344")
    amsterdam = Municipality.objects.get(code="GM0363")
    Municipality.objects.filter(pk=woerden.pk).update(inhabitants=50_000)
    Municipality.objects.filter(pk=utrecht.pk).update(inhabitants=360_000)
    Municipality.objects.filter(pk=amsterdam.pk).update(inhabitants=None)
    nl = _rows(
        "nl",
        # participants: the last day of 2022 with figures is 30 December
        (D(2022, 6, 30), "participants", "registered", 900),
        (D(2022, 12, 30), "participants", "registered", 1000),
        (D(2022, 12, 30), "participants", "sms", 800),
        (D(2022, 12, 30), "participants", "voice", 100),
        (D(2022, 12, 30), "participants", "email", 300),
        (D(2022, 12, 30), "participants", "app", 200),
        (D(2023, 6, 30), "participants", "registered", 5),
        (D(2023, 12, 31), "participants", "registered", 1100),
        (D(2023, 12, 31), "participants", "sms", 700),
        (D(2023, 12, 31), "participants", "email", 400),
        (D(2023, 12, 31), "participants", "app", 300),
        (D(2024, 1, 1), "participants", "registered", 77_777),
        # actions
        (D(2022, 1, 20), "actions", "robbery", 4),
        (D(2022, 7, 1), "actions", "other", 1),
        (D(2023, 1, 15), "actions", "robbery", 3),
        (D(2023, 1, 15), "actions", "missing_child", 2),
        (D(2023, 1, 15), "actions_tc", "robbery", 3),
        (D(2023, 1, 15), "actions_tc", "missing_child", 1),
        (D(2023, 3, 10), "actions", "burglary", 5),
        (D(2023, 3, 10), "actions_tc", "burglary", 2),
        (D(2023, 1, 15), "actions_tc_reacted", "robbery", 3),
        (D(2023, 1, 15), "actions_tc_contributed", "robbery", 1),
        (D(2023, 1, 15), "actions_result", "robbery:arrested", 2),
        (D(2023, 1, 15), "actions_result", "robbery:not_found", 1),
        (D(2023, 1, 15), "actions_result", "missing_child:found_safe", 2),
        (D(2023, 3, 10), "actions_result", "burglary:other", 1),
        (D(2023, 1, 15), "reactions", "tips", 7),
        (D(2023, 3, 10), "reactions", "calls", 2),
        # messages
        (D(2023, 1, 15), "messages", "sms", 100),
        (D(2023, 1, 15), "messages_delivered", "sms", 90),
        (D(2023, 1, 15), "messages", "webpush", 50),
        (D(2023, 1, 15), "messages_delivered", "webpush", 50),
        (D(2023, 1, 15), "messages_opened", "webpush", 20),
        # Burgernetmail
        (D(2023, 4, 1), "mailings", "inquiry", 2),
        (D(2023, 4, 1), "mail_recipients", "inquiry", 400),
        (D(2023, 4, 1), "mail_responses", "inquiry", 10),
        (D(2023, 4, 1), "mailings", "informative", 1),
        (D(2023, 4, 1), "mail_recipients", "informative", 1000),
        # sends against the ceiling
        (D(2023, 2, 10), "sends", "sms", 5000),
        (D(2023, 2, 10), "sends_largest", "sms", 3000),
        (D(2023, 2, 11), "sends", "sms", 1000),
        (D(2023, 2, 11), "sends_largest", "sms", 1000),
        (D(2023, 7, 3), "sends", "sms", 1400),
        (D(2023, 7, 3), "sends_largest", "sms", 1400),
        # retention
        (D(2022, 5, 1), "deleted", "audit", 99),
        (D(2023, 5, 1), "deleted", "audit", 12),
    )
    unit = _rows(
        f"u{mn.pk}",
        (D(2022, 12, 31), "participants", "registered", 4000),
        (D(2023, 12, 31), "participants", "registered", 4600),
        (D(2023, 12, 31), "participants", "app", 500),
        (D(2023, 1, 15), "actions", "robbery", 1),
        (D(2023, 1, 15), "actions_tc", "robbery", 1),
    )
    other_unit = _rows(f"u{ams_unit.pk}", (D(2023, 1, 15), "actions", "robbery", 2))
    towns = [
        *_rows(
            f"m{woerden.pk}",
            (D(2023, 6, 30), "participants", "registered", 9999),
            (D(2023, 12, 31), "participants", "registered", 1000),
            (D(2023, 12, 31), "participants", "app", 500),
            (D(2023, 12, 31), "participants", "sms", 400),  # not in the rate
            (D(2023, 1, 15), "actions", "robbery", 1),
        ),
        *_rows(f"m{utrecht.pk}", (D(2023, 12, 31), "participants", "registered", 3600)),
        *_rows(f"m{amsterdam.pk}", (D(2023, 12, 31), "participants", "registered", 100)),
    ]
    DailyFigure.objects.bulk_create(nl + unit + other_unit + towns)
    CeilingStep.objects.bulk_create(
        [
            CeilingStep(channel="sms", starts_on=D(2023, 3, 1), max_recipients=3000),
            CeilingStep(channel="sms", starts_on=D(2023, 6, 1), max_recipients=1500),
            CeilingStep(channel="sms", starts_on=D(2023, 9, 1), max_recipients=0),
            CeilingStep(channel="voice", starts_on=D(2023, 1, 1), max_recipients=None),
        ]
    )
    return {"mn": mn, "woerden": woerden, "utrecht": utrecht, "amsterdam": amsterdam}


def national(year=2023, sort="naam"):
    return report.build(report.parse_scope("nl"), year, sort=sort)


def row(table, header):
    (found,) = [r for r in table.cells() if r[0] == header]
    return found


def test_participants_at_year_end_are_the_last_day_with_figures_against_the_year_before(
    figures,
):
    table = national().tables()["deelnemers"]
    assert table.header() == ["Kanaal", "2023", "2022", "Verschil", "Verschil in %"]
    assert table.cells() == [
        ["geregistreerde deelnemers", "1100", "1000", "+100", "+10,0%"],
        ["sms", "700", "800", "-100", "-12,5%"],
        ["gesproken bericht", "0", "100", "-100", "-100,0%"],
        ["e-mail", "400", "300", "+100", "+33,3%"],
        ["web-app", "300", "200", "+100", "+50,0%"],
    ]
    assert "31 dec 2023" in table.note


def test_a_year_without_figures_has_no_stock_rather_than_zero(figures):
    table = national(2022).tables()["deelnemers"]
    assert row(table, "sms") == ["sms", "800", "—", "—", "—"]


def test_participation_is_registered_and_app_per_inhabitant_on_the_last_snapshot_day(figures):
    unit = report.parse_scope(f"u{figures['mn'].pk}")
    built = report.build(unit, 2023)
    by_name = {r[0]: r for r in built.tables()["deelname"].cells()}
    assert by_name["Woerden"] == ["Woerden", "1500", "50000", "3,0%"]
    assert by_name["Utrecht"] == ["Utrecht", "3600", "360000", "1,0%"]
    assert "Amsterdam" not in by_name  # another unit's
    assert set(by_name) == set(
        Municipality.objects.filter(police_unit=figures["mn"]).values_list("name", flat=True)
    )
    bands = {p.municipality.name: p.band for p in built.participation}
    assert bands["Woerden"] == 5  # the highest rate
    assert bands["Utrecht"] == 2  # 1.0% of a top of 3.0%: the second of five classes
    assert built.bounds[0] == (0, pytest.approx(0.006))


def test_a_municipality_without_inhabitants_has_an_unknown_rate_sorted_last(figures):
    built = national(sort="-deelname")
    cells = built.tables()["deelname"].cells()
    assert cells[0] == ["Woerden", "1500", "50000", "3,0%"]
    assert cells[1] == ["Utrecht", "3600", "360000", "1,0%"]
    amsterdam = row(built.tables()["deelname"], "Amsterdam")
    assert amsterdam == ["Amsterdam", "100", "—", "onbekend"]
    assert cells.index(amsterdam) > max(i for i, r in enumerate(cells) if r[3] != "onbekend")
    assert {p.municipality.name: p.band for p in built.participation}["Amsterdam"] is None
    names = [r[0] for r in national(sort="naam").tables()["deelname"].cells()]
    assert names == sorted(names, key=str.lower)
    assert len(names) == Municipality.objects.count()


def test_actions_overview_per_kind_and_per_month_against_the_year_before(figures):
    overview, by_kind, by_month = national().actions
    assert overview.cells() == [
        ["alle acties", "10", "5", "+5", "+100,0%"],
        ["tijdkritisch", "6", "0", "+6", "—"],
        ["niet tijdkritisch", "4", "5", "-1", "-20,0%"],
        ["aandeel high-impact (overval, inbraak) in tijdkritisch", "83,3%", "—", "—", "—"],
    ]
    assert row(by_kind, "vermist kind") == ["vermist kind", "2", "1", "1", "0", "+2"]
    assert row(by_kind, "overval") == ["overval", "3", "3", "0", "4", "-1"]
    burglary = "inbraak / insluiping"
    assert row(by_kind, burglary) == [burglary, "5", "2", "3", "0", "+5"]
    assert row(by_kind, "overig") == ["overig", "0", "0", "0", "1", "-1"]
    assert [r[0] for r in by_kind.cells()] == list(reporting.key_labels("kind").values())
    assert len(by_month.rows) == 12
    assert row(by_month, "januari") == ["januari", "5", "4", "4", "+1"]
    assert row(by_month, "maart") == ["maart", "5", "2", "0", "+5"]
    assert row(by_month, "juli") == ["juli", "0", "0", "1", "-1"]


def test_reach_reactions_and_success_per_kind(figures):
    messages, reactions, success = national().reach
    assert row(messages, "sms") == ["sms", "100", "90", "90,0%", "0"]
    assert row(messages, "web-app (push)") == ["web-app (push)", "50", "50", "100,0%", "20"]
    assert row(messages, "e-mail") == ["e-mail", "0", "0", "—", "0"]
    assert reactions.cells() == [
        ["tips", "7", "—"],
        ["telefonische reacties", "2", "—"],
        ["tijdkritische acties", "6", "—"],
        ["tijdkritische acties met minstens één reactie", "3", "50,0%"],
        ["tijdkritische acties waarin informatie van deelnemers bijdroeg", "1", "16,7%"],
    ]
    assert success.header() == ["Soort", "Acties", "Gevonden", "Aangehouden", "Succes"]
    assert success.cells() == [
        ["vermist kind", "2", "2", "0", "100,0%"],
        ["overval", "3", "0", "2", "66,7%"],
        ["inbraak / insluiping", "5", "0", "0", "0,0%"],
        ["alle soorten", "10", "2", "2", "40,0%"],
    ]


def test_burgernetmail_per_kind_with_the_response_rate(figures):
    assert national().mail.cells() == [
        ["buurtonderzoek", "2", "400", "10", "2,5%"],
        ["preventief", "0", "0", "0", "—"],
        ["informatief", "1", "1000", "0", "0,0%"],
        ["crisis", "0", "0", "0", "—"],
        ["alle soorten", "3", "1400", "10", "0,71%"],
    ]


def test_sends_per_month_stand_beside_the_ceiling_in_force_at_the_months_end(figures):
    table = national().channels
    rows = {(r[0], r[1]): r[2:] for r in table.cells()}
    assert len(table.rows) == 12 * 4  # the four channels that reach people
    assert rows[("februari", "sms")] == ["6000", "geen plafond", "3000"]
    assert rows[("maart", "sms")] == ["0", "3000", "0"]
    assert rows[("juli", "sms")] == ["1400", "1500", "1400"]
    assert rows[("september", "sms")] == ["0", "0", "0"]
    assert rows[("juli", "gesproken bericht")] == ["0", "geen plafond", "0"]
    assert rows[("juli", "e-mail")] == ["0", "geen plafond", "0"]


def test_deleted_per_retention_rule_in_the_year(figures):
    table = national().deleted
    assert row(table, "Auditregels") == ["Auditregels", "12"]
    assert table.cells()[-1] == ["totaal", "12"]


def test_a_unit_report_counts_the_units_figures_and_has_no_national_tables(figures):
    built = report.build(report.parse_scope(f"u{figures['mn'].pk}"), 2023)
    assert built.actions[0].cells()[0] == ["alle acties", "1", "0", "+1", "—"]
    assert row(built.participants, "geregistreerde deelnemers")[1:3] == ["4600", "4000"]
    assert "kanalen" not in built.tables() and "verwijderd" not in built.tables()


def test_scopes_and_years_that_do_not_parse_are_refused(figures):
    today = D(2026, 12, 4)
    for bad in ("", "x5", "u", "mabc", "u1x", "nl "[:1]):
        with pytest.raises(report.ReportInputError):
            report.parse_scope(bad)
    with pytest.raises(PoliceUnit.DoesNotExist):
        report.parse_scope("u999999")
    national_unit = PoliceUnit.objects.get(is_national=True)
    with pytest.raises(PoliceUnit.DoesNotExist):
        report.parse_scope(f"u{national_unit.pk}")
    with pytest.raises(Municipality.DoesNotExist):
        report.parse_scope("m999999")
    for bad in ("", "23", "twee", "2027", "1999", "20233"):
        with pytest.raises(report.ReportInputError):
            report.parse_year(bad, today=today)
    assert report.parse_year("2023", today=today) == 2023
    with pytest.raises(report.ReportInputError):
        report.sort_participation([], "postcode")


def test_the_report_reads_the_figures_in_a_few_queries(figures, django_assert_max_num_queries):
    scope = report.parse_scope("nl")
    with django_assert_max_num_queries(5):
        report.build(scope, 2023)
