"""The character counter under a long text field (static/js/char-counter.js): counts as the
server does, says it to a screen reader politely once typing pauses, and describes the
field; the page stays accessible."""

from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in


def test_the_mailing_body_counts_its_characters(page, woerden_author, assert_accessible):
    page.goto(LOGIN_PATH)
    log_in(page, woerden_author, current_code(woerden_author))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welkom")
    page.goto(reverse("mail:create"))

    body = page.locator("#id_body")
    counter = page.locator("#id_body_counter")
    status = page.locator("#id_body_counter_status")
    expect(counter).to_have_text("Tekens over: 10000 van 10000")
    expect(body).to_have_attribute("aria-describedby", "id_body_helptext id_body_counter")
    expect(status).to_have_attribute("aria-live", "polite")

    body.fill("Beste bewoner,\nhebt u iets gezien? 🙂")  # 36 characters, the emoji one
    expect(counter).to_have_text("Tekens over: 9964 van 10000")
    expect(status).to_have_text("Tekens over: 9964 van 10000")  # after the pause
    assert_accessible(page)
