"""The e-mail of a mailing (the "mail.mailing" composer): subject, text and HTML shared by
all recipients with merge fields for the links, and each recipient's signed links; and the
mails as the real e-mail sender sends them."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.channels import email as composers
from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.channels.senders.email import EmailSender
from apps.mail import links
from apps.mail.email import MailingComposer, mailing_for

from .fixtures_public import *  # noqa: F403
from .fixtures_public import image_bytes, make_participant


def message_for(mailing) -> OutgoingMessage:
    return OutgoingMessage.objects.create(
        source=mailing.source, title=mailing.subject[:120], body=mailing.body
    )


def deliveries_for(message, *participants) -> list[Delivery]:
    rows = [
        Delivery.objects.create(message=message, channel=Channel.EMAIL, participant=p)
        for p in participants
    ]
    return list(
        Delivery.objects.filter(pk__in=[d.pk for d in rows])
        .select_related("message", "participant")
        .order_by("pk")
    )


def test_it_is_registered_for_mailings(inquiry):
    assert isinstance(composers.composer_for(message_for(inquiry)), MailingComposer)
    assert mailing_for(message_for(inquiry)) == inquiry


# Content ---------------------------------------------------------------------------------


def test_the_content_of_a_buurtonderzoek_has_both_links_as_merge_fields(inquiry):
    content = MailingComposer().content(message_for(inquiry))
    assert content.subject == "Inbraak aan de Rijnstraat"
    for part in (content.text, content.html):
        assert composers.merge_fields(part) == {"respond_url", "unsubscribe_url"}
        assert "Gemeente Woerden" in part
        assert "Rijnstraat, Woerden" in part
        assert "dinsdag 12 maart 2024" in part
    assert 'id="respond-button" href="${respond_url}"' in content.html
    assert 'href="${unsubscribe_url}"' in content.html
    assert "Reageer op dit buurtonderzoek" in content.html


def test_a_preventive_mail_has_no_respond_button(preventive):
    content = MailingComposer().content(message_for(preventive))
    assert composers.merge_fields(content.html) == {"unsubscribe_url"}
    assert composers.merge_fields(content.text) == {"unsubscribe_url"}
    assert "respond-button" not in content.html
    assert "Reageer" not in content.text


def test_it_escapes_html_in_the_authors_text(woerden_author, org_woerden):
    from .fixtures_public import make_mailing

    mailing = make_mailing(
        woerden_author,
        org_woerden,
        subject='Let op <script>alert("x")</script>',
        body='Klik <a href="https://evil.example">hier</a>\n\n*Let op* & <img src=x onerror=1>',
        incident_place="Straat <b>3</b>",
    )
    content = MailingComposer().content(message_for(mailing))
    assert "<script>" not in content.html
    assert "&lt;script&gt;" in content.html
    assert '<a href="https://evil.example">hier</a>' not in content.html
    assert "Klik &lt;a href=" in content.html
    assert "&lt;img src=x onerror=1&gt;" in content.html
    assert "<strong>Let op</strong> &amp;" in content.html
    assert "<b>3</b>" not in content.html
    # The plain text is text: nothing escaped, nothing added.
    assert '<script>alert("x")</script>' in content.subject
    assert '<a href="https://evil.example">hier</a>' in content.text


def test_an_author_cannot_write_a_merge_field(woerden_author, org_woerden):
    from .fixtures_public import make_mailing

    mailing = make_mailing(
        woerden_author, org_woerden, subject="Zie ${respond_url}", body="Klik ${unsubscribe_url}"
    )
    content = MailingComposer().content(message_for(mailing))
    assert composers.merge_fields(content.subject) == set()
    # Only the template's own fields remain (the button and the footer link).
    assert content.html.count("${unsubscribe_url}") == 1
    assert content.text.count("${unsubscribe_url}") == 1


def test_the_image_is_an_absolute_url_served_by_a_view(inquiry):
    inquiry.image = SimpleUploadedFile("straat.jpg", image_bytes(size=(40, 20)))
    inquiry.save()
    content = MailingComposer().content(message_for(inquiry))
    url = f"{SITE}/burgernetmail/afbeelding/{inquiry.image_ref}/"  # noqa: F405
    assert f'src="{url}"' in content.html
    assert url in content.text
    assert "/media/" not in content.html


def test_the_image_of_a_sent_mailing_is_public(client, inquiry):
    inquiry.image = SimpleUploadedFile("straat.jpg", image_bytes(size=(40, 20)))
    inquiry.save()
    response = client.get(f"/burgernetmail/afbeelding/{inquiry.image_ref}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=86400"


def test_the_image_of_a_draft_is_only_for_its_organisation(
    client, staff_client, utrecht_author, woerden_author, org_woerden
):
    from .fixtures_public import make_mailing

    draft = make_mailing(woerden_author, org_woerden, state="draft", sent_at=None)
    draft.image = SimpleUploadedFile("straat.png", image_bytes("PNG", size=(40, 20)))
    draft.save()
    url = f"/burgernetmail/afbeelding/{draft.image_ref}/"
    assert client.get(url).status_code == 404
    assert staff_client(utrecht_author).get(url).status_code == 404
    response = staff_client(woerden_author).get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


# Recipients ------------------------------------------------------------------------------


def test_each_recipient_gets_its_own_signed_links(inquiry, participant, other_participant):
    message = message_for(inquiry)
    rows = deliveries_for(message, participant, other_participant)
    data = MailingComposer().recipients(message, rows)
    assert set(data) == {d.pk for d in rows}
    for delivery in rows:
        recipient = data[delivery.pk]
        respond = recipient.merge["respond_url"]
        assert respond.startswith(f"{SITE}/burgernetmail/reageren/")  # noqa: F405
        link = links.read_respond_token(respond.rstrip("/").rsplit("/", 1)[1])
        assert (link.mailing_id, link.participant_ref) == (inquiry.pk, delivery.participant.ref)
        page = recipient.merge["unsubscribe_url"]
        assert page.startswith(f"{SITE}/burgernetmail/afmelden/")  # noqa: F405
        assert recipient.unsubscribe_url == page + "een-klik/"
    assert data[rows[0].pk].merge != data[rows[1].pk].merge


def test_a_preventive_mail_gives_no_respond_link(preventive, participant):
    message = message_for(preventive)
    rows = deliveries_for(message, participant)
    assert set(MailingComposer().recipients(message, rows)[rows[0].pk].merge) == {"unsubscribe_url"}


def test_a_deleted_mailing_gives_no_recipient_data(inquiry, participant):
    message = message_for(inquiry)
    rows = deliveries_for(message, participant)
    inquiry.delete()
    assert MailingComposer().recipients(message, rows) == {}


# Through the real e-mail sender ------------------------------------------------------------


def test_the_sender_fills_in_each_recipients_links(settings, client, inquiry, participant):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = message_for(inquiry)
    rows = deliveries_for(message, participant)
    outcomes = EmailSender().deliver(rows)
    assert [o.status for o in outcomes] == ["sent"]
    sent = mail.outbox[-1]
    assert sent.to == [participant.email]
    html = sent.alternatives[0][0]
    assert "${" not in html and "${" not in sent.body
    one_click = sent.extra_headers["List-Unsubscribe"].strip("<>")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The links work: the respond page opens, and the one-click POST unsubscribes.
    respond = next(line for line in sent.body.splitlines() if "/reageren/" in line)
    assert client.get(respond.removeprefix(SITE)).status_code == 200  # noqa: F405
    response = client.post(one_click.removeprefix(SITE), {"List-Unsubscribe": "One-Click"})  # noqa: F405
    assert response.status_code == 200
    participant.refresh_from_db()
    assert participant.email_suppressed_reason == "unsubscribed"


def test_the_sender_sends_one_batch_through_anymail(settings, inquiry, woerden):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    people = [make_participant(woerden) for _ in range(3)]
    message = message_for(inquiry)
    rows = deliveries_for(message, *people)
    outcomes = EmailSender().deliver(rows)
    assert {o.status for o in outcomes} == {"sent"}
    assert len(mail.outbox) == 1
    batch = mail.outbox[0]
    assert sorted(batch.to) == sorted(p.email for p in people)
    urls = {batch.merge_data[p.email]["respond_url"] for p in people}
    assert len(urls) == 3


@pytest.mark.parametrize("kind", ["respond", "unsubscribe"])
def test_links_of_one_recipient_do_not_open_anothers(kind, inquiry, participant, other_participant):
    make = getattr(links, f"make_{kind}_token")
    read = getattr(links, f"read_{kind}_token")
    assert read(make(inquiry, participant)).participant_ref != other_participant.ref


# From: what the preview shows is what is sent -----------------------------------------------


@pytest.mark.parametrize(
    "backend",
    ["django.core.mail.backends.locmem.EmailBackend", "anymail.backends.test.EmailBackend"],
)
def test_the_mail_is_sent_from_the_organisation_the_preview_shows(
    settings, staff_client, woerden_author, inquiry, participant, backend
):
    from django.urls import reverse

    settings.DEFAULT_FROM_EMAIL = "Burgernet <noreply@burgernet.test>"
    settings.EMAIL_BACKEND = backend
    page = staff_client(woerden_author).get(reverse("mail:detail", args=[inquiry.pk]))
    shown = page.context["preview"]["from"]
    assert shown == "Burgernet — Gemeente Woerden <noreply@burgernet.test>"
    assert f'<dd id="preview-from">{shown}</dd>' in page.content.decode().replace(
        "&lt;", "<"
    ).replace("&gt;", ">")
    outcomes = EmailSender().deliver(deliveries_for(message_for(inquiry), participant))
    assert [o.status for o in outcomes] == ["sent"]
    assert mail.outbox[-1].from_email == shown


def test_a_from_name_with_special_characters_is_quoted(settings, inquiry):
    from apps.mail.email import from_address

    settings.DEFAULT_FROM_EMAIL = "noreply@burgernet.test"
    inquiry.organisation.name = 'Politie, team "Oost"'
    assert from_address(inquiry.organisation) == (
        '"Burgernet — Politie, team \\"Oost\\"" <noreply@burgernet.test>'
    )


# The image's address is no number ----------------------------------------------------------


def test_the_image_address_names_a_random_reference_not_the_id(client, inquiry):
    from apps.mail.email import image_url

    inquiry.image = SimpleUploadedFile("straat.jpg", image_bytes(size=(40, 20)))
    inquiry.save()
    url = image_url(inquiry)
    assert url.endswith(f"/burgernetmail/afbeelding/{inquiry.image_ref}/")
    assert f"/{inquiry.pk}/" not in url
    # The address by number is gone: counting finds nothing.
    assert client.get(f"/burgernetmail/afbeelding/{inquiry.pk}/").status_code == 404
    from .fixtures_public import make_mailing

    other = make_mailing(inquiry.author, inquiry.organisation)
    assert other.image_ref != inquiry.image_ref
