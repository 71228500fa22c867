"""A digitaal buurtonderzoek from composing to reading the answer, in a real browser.

A Woerden mail author composes a buurtonderzoek for one street and sees the count; an
approver of Woerden approves it; the outbox runs for real (the outbox worker's loop, the e-mail
sender, anymail's test backend), and the test reads the sent batch. The participant follows
the respond link from the mail and answers with a photo; the author finds the answer, with
its photo, in the mailing's inbox.
"""

import io

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from apps.mail.models import Mailing, Response
from tests.e2e.conftest import resident
from tests.e2e.test_staff import LOGIN_PATH, current_code, log_in

SUBJECT = "Inbraak aan de Rijnstraat: heeft u iets gezien?"
ANSWER = "Rond 3 uur reed er een scooter met twee personen door de straat."


@pytest.fixture(autouse=True)
def site(settings, live_server, tmp_path):
    """Links to the live server, photos in a temporary folder, e-mail to anymail's test
    backend (each batch send one message in django.core.mail.outbox), no map tiles."""
    from django.core.cache import cache

    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.LEAFLET_CONFIG = {**settings.LEAFLET_CONFIG, "TILES": ""}
    cache.clear()
    mail.outbox = []
    yield
    cache.clear()


def png(colour=(20, 120, 200), size=(64, 48)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_buurtonderzoek_is_composed_approved_answered_and_read(
    make_page,
    woerden,
    woerden_author,
    woerden_approver,
    outbox_worker,
    assert_accessible,
    foreign_requests,
):
    neighbour = resident(woerden, 12, "buurman@example.nl")
    resident(woerden, 80, "verderop@example.nl")  # same postcode, outside the range

    # The author writes the buurtonderzoek.
    author = make_page()
    author.goto(LOGIN_PATH)
    log_in(author, woerden_author, current_code(woerden_author))
    expect(author.get_by_role("heading", level=1)).to_contain_text("Welkom")
    author.goto(reverse("mail:create"))
    author.locator("#id_kind").select_option("inquiry")
    author.locator("#id_subject").fill(SUBJECT)
    author.locator("#id_body").fill(
        "Beste bewoner,\n\nIn de nacht van maandag op dinsdag is er ingebroken."
    )
    author.locator("#id_incident_date").fill("2024-03-12")
    author.locator("#id_incident_place").fill("Rijnstraat, Woerden")
    author.get_by_role("button", name="Opslaan en gebieden kiezen").click()

    # One street: postcode 3441 AB, house numbers 10 to 20. One recipient: the count says
    # fewer than ten, never the number (policy.shown_count).
    author.get_by_label("straat (postcode met huisnummers)").check()
    author.get_by_role("textbox", name="Postcode").fill("3441 AB")
    author.locator("#id_house_number_from").fill("10")
    author.locator("#id_house_number_to").fill("20")
    author.get_by_role("button", name="Gebied toevoegen").click()
    expect(author.locator("#recipient-total")).to_contain_text("minder dan 10 ontvangers")
    author.get_by_role("link", name="Klaar: naar voorbeeld en versturen").click()
    expect(author.locator("#recipient-count")).to_contain_text("minder dan 10")
    author.locator("#send-confirm").check()
    author.locator("#send-button").click()
    mailing = Mailing.objects.get()
    assert mailing.state == Mailing.State.SUBMITTED
    assert mail.outbox == []  # nothing leaves before the approval

    # The approver sees what will be sent and approves it.
    approver = make_page()
    approver.goto(LOGIN_PATH)
    log_in(approver, woerden_approver, current_code(woerden_approver))
    expect(approver.get_by_role("heading", level=1)).to_contain_text("Welkom")
    approver.goto(reverse("mail:detail", kwargs={"pk": mailing.pk}))
    expect(approver.locator("#preview")).to_contain_text("Reageer via deze link")
    approver.locator("#approve-button").click()
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SENT

    # The outbox sends: one batch through the e-mail service, to the neighbour only.
    assert outbox_worker()["sent"] >= 1
    [batch] = mail.outbox
    assert batch.to == [neighbour.email]
    merge = batch.merge_data[neighbour.email]
    respond_url = merge["respond_url"]
    assert respond_url.startswith(live_server_url(approver))
    assert "List-Unsubscribe" in batch.merge_headers[neighbour.email]

    # The neighbour follows the respond link and answers with a photo.
    citizen = make_page()
    citizen.goto(respond_url)
    expect(citizen.get_by_role("heading", level=1)).to_have_text(SUBJECT)
    assert_accessible(citizen)
    citizen.get_by_label("Wat heeft u gezien of gehoord?").fill(ANSWER)
    citizen.get_by_label("Wanneer was dat? (niet verplicht)").fill("dinsdagnacht")
    citizen.get_by_label("Foto (niet verplicht)").set_input_files(
        {"name": "scooter.png", "mimeType": "image/png", "buffer": png()}
    )
    citizen.get_by_role("button", name="Reactie versturen").click()
    expect(citizen.locator("#sent")).to_contain_text("Bedankt voor uw reactie.")
    assert_accessible(citizen)
    response = Response.objects.get(mailing=mailing, participant=neighbour)
    assert response.entries.get().photo

    # The author finds it in the inbox, opens it, and sees the photo.
    author.goto(reverse("mail_inbox:inbox", kwargs={"pk": mailing.pk}))
    row = author.locator("#responses tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(ANSWER)
    expect(row).to_contain_text("Nieuw")
    assert_accessible(author)
    row.get_by_role("link").click()
    expect(author.locator("#entries")).to_contain_text(ANSWER)
    photo = author.locator("#entries img")
    expect(photo).to_be_visible()
    expect(photo).to_have_js_property("naturalWidth", 64)
    expect(author.locator("#response-status")).to_have_text("gelezen")
    author.locator("#mark-followed_up").click()
    expect(author.locator("#response-status")).to_have_text("opgevolgd")
    assert_accessible(author)
    assert foreign_requests == []


def live_server_url(page) -> str:
    return page.evaluate("location.origin")
