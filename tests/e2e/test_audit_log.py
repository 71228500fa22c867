"""A manager reads the audit trail in the browser: filters it, opens an entry's details,
meets a clear error for a bad filter, and exports the rows as CSV."""

from playwright.sync_api import expect

from apps.governance import audit
from apps.governance.models import AuditEntry, ContributionRate
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in


def test_a_manager_filters_the_audit_trail_and_exports_it(
    make_page, manager, woerden_author, org_woerden, assert_accessible
):
    audit.record(
        verb="organisation.changed",
        actor=manager,
        target=org_woerden,
        detail={"changes": [{"field": "is_active", "old": True, "new": False}]},
    )
    audit.record(verb="mailing.sent", actor=woerden_author)

    page = make_page()
    page.goto(LOGIN_PATH)
    log_in(page, manager, current_code(manager))
    page.locator("#link-audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audittrail")
    assert_accessible(page)

    # Filter on the organisation's changes.
    page.get_by_label("Handeling").fill("organisation.")
    page.locator("#audit-filter-submit").click()
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("organisation.changed")
    rows.first.get_by_text("Toon details").click()
    expect(rows.first.locator("pre")).to_contain_text('"field": "is_active"')
    assert_accessible(page)

    # A bad filter: a clear message, no rows.
    page.get_by_label("Van (datum)").fill("2026-03-02")
    page.get_by_label("Tot en met (datum)").fill("2026-03-01")
    page.locator("#audit-filter-submit").click()
    expect(page.locator(".error-summary")).to_contain_text("De einddatum ligt voor de begindatum.")
    expect(page.locator("#audit-table")).to_have_count(0)
    assert_accessible(page)

    # Export what the filter shows.
    page.get_by_label("Van (datum)").fill("")
    page.get_by_label("Tot en met (datum)").fill("")
    with page.expect_download() as download:
        page.locator("#audit-export").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "organisation.changed" in text
    assert "mailing.sent" not in text
    assert AuditEntry.objects.filter(verb="audit.export", actor=manager).exists()


def test_the_other_managers_pages_pass_the_accessibility_check(
    make_page, manager, woerden_author, org_woerden, assert_accessible
):
    audit.record(verb="user.changed", actor=manager, target=woerden_author)
    # The browser tests' database is emptied after each test: the rate the migration loads
    # is put back here.
    ContributionRate.objects.get_or_create(year=2020, defaults={"cents_per_inhabitant": 3})
    page = make_page()
    page.goto(LOGIN_PATH)
    log_in(page, manager, current_code(manager))

    page.locator("#link-organisations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisaties")
    assert_accessible(page)
    page.locator("#organisations-table").get_by_role("link", name="Gemeente Woerden").click()
    expect(page.locator("#people-table")).to_contain_text("mail-woerden")
    expect(page.locator("#history-table")).to_contain_text("user.changed")
    assert_accessible(page)

    page.goto("/medewerkers/")
    page.locator("#link-contributions").click()
    page.locator("#year-form").get_by_label("Jaar").fill("2020")
    page.locator("#year-submit").click()
    expect(page.locator("#rate")).to_contain_text("3 cent per inwoner")
    assert_accessible(page)

    page.goto("/medewerkers/")
    page.locator("#link-retention").click()
    expect(page.locator("#retention-table")).to_contain_text("RETENTION_AUDIT_DAYS")
    assert_accessible(page)
