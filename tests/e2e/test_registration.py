"""A citizen registers, confirms, manages and deletes a registration in a real browser.

The live server runs in the test process: SMS land in the channels app's locmem outbox,
e-mail in django.core.mail.outbox, and links in both point at the live server.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from apps.channels import outbox
from apps.channels.senders import sms

PHONE = "06 12345678"
E164 = "+31612345678"
EMAIL = "inwoner@example.nl"


@pytest.fixture(autouse=True)
def site(settings, live_server):
    """SMS to the outbox, Dutch postcodes from the offline table, links to the live server,
    and no rate-limit counts left over from an earlier test."""
    settings.SMS_BACKEND = "locmem"
    settings.GEOCODER_NL = "offline"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = live_server.url
    cache.clear()
    sms.outbox.clear()
    mail.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


def last_sms_to(number: str) -> str:
    """The text of the last SMS, to `number`, once the outbox has sent what the requests
    queued (in this thread: the live server shares its database connection with it)."""
    outbox.drain()
    assert sms.outbox, "no SMS was sent"
    message = sms.outbox[-1]
    assert message.to == number
    return message.text


def link_in(text: str, live_server) -> str:
    """The first link to the site in a message, as a path for the browser."""
    match = re.search(re.escape(live_server.url) + r"/\S+", text)
    assert match, f"no link to {live_server.url} in: {text!r}"
    return urlsplit(match.group(0)).path


def fill_registration(page):
    """Phone, home (always), work (weekdays 08:00–18:00 and Saturday morning), e-mail."""
    page.locator("#id_phone").fill(PHONE)

    home = page.locator("#address-0")
    expect(home.locator("#id_address-0-label")).to_have_value("Thuis")
    home.locator("#id_address-0-postcode").fill("3441 AB")
    home.locator("#id_address-0-house_number").fill("12")
    expect(home.get_by_label("Altijd")).to_be_checked()
    # "Always" needs no days and times: they stay out of the way.
    expect(page.locator("#address-0-windows")).to_be_hidden()

    # One address and one window to start with; more on request.
    work = page.locator("#address-1")
    expect(work).to_have_count(0)
    expect(page.locator("fieldset.window")).to_have_count(1)
    page.locator("#add-address").click()
    expect(work).to_be_visible()
    # The new block takes the focus, so a keyboard user carries on typing there.
    expect(work.locator("#id_address-1-label")).to_be_focused()
    work.locator("#id_address-1-label").fill("Werk")
    expect(work.locator("#id_address-1-country")).to_have_value("NL")
    work.locator("#id_address-1-postcode").fill("3511 AA")
    work.locator("#id_address-1-house_number").fill("1")

    windows = page.locator("#address-1-windows")
    expect(windows).to_be_hidden()
    work.locator("#id_address-1-schedule_1").check()
    expect(windows).to_be_visible()
    for day in range(5):  # Monday to Friday
        windows.locator(f"#id_address-1-window-0-days_{day}").check()
    windows.locator("#id_address-1-window-0-start").fill("08:00")
    windows.locator("#id_address-1-window-0-end").fill("18:00")
    expect(windows.locator("fieldset.window")).to_have_count(1)
    windows.get_by_role("button", name="Nog een tijdvak").click()
    expect(windows.locator("fieldset.window")).to_have_count(2)
    expect(windows.locator("#id_address-1-window-1-days_0")).to_be_focused()
    expect(windows.locator("#id_address-1-window-1-start")).to_have_value("")
    windows.locator("#id_address-1-window-1-days_5").check()  # Saturday
    windows.locator("#id_address-1-window-1-start").fill("09:00")
    windows.locator("#id_address-1-window-1-end").fill("13:00")

    page.get_by_label("E-mail (ook Burgernetmail uit uw buurt)").check()
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_email_postcode").fill("3441 AB")


def test_it_registers_confirms_manages_and_deletes_a_registration(
    page, live_server, assert_accessible, foreign_requests
):
    from apps.participants.models import ActiveWindow, Address, ManageLink, Participant, PhoneCode

    # The home page leads to the registration form.
    page.goto("/")
    assert_accessible(page)
    page.get_by_role("main").get_by_role("link", name="Aanmelden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelden voor Burgernet")
    assert_accessible(page)

    fill_registration(page)
    page.locator("#register-submit").click()

    # The code page; the SMS carries the code.
    expect(page.get_by_role("heading", level=1)).to_have_text("Vul de code uit de sms in")
    assert_accessible(page)
    code = re.search(r"\b(\d{6})\b", last_sms_to(E164)).group(1)
    assert mail.outbox == [], "nothing goes to the e-mail address before the number is confirmed"
    page.locator("#id_code").fill(code)
    page.locator("#code-submit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("U bent aangemeld bij Burgernet")
    assert_accessible(page)

    # The e-mail address is confirmed by the link in the mail (double opt-in).
    [message] = mail.outbox
    assert message.to == [EMAIL]
    page.goto(link_in(message.body, live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bevestig uw e-mailadres")
    assert_accessible(page)
    page.locator("#confirm-email").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw e-mailadres is bevestigd")

    # Later: ask for a manage link by phone number.
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role(
        "link", name="Aanmelding beheren"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanmelding beheren of opzeggen")
    assert_accessible(page)
    sms.outbox.clear()
    page.locator("#id_contact").fill(PHONE)
    page.locator("#manage-request-submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kijk op uw telefoon of in uw e-mail")

    page.goto(link_in(last_sms_to(E164), live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanmelding openen")
    page.locator("#open-manage").click()

    # The overview shows what was registered.
    main = page.get_by_role("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanmelding")
    expect(main).to_contain_text("06 12345678")
    home = main.get_by_role("article", name="Thuis")
    work = main.get_by_role("article", name="Werk")
    expect(home).to_contain_text("3441 AB 12, Nederland (gemeente Woerden)")
    expect(home).to_contain_text("altijd")
    expect(work).to_contain_text("3511 AA 1, Nederland (gemeente Utrecht)")
    expect(work).to_contain_text("maandag, dinsdag, woensdag, donderdag, vrijdag 08:00–18:00")
    expect(work).to_contain_text("zaterdag 09:00–13:00")
    expect(main.get_by_role("region", name="E-mail")).to_contain_text(f"{EMAIL} bevestigd")
    assert_accessible(page)

    # Change the work address's postcode.
    work.get_by_role("link", name=re.compile(r"^Wijzigen\s*: Werk$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adres ‘Werk’ wijzigen")
    expect(page.locator("#id_address-0-postcode")).to_have_value("3511 AA")
    expect(page.locator("#id_address-0-schedule_1")).to_be_checked()
    expect(page.locator("#id_address-0-window-0-start")).to_have_value("08:00")
    assert_accessible(page)
    page.locator("#id_address-0-postcode").fill("1011 AB")
    page.locator("#address-submit").click()

    expect(page.get_by_role("status")).to_contain_text("Het adres is gewijzigd.")
    work = page.get_by_role("main").get_by_role("article", name="Werk")
    expect(work).to_contain_text("1011 AB 1, Nederland (gemeente Amsterdam)")
    expect(work).to_contain_text("maandag, dinsdag, woensdag, donderdag, vrijdag 08:00–18:00")
    expect(page.get_by_role("main")).not_to_contain_text("3511 AA")

    # Delete the registration.
    page.locator("#delete-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Aanmelding verwijderen")
    assert_accessible(page)
    page.locator("#delete-submit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Uw aanmelding is verwijderd")
    expect(page.get_by_role("main")).to_contain_text("U krijgt geen Burgernetberichten meer.")
    assert_accessible(page)

    assert not Participant.objects.exists()
    assert not Address.objects.exists()
    assert not ActiveWindow.objects.exists()
    assert not PhoneCode.objects.exists()
    assert not ManageLink.objects.exists()
    assert foreign_requests == []


def test_it_links_each_error_to_its_field_and_works_by_keyboard(
    page, assert_accessible, foreign_requests
):
    from apps.participants.models import Participant

    page.goto("/aanmelden/")

    # Keyboard only: the skip link, then the first fields of the form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Naar de inhoud")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mobiel telefoonnummer")).to_be_focused()
    page.keyboard.type("06 123")
    page.keyboard.press("Tab")
    expect(page.locator("#id_address-0-label")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#id_address-0-country")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#id_address-0-postcode")).to_be_focused()
    page.keyboard.type("1000 AA")  # well-formed, but no such postcode area
    page.keyboard.press("Tab")
    expect(page.locator("#id_address-0-house_number")).to_be_focused()
    page.keyboard.type("5")
    page.keyboard.press("Enter")  # submits the form

    # The summary lists both errors and takes the focus.
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile(r"^Fout: "))
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_contain_text("Mobiel telefoonnummer")
    expect(links.nth(1)).to_contain_text("Deze postcode kennen wij niet")
    # What was typed is still there; each error sits at its field.
    expect(page.locator("#id_phone")).to_have_value("06 123")
    expect(page.locator("#id_phone")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_address-0-postcode")).to_have_value("1000 AA")
    expect(page.locator("#id_address-0-postcode")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    # Tab to the first link, Enter: the focus moves to the phone field.
    page.keyboard.press("Tab")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("Tab")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#id_phone")).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "id_phone"

    # Back to the summary's last link (just before the form), Enter: the postcode field.
    page.keyboard.press("Shift+Tab")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#id_address-0-postcode")).to_be_focused()
    assert page.evaluate("document.activeElement.id") == "id_address-0-postcode"

    # Fix both by keyboard and send again: the code page follows.
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("3441 AB")
    for _field in ("country", "label", "phone"):
        page.keyboard.press("Shift+Tab")
    expect(page.locator("#id_phone")).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(PHONE)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vul de code uit de sms in")
    assert Participant.objects.get().phone == E164
    assert foreign_requests == []
