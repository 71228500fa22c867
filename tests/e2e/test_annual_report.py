"""A national manager reads the 2023 annual report of Midden-Nederland in the browser: the
map, a table's CSV, and no serious accessibility issue (issue 13)."""

import csv
import io

from playwright.sync_api import expect

from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in
from tests.governance.test_report import figures  # noqa: F401 - the fixed data set


def test_a_national_manager_reads_the_report_of_a_police_unit_and_downloads_a_table(
    make_page,
    manager,
    figures,  # noqa: F811
    assert_accessible,
):
    page = make_page(accept_downloads=True)
    page.goto(LOGIN_PATH)
    log_in(page, manager, current_code(manager))
    page.locator("#link-report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jaarverslag")

    page.get_by_label("Jaar").select_option("2023")
    page.get_by_label("Gebied").select_option(label="Midden-Nederland")
    page.get_by_role("button", name="Toon het jaarverslag").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jaarverslag 2023 – Midden-Nederland")

    # The map of the unit's municipalities, coloured by participation.
    expect(page.locator("#participation-map")).to_be_visible()
    expect(page.locator('#participation-map path[data-code="GM0632"]')).to_have_class(
        "municipality band-5"
    )
    expect(page.get_by_text("Kaart: CBS / PDOK, CC-BY 4.0")).to_be_visible()
    row = page.locator("#table-deelname tr", has_text="Woerden")
    expect(row).to_contain_text("3,0%")
    assert_accessible(page)

    # The participants table as CSV: the same rows as on the screen.
    with page.expect_download() as download_info:
        page.locator("#csv-deelnemers").click()
    download = download_info.value
    assert download.suggested_filename == f"jaarverslag-2023-u{figures['mn'].pk}-deelnemers.csv"
    text = open(download.path(), encoding="utf-8-sig").read()  # noqa: PTH123, SIM115
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Kanaal", "2023", "2022", "Verschil", "Verschil in %"]
    assert rows[1] == ["geregistreerde deelnemers", "4600", "4000", "+600", "+15,0%"]
    assert rows[5] == ["web-app", "500", "0", "+500", "—"]
    screen = page.locator("#table-deelnemers tbody tr").all_inner_texts()
    assert [r.split("\t") for r in screen] == rows[1:]
