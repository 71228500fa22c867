"""The municipal contribution (gemeentelijke bijdrage): rates by year, amounts per
municipality in the manager's scope, the CSV, and who may set a rate."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.governance import contributions
from apps.governance.models import AuditEntry, ContributionRate, Municipality
from apps.governance.roles import Role

URL = reverse("governance:contributions")
EXPORT = reverse("governance:contributions_export")
RATE = reverse("governance:contribution_rate_set")


@pytest.fixture
def woerden_manager(make_staff_user, org_woerden):
    return make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])


@pytest.fixture
def known_inhabitants(woerden, utrecht):
    Municipality.objects.filter(pk=woerden.pk).update(inhabitants=52_341)
    Municipality.objects.filter(pk=utrecht.pk).update(inhabitants=361_966)


def test_the_2019_letter_sets_three_cents_for_2020_and_none_from_2021(db):
    assert contributions.rate_for(2019) is None
    assert contributions.rate_for(2020).cents_per_inhabitant == Decimal("3")
    assert contributions.rate_for(2021).cents_per_inhabitant == Decimal("0")
    assert contributions.rate_for(2030).cents_per_inhabitant == Decimal("0")


def test_a_rate_holds_until_the_year_of_the_next_one(db):
    ContributionRate.objects.create(year=2024, cents_per_inhabitant=Decimal("2.5"))

    assert contributions.rate_for(2023).year == 2021
    assert contributions.rate_for(2024).cents_per_inhabitant == Decimal("2.5")
    assert contributions.rate_for(2027).year == 2024


def test_it_rounds_an_amount_half_up_to_the_cent():
    assert contributions.amount(52_341, Decimal("3")) == Decimal("1570.23")
    assert contributions.amount(150, Decimal("2.5")) == Decimal("3.75")
    assert contributions.amount(1, Decimal("0.5")) == Decimal("0.01")  # half a cent: up
    assert contributions.amount(1, Decimal("0.4")) == Decimal("0.00")


def test_it_computes_inhabitants_times_rate_per_municipality_and_the_total(
    manager, known_inhabitants, woerden, utrecht
):
    result = contributions.contributions(by=manager, year=2020)

    rows = {row.municipality.code: row for row in result.rows}
    assert rows["GM0632"].amount == Decimal("1570.23")
    assert rows["GM0344"].amount == Decimal("10858.98")
    assert result.total == sum(r.amount for r in result.rows if r.amount is not None)
    assert len(result.rows) == Municipality.objects.count()


def test_it_asks_nothing_from_2021_on(manager, known_inhabitants):
    result = contributions.contributions(by=manager, year=2022)

    assert result.total == Decimal("0.00")
    assert result.rate.year == 2021


def test_it_shows_a_municipal_manager_only_its_own_municipality(
    staff_client, woerden_manager, known_inhabitants
):
    response = staff_client(woerden_manager).get(URL, {"year": 2020})

    assert response.status_code == 200
    result = response.context["result"]
    assert [row.municipality.code for row in result.rows] == ["GM0632"]
    assert "€ 1.570,23" in response.text  # Dutch format
    assert "Utrecht" not in response.text


def test_it_shows_no_rate_form_to_a_municipal_manager_and_refuses_its_post(
    staff_client, woerden_manager
):
    client = staff_client(woerden_manager)

    page = client.get(URL)
    posted = client.post(RATE, {"year": 2030, "cents_per_inhabitant": "9"})

    assert 'id="rate-form"' not in page.text
    assert posted.status_code == 403
    assert not ContributionRate.objects.filter(year=2030).exists()


def test_it_lets_a_nationwide_manager_set_a_rate_and_audits_it(staff_client, manager):
    client = staff_client(manager)

    response = client.post(
        RATE, {"year": 2021, "cents_per_inhabitant": "1,5", "note": "Nieuw besluit"}
    )

    assert response.status_code == 302
    assert ContributionRate.objects.get(year=2021).cents_per_inhabitant == Decimal("1.5")
    entry = AuditEntry.objects.get(verb="contributionrate.set")
    assert entry.actor == manager
    assert entry.detail["old"]["cents_per_inhabitant"] == "0.000"
    assert entry.detail["new"] == {"cents_per_inhabitant": "1.5", "note": "Nieuw besluit"}


def test_it_refuses_a_negative_rate_or_a_strange_year(staff_client, manager):
    client = staff_client(manager)

    negative = client.post(RATE, {"year": 2030, "cents_per_inhabitant": "-1"})
    strange = client.post(RATE, {"year": 1800, "cents_per_inhabitant": "1"})

    assert negative.status_code == strange.status_code == 400
    assert not ContributionRate.objects.filter(year__in=[1800, 2030]).exists()
    assert not AuditEntry.objects.filter(verb="contributionrate.set").exists()


def test_it_refuses_a_year_that_is_not_a_number(staff_client, manager):
    response = staff_client(manager).get(URL, {"year": "twintig"})

    assert response.status_code == 400
    assert response.context["result"] is None
    assert "Vul een jaartal in" in response.text


def test_it_exports_the_same_rows_as_csv_and_audits_it(
    staff_client, woerden_manager, known_inhabitants
):
    response = staff_client(woerden_manager).get(EXPORT, {"year": 2020})

    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffCBS-code;Gemeente;Inwoners;Cent per inwoner;Bedrag (euro)\r\n")
    assert "GM0632;Woerden;52341;3;1570,23\r\n" in body
    assert body.endswith(";Totaal;;;1570,23\r\n")
    entry = AuditEntry.objects.get(verb="contribution.export")
    assert entry.detail == {"year": 2020, "rows": 1}


def test_it_keeps_the_page_from_operators(staff_client, operator_mn):
    assert staff_client(operator_mn).get(URL).status_code == 403
    assert staff_client(operator_mn).get(EXPORT, {"year": 2020}).status_code == 403
