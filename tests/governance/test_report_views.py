"""The annual report's pages: the tables on screen equal the builder's and their CSV, who
may see which area, and what bad input gets."""

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from apps.governance import report
from apps.governance.models import AuditEntry, Municipality
from apps.governance.report_map import shapes
from apps.governance.roles import Role
from tests.governance.test_report import figures  # noqa: F401 - the fixed data set

pytestmark = pytest.mark.django_db

URL = reverse("governance:report")


def csv_url(table):
    return reverse("governance:report_csv", args=[table])


class _Tables(HTMLParser):
    """The text of every <table id="table-..."> cell, row by row; header links' hidden
    hints left out."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current = None
        self.cell = None
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") or "").startswith("table-"):
            self.current = self.tables.setdefault(attrs["id"][6:], [])
        elif self.current is not None and tag == "tr":
            self.current.append([])
        elif self.current is not None and tag in ("th", "td"):
            self.cell = []
        elif self.cell is not None and tag == "span":
            self.hidden += "visually-hidden" in (attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None
        elif tag in ("th", "td") and self.cell is not None:
            self.current[-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "span" and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if self.cell is not None and not self.hidden:
            self.cell.append(data)


def screen_tables(response) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def scope_options(page: str) -> list[str]:
    """The values the area chooser offers."""
    chooser = page[page.index('id="report-scope"') :]
    chooser = chooser[: chooser.index("</select>")]
    return re.findall(r'<option value="([^"]+)"', chooser)


def csv_rows(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def unit_manager(make_staff_user, org_control_room_mn):
    return make_staff_user("beheer-mn", org_control_room_mn, [Role.MANAGER])


@pytest.fixture
def woerden_manager(make_staff_user, org_woerden):
    return make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])


def test_every_table_on_screen_is_the_builders_and_its_csv_the_screens(
    figures,  # noqa: F811
    manager,
    staff_client,
):
    client = staff_client(manager)
    response = client.get(URL, {"jaar": 2023, "gebied": "nl", "sorteer": "-deelname"})
    assert response.status_code == 200
    on_screen = screen_tables(response)
    built = report.build(report.parse_scope("nl"), 2023, sort="-deelname").tables()
    assert set(on_screen) == set(report.TABLE_NAMES) == set(built)
    for name, table in built.items():
        assert on_screen[name] == [table.header(), *table.cells()], name
        download = client.get(csv_url(name), {"jaar": 2023, "gebied": "nl", "sorteer": "-deelname"})
        assert download.status_code == 200
        assert download["Content-Type"] == "text/csv; charset=utf-8"
        assert f"jaarverslag-2023-nl-{name}.csv" in download["Content-Disposition"]
        assert csv_rows(download) == on_screen[name], name
    assert on_screen["deelnemers"][1] == [
        "geregistreerde deelnemers",
        "1100",
        "1000",
        "+100",
        "+10,0%",
    ]
    assert on_screen["deelname"][1] == ["Woerden", "1500", "50000", "3,0%"]
    assert AuditEntry.objects.filter(verb="report.viewed", actor=manager).exists()
    assert AuditEntry.objects.filter(verb="report.exported", detail__table="mail").exists()


def test_the_participation_table_sorts_by_a_header_link_with_aria_sort(
    figures,  # noqa: F811
    manager,
    staff_client,
):
    client = staff_client(manager)
    page = client.get(URL, {"jaar": 2023, "gebied": "nl", "sorteer": "deelname"}).content.decode()
    assert 'aria-sort="ascending"' in page
    assert "sorteer=-deelname#deelname" in page  # the next click sorts descending
    page = client.get(URL, {"jaar": 2023, "gebied": "nl", "sorteer": "-deelname"}).content.decode()
    assert 'aria-sort="descending"' in page
    names = [
        r[0]
        for r in screen_tables(client.get(URL, {"jaar": 2023, "gebied": "nl", "sorteer": "-naam"}))[
            "deelname"
        ][1:]
    ]
    assert names == sorted(names, key=str.lower, reverse=True)


def test_the_map_has_a_path_per_municipality_of_the_scope_in_its_class(
    figures,  # noqa: F811
    manager,
    staff_client,
):
    mn = figures["mn"]
    page = staff_client(manager).get(URL, {"jaar": 2023, "gebied": f"u{mn.pk}"}).content.decode()
    codes = set(Municipality.objects.filter(police_unit=mn).values_list("code", flat=True))
    assert codes <= set(shapes())
    assert page.count('<path class="municipality ') == len(codes)
    assert '<path class="municipality band-5" data-code="GM0632"' in page  # Woerden, 3.0%
    assert '<path class="municipality band-2" data-code="GM0344"' in page  # Utrecht, 1.0%
    assert 'data-code="GM0363"' not in page  # Amsterdam lies outside
    assert "<title>Woerden: 3,0%</title>" in page
    assert 'role="img"' in page and 'id="map-title"' in page
    assert "Kaart: CBS / PDOK, CC-BY 4.0" in page


def test_a_municipal_manager_sees_its_own_municipality_and_nothing_else(
    figures,  # noqa: F811
    woerden_manager,
    staff_client,
):
    woerden, utrecht = figures["woerden"], figures["utrecht"]
    client = staff_client(woerden_manager)
    response = client.get(URL, {"jaar": 2023})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Jaarverslag 2023 – Woerden" in page
    assert f'<option value="m{woerden.pk}" selected>Woerden</option>' in page
    assert scope_options(page) == [f"m{woerden.pk}"]
    assert page.count('<path class="municipality ') == 1
    tables = screen_tables(response)
    assert tables["deelname"][1:] == [["Woerden", "1500", "50000", "3,0%"]]
    assert tables["acties"][1] == ["alle acties", "1", "0", "+1", "—"]
    assert "kanalen" not in tables
    for scope in ("nl", f"u{figures['mn'].pk}", f"m{utrecht.pk}"):
        assert client.get(URL, {"jaar": 2023, "gebied": scope}).status_code == 403
        assert client.get(csv_url("acties"), {"jaar": 2023, "gebied": scope}).status_code == 403


def test_a_control_room_manager_sees_its_unit_and_its_municipalities(
    figures,  # noqa: F811
    unit_manager,
    staff_client,
):
    mn, amsterdam = figures["mn"], figures["amsterdam"]
    client = staff_client(unit_manager)
    page = client.get(URL, {"jaar": 2023}).content.decode()
    assert "Jaarverslag 2023 – Midden-Nederland" in page
    options = scope_options(page)
    assert "nl" not in options and options[0] == f"u{mn.pk}"
    assert f"m{figures['woerden'].pk}" in options and f"m{amsterdam.pk}" not in options
    assert len(options) == 1 + Municipality.objects.filter(police_unit=mn).count()
    assert client.get(URL, {"jaar": 2023, "gebied": f"m{figures['woerden'].pk}"}).status_code == 200
    assert client.get(URL, {"jaar": 2023, "gebied": f"m{amsterdam.pk}"}).status_code == 403
    assert client.get(URL, {"jaar": 2023, "gebied": "nl"}).status_code == 403
    assert client.get(csv_url("kanalen"), {"jaar": 2023, "gebied": f"u{mn.pk}"}).status_code == 404


def test_staff_without_the_manager_role_may_not_open_the_report(operator_mn, staff_client):
    assert staff_client(operator_mn).get(URL).status_code == 403


def test_bad_input_gets_a_clear_message(figures, manager, staff_client):  # noqa: F811
    client = staff_client(manager)
    cases = [
        ({"jaar": "twee"}, 400, "Geef het jaar als vier cijfers"),
        ({"jaar": "1990"}, 400, "Er is geen jaarverslag over dat jaar."),
        ({"jaar": "2023", "gebied": "x5"}, 400, "Onbekend gebied"),
        ({"jaar": "2023", "gebied": "u999999"}, 404, "Dat gebied bestaat niet."),
        ({"jaar": "2023", "gebied": "m999999"}, 404, "Dat gebied bestaat niet."),
        ({"jaar": "2023", "sorteer": "postcode"}, 400, "Onbekende sortering."),
    ]
    for query, status, message in cases:
        response = client.get(URL, query)
        assert response.status_code == status, query
        assert message in response.content.decode(), query
        assert client.get(csv_url("acties"), query).status_code == status, query
    response = client.get(csv_url("begroting"), {"jaar": 2023})
    assert response.status_code == 404
    assert "Die tabel staat niet in dit jaarverslag." in response.content.decode()


def test_the_staff_home_links_managers_to_the_report(manager, operator_mn, staff_client):
    assert (
        'id="link-report"' in staff_client(manager).get(reverse("governance:home")).content.decode()
    )
    assert (
        'id="link-report"'
        not in staff_client(operator_mn).get(reverse("governance:home")).content.decode()
    )


def test_a_national_manager_may_choose_the_country_every_unit_and_municipality_and_the_years(
    figures,  # noqa: F811
    manager,
    staff_client,
):
    from django.utils import timezone

    from apps.governance.models import PoliceUnit

    page = staff_client(manager).get(URL).content.decode()
    options = scope_options(page)
    units = PoliceUnit.objects.filter(is_national=False).count()
    assert options[0] == "nl"
    assert len(options) == 1 + units + Municipality.objects.count()
    this_year = timezone.localdate().year
    chooser = page[page.index('id="report-year"') :]
    chooser = chooser[: chooser.index("</select>")]
    years = [int(y) for y in re.findall(r'<option value="(\d+)"', chooser)]
    assert years == list(range(this_year, 2021, -1))  # figures start in 2022
    assert f'<option value="{this_year - 1}" selected>' in chooser  # last year by default
