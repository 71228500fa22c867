"""Burgernetmail in the admin: templates by role and organisation, mailings and responses
narrowed to the sending organisation, personal fields of responses for managers only."""

import pytest
from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.mail.models import MailTemplate, Response, ResponseEntry
from apps.web import photos

from .fixtures_public import jpeg_upload

TEMPLATES = reverse("admin:mail_mailtemplate_changelist")
ADD_TEMPLATE = reverse("admin:mail_mailtemplate_add")
MAILINGS = reverse("admin:mail_mailing_changelist")


def change_url(obj):
    return reverse(f"admin:mail_{obj._meta.model_name}_change", args=[obj.pk])


def is_not_found(response) -> bool:
    """The admin's answer for an object outside the user's scope: "does not exist"."""
    return response.status_code == 302 and response.url == reverse("admin:index")


@pytest.fixture
def templates(org_woerden, org_utrecht):
    return {
        "national": MailTemplate.objects.create(
            kind="crisis", name="Landelijk: brand", subject="Brand", body="Ramen dicht."
        ),
        "woerden": MailTemplate.objects.create(
            kind="inquiry", name="Woerden: inbraak", subject="S", body="B", organisation=org_woerden
        ),
        "utrecht": MailTemplate.objects.create(
            kind="inquiry", name="Utrecht: inbraak", subject="S", body="B", organisation=org_utrecht
        ),
    }


def template_form(**overrides) -> dict:
    data = {"kind": "preventive", "name": "Fietsendiefstal", "subject": "Let op", "body": "Tips"}
    data.update(overrides)
    return data


def test_an_author_sees_national_and_own_templates_only(staff_client, woerden_author, templates):
    client = staff_client(woerden_author)
    page = client.get(TEMPLATES).content.decode()
    assert templates["national"].name in page and templates["woerden"].name in page
    assert templates["utrecht"].name not in page
    assert is_not_found(client.get(change_url(templates["utrecht"])))


def test_an_author_cannot_change_a_national_template(staff_client, woerden_author, templates):
    client = staff_client(woerden_author)
    national = templates["national"]
    response = client.post(change_url(national), template_form(name="Gewijzigd"))
    assert response.status_code == 403
    national.refresh_from_db()
    assert national.name == "Landelijk: brand"


def test_an_authors_new_template_belongs_to_its_organisation(
    staff_client, woerden_author, org_utrecht
):
    client = staff_client(woerden_author)
    response = client.post(ADD_TEMPLATE, template_form(organisation=org_utrecht.pk))
    assert response.status_code == 302
    template = MailTemplate.objects.get(name="Fietsendiefstal")
    assert template.organisation == woerden_author.organisation
    assert AuditEntry.objects.filter(verb="mail_template.created").exists()


def test_a_manager_keeps_the_national_templates(staff_client, manager, templates):
    client = staff_client(manager)
    assert client.post(ADD_TEMPLATE, template_form()).status_code == 302
    assert MailTemplate.objects.get(name="Fietsendiefstal").organisation is None
    response = client.post(change_url(templates["national"]), template_form(name="Nieuw"))
    assert response.status_code == 302
    assert MailTemplate.objects.filter(name="Nieuw", organisation=None).exists()


def test_an_approver_only_reads_templates(staff_client, woerden_approver, templates):
    client = staff_client(woerden_approver)
    assert client.get(TEMPLATES).status_code == 200
    assert client.get(ADD_TEMPLATE).status_code == 403


def test_mailings_are_shown_to_their_own_organisation_read_only(
    staff_client, woerden_author, utrecht_author, make_mailing
):
    woerden_mailing = make_mailing(woerden_author, subject="Inbraak Woerden")
    utrecht_mailing = make_mailing(utrecht_author, subject="Inbraak Utrecht")
    client = staff_client(woerden_author)
    page = client.get(MAILINGS).content.decode()
    assert "Inbraak Woerden" in page and "Inbraak Utrecht" not in page
    assert is_not_found(client.get(change_url(utrecht_mailing)))
    detail = client.get(change_url(woerden_mailing))
    assert detail.status_code == 200
    assert 'name="subject"' not in detail.content.decode()
    assert client.post(change_url(woerden_mailing), {"subject": "x"}).status_code == 403
    assert client.get(reverse("admin:mail_mailing_add")).status_code == 403


@pytest.fixture
def response_with_contact(utrecht_author, make_mailing, make_reader):
    reader = make_reader(("3511 AA", 5))
    mailing = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    answer = Response.objects.create(
        mailing=mailing,
        participant=reader,
        contact_name="Jan Getuige",
        contact_phone="+31612345678",
        may_call=True,
        number=1,
    )
    ResponseEntry.objects.create(response=answer, observation="Een man met een rode jas.")
    return answer


def test_response_contact_details_are_shown_to_managers_only(
    staff_client, utrecht_author, manager, response_with_contact
):
    author_page = staff_client(utrecht_author).get(change_url(response_with_contact))
    assert author_page.status_code == 200
    text = author_page.content.decode()
    assert "Een man met een rode jas." in text
    assert "Jan Getuige" not in text and "+31612345678" not in text
    manager_page = staff_client(manager).get(change_url(response_with_contact)).content.decode()
    assert "Jan Getuige" in manager_page and "+31612345678" in manager_page


def test_responses_of_another_organisation_are_not_found(
    staff_client, woerden_author, response_with_contact
):
    client = staff_client(woerden_author)
    assert is_not_found(client.get(change_url(response_with_contact)))
    listing = client.get(reverse("admin:mail_response_changelist")).content.decode()
    assert change_url(response_with_contact) not in listing
    assert response_with_contact.mailing.subject not in listing


# Images and photos: linked through the checked views, never under /media/ -----------------


def test_a_mailings_image_links_to_the_checked_image_view(
    staff_client, woerden_author, make_mailing
):
    mailing = make_mailing(woerden_author, image=jpeg_upload())
    client = staff_client(woerden_author)
    page = client.get(change_url(mailing)).content.decode()
    image_url = reverse("mail_public:image", kwargs={"ref": mailing.image_ref})
    assert f'href="{image_url}"' in page
    assert "/media/" not in page
    assert client.get(image_url).status_code == 200  # a draft's image, for its organisation


def test_a_mailing_without_an_image_shows_no_image_link(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(woerden_author)
    page = staff_client(woerden_author).get(change_url(mailing)).content.decode()
    assert reverse("mail_public:image", kwargs={"ref": mailing.image_ref}) not in page


def test_a_responses_photo_links_to_the_inbox_photo_view(
    staff_client, utrecht_author, manager, response_with_contact
):
    entry = ResponseEntry.objects.create(
        response=response_with_contact,
        observation="Een scooter zonder licht.",
        photo=photos.prepare(jpeg_upload()),
    )
    assert list(response_with_contact.entries.all())[1] == entry
    photo_url = reverse(
        "mail_inbox:photo",
        kwargs={"pk": response_with_contact.mailing_id, "number": 1, "entry": 2},
    )
    for user in (utrecht_author, manager):
        client = staff_client(user)
        page = client.get(change_url(response_with_contact)).content.decode()
        assert "Een scooter zonder licht." in page
        assert f'href="{photo_url}"' in page
        assert "/media/" not in page
        assert client.get(photo_url).status_code == 200
