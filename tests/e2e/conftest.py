"""The browser-test harness: Debian's Chromium driven by Playwright against the live server.

Every test in this folder is marked `e2e` (CI's PostgreSQL pass leaves them out with
`-m "not e2e"`). A test that asks for `page` gets a fresh browser context on pytest-django's
`live_server`, and so a transactional database that is emptied after the test: the
`reference_data` fixture (autouse here) puts the geography and the role groups back for
each test.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in the test's thread; Django would otherwise
# refuse database access from it ("You cannot call this from an async context").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# One address for the server and the browser: "localhost" may resolve to ::1 first.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
# Screenshots of failed tests land here (ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Fail in seconds rather than Playwright's default 30 s when something is not there.
TIMEOUT_MS = 10_000
# axe-core rules for WCAG 2.1 level A and AA; the bar is no serious or critical one.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = ("serious", "critical")


_reports = pytest.StashKey[dict]()

# Every page runs under the site's Content-Security-Policy; a violation (an inline script
# or style, an image from a host the policy does not name) fails the test. Chromium logs
# each as a console error, and this listener (run before the page's own scripts, in every
# frame) reports the ones it might not.
# How axe runs in every browser test: WCAG 2.1 A and AA, violations only. Without axe's
# "preload": it fetches the page's style sheets by injecting a <style> element, which the
# Content-Security-Policy rightly blocks (on the admin's change forms), and the CSP
# listener below would count the test tool's own injection as the page's violation. Its
# one CSSOM rule (css-orientation-lock) is left out with it.
AXE_RUN_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {"type": "tag", "values": AXE_TAGS},
    "preload": False,
}

CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked "
    + (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""
CSP_MESSAGES = ("CSP violation", "Content Security Policy", "Content-Security-Policy")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Kept so that `page` can tell, at teardown, whether the test failed.
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def foreign_requests():
    """URLs the page asked for from any host but the live server (filled by `page`)."""
    return []


@pytest.fixture
def csp_violations():
    """The Content-Security-Policy violations the pages reported (filled by `page`); any
    left at the end of the test fails it."""
    return []


@pytest.fixture
def make_page(request, browser, live_server, foreign_requests, csp_violations):
    """make_page() → a page in a fresh context (no cookies), as a Dutch visitor, at the
    live server; a test with two people (an operator and a citizen) asks twice.

    When the test fails, a screenshot of each page is saved in test-results/.
    """
    own_host = urlsplit(live_server.url).netloc
    opened = []

    def record(request):
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != own_host:
            foreign_requests.append(request.url)

    def make(**options):
        context = browser.new_context(
            base_url=live_server.url, locale="nl-NL", timezone_id="Europe/Amsterdam", **options
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.on("request", record)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()

        def console(message):
            if message.type == "error" and any(m in message.text for m in CSP_MESSAGES):
                csp_violations.append(f"{page.url}: {message.text}")

        page.on("console", console)
        opened.append((context, page))
        return page

    yield make
    call = request.node.stash.get(_reports, {}).get("call")
    failed = call is not None and call.failed
    for n, (context, page) in enumerate(opened):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.nodeid)
            path = ARTIFACTS / (f"{name}.png" if n == 0 else f"{name}-{n + 1}.png")
            page.screenshot(path=path, full_page=True)
            print(f"Screenshot of the failed page: {path}")
        context.close()
    if csp_violations and not failed:
        pytest.fail(
            "Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(csp_violations)),
            pytrace=False,
        )


@pytest.fixture
def page(make_page):
    """A page in a fresh context (no cookies), as a Dutch visitor, at the live server.

    When the test fails, a screenshot of the page is saved in test-results/.
    """
    return make_page()


# The geography as loaded by the first test: loading it computes for seconds, restoring
# the rows takes a fraction of that.
_geography: list[list] = []


@pytest.fixture(autouse=True)
def reference_data(transactional_db):
    """The shipped geography and the role groups, which every flow stands on."""
    from django.core.management.color import no_style
    from django.db import connection

    from apps.governance import models
    from apps.governance.geography import load_reference_geography
    from apps.governance.roles import sync_roles

    kinds = [
        models.Province,
        models.SafetyRegion,
        models.PoliceUnit,
        models.Municipality,
        models.PostcodeArea,
    ]
    if _geography:
        for model, rows in zip(kinds, _geography, strict=True):
            model.objects.bulk_create(rows)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), kinds):
                cursor.execute(sql)
    else:
        # tests/conftest.py may have loaded it with the test database already.
        if not models.Municipality.objects.exists():
            load_reference_geography()
        _geography.extend(list(model.objects.all()) for model in kinds)
    sync_roles()


def _axe_report(violations: list[dict]) -> str:
    lines = [f"{len(violations)} serious or critical accessibility violation(s):"]
    for v in violations:
        lines.append(f"\n[{v['impact']}] {v['id']}: {v['help']}\n  {v['helpUrl']}")
        for node in v["nodes"]:
            lines.append(f"  - {' '.join(map(str, node['target']))}")
            lines.append(f"    {node['html'][:200]}")
            for summary_line in (node.get("failureSummary") or "").splitlines():
                lines.append(f"    {summary_line.strip()}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def assert_accessible():
    """Check the page as it stands with axe-core (bundled, offline); fail on any serious or
    critical WCAG 2.1 A/AA violation, listing each with the elements concerned.

        assert_accessible(page)
        assert_accessible(page, context={"exclude": [["#map"]]})
    """
    axe = Axe()

    def check(page, context=None):
        options = AXE_RUN_OPTIONS
        results = axe.run(page, context=context, options=options)
        blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            pytest.fail(f"{page.url}\n{_axe_report(blocking)}", pytrace=False)

    return check


@pytest.fixture
def outbox_worker():
    """run() → sends every due delivery, as an outbox worker's loop does (claim a chunk,
    send it, write back), and returns the counts of what became of them.

    It runs in the test's thread because the live server shares its database connection
    with that thread (SQLite in memory); a worker process would see another database.
    """
    from apps.channels import outbox

    def run():
        outbox.sweep()
        return outbox.drain()

    return run


@pytest.fixture
def push_service(vapid_keys, settings):
    """The local push service on 127.0.0.1 with a VAPID pair for the server (vapid_keys), and
    subscriptions to it allowed (as in development)."""
    from apps.bench.pushendpoint import PushEndpoint

    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    settings.WEBPUSH_TIMEOUT = 5.0
    with PushEndpoint() as endpoint:
        yield endpoint


def resident(woerden, house_number: int, email: str = ""):
    """A confirmed participant who reads Burgernetmail, at 3441 AB `house_number` in
    Woerden (e-mail bewoner<number>@example.nl unless told)."""
    from django.utils import timezone

    from apps.participants.models import Address, Participant

    participant = Participant.objects.create(
        phone=f"+3161234{house_number:04d}",
        phone_confirmed_at=timezone.now(),
        email=email or f"bewoner{house_number}@example.nl",
        email_confirmed_at=timezone.now(),
        wants_email=True,
    )
    Address.objects.create(
        participant=participant,
        label="Thuis",
        postcode="3441 AB",
        house_number=house_number,
        lat=52.0859,
        lon=4.8847,
        municipality=woerden,
    )
    return participant
