"""The mail screens: start from a template, write a draft, choose areas, see the count and
the preview — and another organisation finds none of it."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from apps.channels.models import OutgoingMessage
from apps.governance.models import AuditEntry
from apps.mail import services
from apps.mail.models import Mailing, MailingArea, MailTemplate
from apps.web import photos
from tests import hostile_photos

from .conftest import WOERDEN, inquiry_fields, verdict


def form_data(**overrides) -> dict:
    fields = inquiry_fields()
    fields["incident_date"] = fields["incident_date"].isoformat()
    fields.update(overrides)
    return fields


def url(name, mailing, *args):
    return reverse(f"mail:{name}", args=[mailing.pk, *args])


# Starting and writing ----------------------------------------------------------------------


def test_it_offers_national_and_own_templates_and_starts_from_one(
    staff_client, woerden_author, org_utrecht, org_woerden
):
    national = MailTemplate.objects.create(
        kind="preventive", name="Zakkenrollers", subject="Let op: zakkenrollers", body="Tips."
    )
    own = MailTemplate.objects.create(
        kind="inquiry", name="Eigen Woerden", subject="S", body="B", organisation=org_woerden
    )
    other = MailTemplate.objects.create(
        kind="inquiry", name="Alleen Utrecht", subject="S", body="B", organisation=org_utrecht
    )
    client = staff_client(woerden_author)
    page = client.get(reverse("mail:create")).content.decode()
    assert national.name in page and own.name in page
    assert other.name not in page
    started = client.get(reverse("mail:create"), {"sjabloon": national.pk})
    assert started.context["form"].initial["subject"] == "Let op: zakkenrollers"
    assert started.context["form"].initial["kind"] == "preventive"
    ignored = client.get(reverse("mail:create"), {"sjabloon": other.pk})
    assert "subject" not in ignored.context["form"].initial


def test_it_saves_a_draft_of_the_authors_organisation(staff_client, woerden_author):
    response = staff_client(woerden_author).post(reverse("mail:create"), form_data())
    mailing = Mailing.objects.get()
    assert response.status_code == 302
    assert response.url == url("areas", mailing)
    assert (mailing.organisation, mailing.author, mailing.state) == (
        woerden_author.organisation,
        woerden_author,
        Mailing.State.DRAFT,
    )
    assert AuditEntry.objects.filter(verb="mailing.created", target_id=str(mailing.pk)).exists()


@pytest.mark.parametrize("missing", ["incident_date", "incident_place"])
def test_a_buurtonderzoek_needs_the_incident_date_and_place(staff_client, woerden_author, missing):
    response = staff_client(woerden_author).post(reverse("mail:create"), form_data(**{missing: ""}))
    assert response.status_code == 400
    assert missing in response.context["form"].errors
    assert not Mailing.objects.exists()


def test_the_incident_rule_is_one_rule_for_the_form_the_service_and_the_model(woerden_author):
    from datetime import timedelta

    from django.utils import timezone

    from apps.mail.forms import MailingForm
    from apps.mail.models import MSG_INCIDENT_FUTURE, incident_problems

    tomorrow = timezone.localdate() + timedelta(days=1)
    assert incident_problems("inquiry", tomorrow, "Woerden") == {
        "incident_date": MSG_INCIDENT_FUTURE
    }
    assert incident_problems("inquiry", None, " ").keys() == {"incident_date", "incident_place"}
    assert incident_problems("preventive", None, "") == {}
    form = MailingForm(data=form_data(incident_date=tomorrow.isoformat()))
    assert form.errors["incident_date"] == [MSG_INCIDENT_FUTURE]
    with pytest.raises(ValidationError) as refused:
        services.mailing_create(
            by=woerden_author, **{**inquiry_fields(), "incident_date": tomorrow}
        )
    assert refused.value.message_dict == {"incident_date": [MSG_INCIDENT_FUTURE]}
    with pytest.raises(ValidationError) as refused:
        Mailing(**{**inquiry_fields(), "incident_place": ""}).clean()
    assert "incident_place" in refused.value.message_dict


def test_a_preventive_mail_needs_no_incident(staff_client, woerden_author):
    data = form_data(kind="preventive", incident_date="", incident_place="")
    assert staff_client(woerden_author).post(reverse("mail:create"), data).status_code == 302


def test_it_refuses_a_subject_longer_than_the_outbox_title(staff_client, woerden_author):
    response = staff_client(woerden_author).post(
        reverse("mail:create"), form_data(subject="x" * 121)
    )
    assert response.status_code == 400
    assert not Mailing.objects.exists()


def test_it_refuses_a_file_that_is_not_an_image(staff_client, woerden_author, fake_image_upload):
    data = form_data(image=fake_image_upload)
    response = staff_client(woerden_author).post(reverse("mail:create"), data)
    assert response.status_code == 400
    assert "geen foto" in " ".join(response.context["form"].errors["image"])
    assert not Mailing.objects.exists()


def test_it_stores_a_real_image_without_its_metadata(staff_client, woerden_author, image_upload):
    response = staff_client(woerden_author).post(
        reverse("mail:create"), form_data(image=image_upload)
    )
    assert response.status_code == 302
    mailing = Mailing.objects.get()
    with Image.open(mailing.image.path) as stored:
        assert not stored.getexif()
    assert "straat" not in mailing.image.name  # a random name, not the uploader's


def test_it_saves_changes_to_a_draft(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(woerden_author)
    response = staff_client(woerden_author).post(
        url("edit", mailing), form_data(subject="Nieuw onderwerp")
    )
    assert response.status_code == 302
    mailing.refresh_from_db()
    assert mailing.subject == "Nieuw onderwerp"
    assert AuditEntry.objects.filter(verb="mailing.changed", target_id=str(mailing.pk)).exists()


def test_a_mail_approver_cannot_write_mailings(staff_client, woerden_approver):
    client = staff_client(woerden_approver)
    assert client.get(reverse("mail:create")).status_code == 403
    assert client.post(reverse("mail:create"), form_data()).status_code == 403
    assert not Mailing.objects.exists()


def test_it_sends_whoever_is_not_logged_in_to_the_log_in(client):
    response = client.get(reverse("mail:index"))
    assert response.status_code == 302
    assert reverse("governance:login") in response.url


# Areas and the count -----------------------------------------------------------------------


def test_it_adds_a_street_with_a_normalised_postcode(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(woerden_author)
    data = {"kind": "street", "postcode": "3441 ab", "house_number_from": 2, "house_number_to": 8}
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 302
    area = mailing.areas.get()
    assert (area.postcode, area.house_number_from, area.house_number_to) == ("3441AB", 2, 8)
    assert AuditEntry.objects.filter(verb="mailing.area_added").exists()


@pytest.mark.parametrize(
    "data, field, message",
    [
        (
            {"kind": "street", "postcode": "3441AB", "house_number_from": 9, "house_number_to": 2},
            "house_number_to",
            "niet hoger",
        ),
        ({"kind": "pc6", "postcode": "34AB"}, "postcode", "zes tekens"),
        ({"kind": "pc4", "postcode": "3511"}, "postcode", "buiten het werkgebied"),
        ({"kind": "circle", "lat": "", "lon": "", "radius_m": 300}, "lat", "midden"),
        ({"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 10}, "radius_m", ""),
    ],
)
def test_it_refuses_a_bad_area_with_an_error_on_its_field(
    staff_client, woerden_author, make_mailing, data, field, message
):
    mailing = make_mailing(woerden_author)
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert not MailingArea.objects.exists()


def test_it_offers_only_municipalities_in_scope(
    staff_client, woerden_author, make_mailing, utrecht
):
    mailing = make_mailing(woerden_author, kind="preventive")
    data = {"kind": "municipality", "municipality": utrecht.pk}
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 400
    assert not MailingArea.objects.exists()


# The size of the group follows the message: a street for a burglary, a municipality for a
# warning.

WIDE_CIRCLE = {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 2500}


@pytest.mark.parametrize(
    "data, field",
    [({"kind": "municipality"}, "municipality"), (WIDE_CIRCLE, "radius_m")],
)
def test_a_buurtonderzoek_refuses_a_municipality_or_a_wide_circle_on_its_field(
    staff_client, woerden_author, make_mailing, woerden, data, field
):
    if data["kind"] == "municipality":
        data = {**data, "municipality": woerden.pk}
    mailing = make_mailing(woerden_author)
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert "Een buurtonderzoek gaat naar de buurt van het voorval" in errors
    assert f'href="#id_{field}"' in response.content.decode()
    assert not MailingArea.objects.exists()
    assert not AuditEntry.objects.filter(verb="mailing.area_added").exists()


@pytest.mark.parametrize("data", [{"kind": "municipality"}, WIDE_CIRCLE])
def test_a_preventive_mail_may_go_to_a_municipality_or_a_wide_circle(
    staff_client, woerden_author, make_mailing, woerden, data
):
    if data["kind"] == "municipality":
        data = {**data, "municipality": woerden.pk}
    mailing = make_mailing(woerden_author, kind="preventive")
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 302
    assert mailing.areas.get().kind == data["kind"]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "circle", "lat": WOERDEN[0], "lon": WOERDEN[1], "radius_m": 2000},
        {"kind": "street", "postcode": "3441 AB", "house_number_from": 1, "house_number_to": 9},
    ],
)
def test_a_buurtonderzoek_may_go_to_a_street_or_a_circle_of_2000_m(
    staff_client, woerden_author, make_mailing, data
):
    mailing = make_mailing(woerden_author)
    response = staff_client(woerden_author).post(url("areas", mailing), data)
    assert response.status_code == 302
    assert mailing.areas.get().kind == data["kind"]


def test_the_count_endpoint_refuses_a_municipality_for_a_buurtonderzoek(
    staff_client, woerden_author, make_mailing, woerden
):
    mailing = make_mailing(woerden_author)
    answer = staff_client(woerden_author).get(
        url("recipient_count", mailing), {"kind": "municipality", "municipality": woerden.pk}
    )
    assert answer.status_code == 400
    assert "buurtonderzoek" in " ".join(answer.json()["errors"]["municipality"])


def test_the_areas_page_tells_a_buurtonderzoek_which_areas_it_may_use(
    staff_client, woerden_author, make_mailing
):
    client = staff_client(woerden_author)
    inquiry = client.get(url("areas", make_mailing(woerden_author))).content.decode()
    assert "cirkel van hooguit 2.000 meter" in inquiry
    assert "Een waarschuwing" not in inquiry
    warning = make_mailing(woerden_author, kind="preventive")
    page = client.get(url("areas", warning)).content.decode()
    assert "Een waarschuwing: een wijk of de hele gemeente." in page
    assert "hooguit 2.000 meter" not in page


def test_changing_the_kind_to_buurtonderzoek_after_a_municipality_blocks_sending(
    staff_client, woerden_author, make_mailing, make_reader, woerden
):
    make_reader(("3441 AB", 1))
    mailing = make_mailing(
        woerden_author,
        kind="preventive",
        areas=[{"kind": "municipality", "municipality": woerden}],
    )
    client = staff_client(woerden_author)
    assert client.post(url("edit", mailing), form_data(kind="inquiry")).status_code == 302
    mailing.refresh_from_db()
    assert mailing.kind == "inquiry"
    assert "te groot voor een buurtonderzoek" in client.get(url("detail", mailing)).content.decode()
    response = client.post(url("send", mailing), {"confirm": "yes"})
    assert response.status_code == 400
    assert "te groot voor een buurtonderzoek" in response.content.decode()
    mailing.refresh_from_db()
    assert (mailing.state, mailing.submitted_at) == (Mailing.State.DRAFT, None)
    assert not AuditEntry.objects.filter(verb="mailing.submitted").exists()


def test_an_approver_cannot_approve_a_buurtonderzoek_to_a_whole_municipality(
    staff_client, woerden_author, woerden_approver, make_mailing, make_reader, woerden
):
    make_reader(("3441 AB", 1))
    mailing = make_mailing(
        woerden_author,
        kind="preventive",
        areas=[{"kind": "municipality", "municipality": woerden}],
    )
    services.mailing_submit(mailing=mailing, by=woerden_author)
    # A mailing submitted before the rule, or changed behind the screens.
    Mailing.objects.filter(pk=mailing.pk).update(kind="inquiry")
    response = verdict(staff_client(woerden_approver), "approve", mailing)
    assert response.status_code == 400
    assert "te groot voor een buurtonderzoek" in response.content.decode()
    mailing.refresh_from_db()
    assert (mailing.state, mailing.approved_by) == (Mailing.State.SUBMITTED, None)
    assert not OutgoingMessage.objects.exists()


def test_it_removes_an_area(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc4", "postcode": "3441"}])
    area = mailing.areas.get()
    client = staff_client(woerden_author)
    assert client.get(url("area_remove", mailing, area.pk)).status_code == 405
    assert client.post(url("area_remove", mailing, area.pk)).status_code == 302
    assert not mailing.areas.exists()


def test_the_count_endpoint_counts_the_areas_and_the_one_being_added(
    staff_client, woerden_author, make_mailing, make_reader
):
    for number in range(1, 11):
        make_reader(("3441 AB", number))
    make_reader(("3441 AC", 1))
    make_reader(("3441 AC", 3))
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    client = staff_client(woerden_author)
    assert client.get(url("recipient_count", mailing)).json() == {"total": 10}
    answer = client.get(url("recipient_count", mailing), {"kind": "pc6", "postcode": "3441ac"})
    # Fewer than ten is all staff learn of an area (policy.shown_count).
    assert answer.json() == {"total": 10, "area": "minder dan 10", "with_area": 12}
    bad = client.get(url("recipient_count", mailing), {"kind": "pc4", "postcode": "3511"})
    assert bad.status_code == 400
    assert "buiten het werkgebied" in " ".join(bad.json()["errors"]["postcode"])


def test_the_areas_page_shows_the_map_and_the_count(
    staff_client, woerden_author, make_mailing, make_reader
):
    make_reader(("3441 AB", 1))
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc6", "postcode": "3441AB"}])
    page = staff_client(woerden_author).get(url("areas", mailing)).content.decode()
    assert 'id="area-map"' in page
    assert "<strong>minder dan 10</strong> ontvangers" in page
    assert 'id="map-areas"' in page


# The mailing page and the preview ----------------------------------------------------------


def test_the_preview_is_the_email_as_sent_with_links_as_placeholders(
    staff_client, woerden_author, make_mailing
):
    from apps.mail.email import render_email

    mailing = make_mailing(woerden_author, body="Hallo *buren*,\n\n- let op\n- bel 112")
    response = staff_client(woerden_author).get(url("detail", mailing))
    preview = response.context["preview"]
    sent = render_email(mailing)
    assert "<strong>buren</strong>" in preview["html"]
    assert "<li>let op</li>" in preview["html"]
    assert preview["html"] == sent.html.replace(
        "${respond_url}", "[persoonlijke reageerlink]"
    ).replace("${unsubscribe_url}", "[persoonlijke afmeldlink]")
    assert "[persoonlijke reageerlink]" in preview["text"]
    assert "[persoonlijke afmeldlink]" in preview["text"]
    assert "${" not in preview["text"] + preview["html"]
    page = response.content.decode()
    assert 'sandbox=""' in page and "srcdoc=" in page
    assert "Hallo *buren*," in page  # the text version


def test_html_in_subject_and_body_is_shown_harmlessly(staff_client, woerden_author, make_mailing):
    mailing = make_mailing(
        woerden_author,
        subject='<script>alert("onderwerp")</script>',
        body='<img src=x onerror=alert(1)>\n\n<a href="https://evil.example">klik</a>',
    )
    client = staff_client(woerden_author)
    response = client.get(url("detail", mailing))
    preview = response.context["preview"]
    assert "<script>" not in preview["html"]
    assert "<img src=x" not in preview["html"]
    assert '<a href="https://evil.example">klik</a>' not in preview["html"]  # the author's tag
    for page_url in (url("detail", mailing), reverse("mail:index")):
        page = client.get(page_url).content.decode()
        assert '<script>alert("onderwerp")' not in page
        assert "<img src=x" not in page
        assert '<a href="https://evil.example">klik</a>' not in page
        assert "&lt;script&gt;" in page


# Another organisation ----------------------------------------------------------------------


def test_another_municipality_finds_no_mailing_of_woerden(
    staff_client, woerden_author, utrecht_author, utrecht_approver, make_mailing
):
    mailing = make_mailing(woerden_author, areas=[{"kind": "pc4", "postcode": "3441"}])
    area = mailing.areas.get()
    author, approver = staff_client(utrecht_author), staff_client(utrecht_approver)
    assert author.get(url("detail", mailing)).status_code == 404
    assert author.get(url("edit", mailing)).status_code == 404
    assert author.post(url("edit", mailing), form_data(subject="Gekaapt")).status_code == 404
    assert author.get(url("areas", mailing)).status_code == 404
    assert (
        author.post(url("areas", mailing), {"kind": "pc4", "postcode": "3442"}).status_code == 404
    )
    assert author.post(url("area_remove", mailing, area.pk)).status_code == 404
    assert author.get(url("recipient_count", mailing)).status_code == 404
    assert author.post(url("send", mailing), {"confirm": "yes"}).status_code == 404
    assert approver.post(url("approve", mailing)).status_code == 404
    assert approver.post(url("reject", mailing), {"reason": "nee"}).status_code == 404
    assert mailing.subject not in author.get(reverse("mail:index")).content.decode()
    mailing.refresh_from_db()
    assert (mailing.subject, mailing.state, mailing.areas.count()) == (
        inquiry_fields()["subject"],
        Mailing.State.DRAFT,
        1,
    )


def test_a_police_team_of_the_same_area_does_not_see_the_municipalitys_mailing(
    staff_client, woerden_author, police_team_user, make_mailing
):
    mailing = make_mailing(woerden_author)
    assert staff_client(police_team_user).get(url("detail", mailing)).status_code == 404


def test_a_manager_sees_every_mailing(staff_client, woerden_author, manager, make_mailing):
    mailing = make_mailing(woerden_author)
    client = staff_client(manager)
    assert client.get(url("detail", mailing)).status_code == 200
    assert mailing.subject in client.get(reverse("mail:index")).content.decode()


# Counts of recipients: "minder dan 10" below ten -------------------------------------------

ONE_HOUSE = {"kind": "street", "postcode": "3441AB", "house_number_from": 12, "house_number_to": 12}


@pytest.mark.parametrize("living_there", [0, 1])
def test_one_house_is_counted_as_fewer_than_ten_whether_anyone_takes_part(
    staff_client, woerden_author, make_mailing, make_reader, living_there
):
    if living_there:
        make_reader(("3441 AB", 12))
    make_reader(("3441 AB", 14))  # a neighbour, outside the area
    mailing = make_mailing(woerden_author)
    client = staff_client(woerden_author)
    asked = client.get(
        url("recipient_count", mailing), {**ONE_HOUSE, "house_number_from": 12}
    ).json()
    assert asked == {
        "total": "minder dan 10",
        "area": "minder dan 10",
        "with_area": "minder dan 10",
    }
    services.area_add(mailing=mailing, by=woerden_author, **ONE_HOUSE)
    areas = client.get(url("areas", mailing))
    assert [row["count"] for row in areas.context["area_rows"]] == ["minder dan 10"]
    assert "<strong>minder dan 10</strong> ontvangers" in areas.content.decode()
    detail = client.get(url("detail", mailing)).content.decode()
    assert "Gaat bij versturen naar <strong>minder dan 10</strong> ontvangers." in detail
    assert client.get(url("recipient_count", mailing)).json() == {"total": "minder dan 10"}


def test_the_real_number_is_sent_and_audited_and_shown_from_ten_on(
    staff_client, utrecht_author, make_mailing, make_reader
):
    for number in range(1, 4):
        make_reader(("3511 AA", number))
    mailing = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    client = staff_client(utrecht_author)
    sent = client.post(url("send", mailing), {"confirm": "yes"}, follow=True).content.decode()
    assert "De mailing gaat naar minder dan 10 ontvangers." in sent
    assert "Verstuurd naar <strong>minder dan 10</strong> ontvangers." in sent
    mailing.refresh_from_db()
    assert mailing.recipient_count == 3
    audit = AuditEntry.objects.get(verb="mailing.sent", target_id=str(mailing.pk))
    assert audit.detail["recipients"] == 3
    index = client.get(reverse("mail:index")).content.decode()
    assert '<td class="num">minder dan 10</td>' in index
    Mailing.objects.filter(pk=mailing.pk).update(recipient_count=25)
    assert '<td class="num">25</td>' in client.get(reverse("mail:index")).content.decode()


# Template placeholders ---------------------------------------------------------------------


@pytest.fixture
def burglary_template(db):
    return MailTemplate.objects.create(
        kind="inquiry",
        name="Inbraak",
        subject="Inbraak in [plaats]",
        body="Op [datum] is er ingebroken.\n\nMet vriendelijke groet,\n[naam en organisatie]",
    )


def test_a_mailing_with_its_templates_placeholders_is_not_sent(
    staff_client, utrecht_author, make_mailing, make_reader, burglary_template
):
    make_reader(("3511 AA", 5))
    mailing = make_mailing(
        utrecht_author,
        areas=[{"kind": "pc6", "postcode": "3511AA"}],
        subject="Inbraak in Utrecht",
        body="Op [datum] is er ingebroken.\n\nMet vriendelijke groet,\n[naam en organisatie]",
    )
    problems = services.mailing_send_problems(mailing)
    assert any("[datum], [naam en organisatie]" in problem for problem in problems)
    with pytest.raises(ValidationError):
        services.mailing_submit(mailing=mailing, by=utrecht_author)
    response = staff_client(utrecht_author).post(url("send", mailing), {"confirm": "yes"})
    assert response.status_code == 400
    assert "[datum], [naam en organisatie]" in response.content.decode()
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.DRAFT
    assert not OutgoingMessage.objects.exists()


def test_a_placeholder_in_the_subject_counts_and_filled_in_it_goes(
    utrecht_author, make_mailing, make_reader, burglary_template
):
    make_reader(("3511 AA", 5))
    mailing = make_mailing(
        utrecht_author,
        areas=[{"kind": "pc6", "postcode": "3511AA"}],
        subject="Inbraak in [plaats]",
        body="Op 1 januari is er ingebroken [sic].\n\nGemeente Utrecht",
    )
    assert services.unfilled_placeholders(mailing) == ["[plaats]"]
    services.mailing_update(mailing=mailing, by=utrecht_author, subject="Inbraak in Utrecht")
    # Brackets that are no placeholder of a template ("[sic]") are the author's own.
    assert services.mailing_send_problems(mailing) == []
    services.mailing_submit(mailing=mailing, by=utrecht_author)
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SENT


def test_another_organisations_template_does_not_bind(
    utrecht_author, make_mailing, make_reader, org_woerden
):
    MailTemplate.objects.create(
        kind="inquiry", name="Eigen", subject="x", body="[wijk]", organisation=org_woerden
    )
    mailing = make_mailing(utrecht_author, body="Hallo [wijk]")
    assert services.unfilled_placeholders(mailing) == []


@pytest.mark.parametrize(
    "upload", [hostile_photos.header_truncated_jpeg, hostile_photos.data_truncated_jpeg]
)
def test_it_refuses_a_truncated_image(staff_client, woerden_author, upload):
    response = staff_client(woerden_author).post(reverse("mail:create"), form_data(image=upload()))

    assert response.status_code == 400
    assert str(photos.MSG_BROKEN) in response.content.decode()
    assert not Mailing.objects.exists()


# Free text and its counter (issue 10, item 10) ---------------------------------------------


def test_it_refuses_a_body_over_the_limit_in_the_service_too(woerden_author):
    from apps.mail.models import BODY_MAX

    with pytest.raises(ValidationError) as refused:
        services.mailing_create(by=woerden_author, **inquiry_fields(body="x" * (BODY_MAX + 1)))
    assert "body" in refused.value.message_dict
    assert BODY_MAX == 10_000
    assert not Mailing.objects.exists()


def test_it_stores_a_mailings_text_clean(staff_client, woerden_author):
    data = form_data(
        subject="Inbraak\u202e in uw straat", body="Hebt u\u200b iets gezien?\r\nBel ons."
    )
    assert staff_client(woerden_author).post(reverse("mail:create"), data).status_code == 302
    mailing = Mailing.objects.get()
    assert (mailing.subject, mailing.body) == (
        "Inbraak in uw straat",
        "Hebt u iets gezien?\nBel ons.",
    )


@pytest.mark.django_db
def test_a_template_written_in_the_admin_is_stored_clean():
    template = MailTemplate.objects.create(
        kind="inquiry", name="Inbraak\u2066", subject="Onderwerp\u200d", body="Tekst\ufeff"
    )
    template.refresh_from_db()
    assert (template.name, template.subject, template.body) == ("Inbraak", "Onderwerp", "Tekst")


def test_the_body_carries_its_counter_and_the_page_its_script(staff_client, woerden_author):
    html = staff_client(woerden_author).get(reverse("mail:create")).content.decode()
    field = re.search(r'<textarea[^>]*name="body"[^>]*>', html)[0]
    assert 'maxlength="10000"' in field and 'data-counter-left="' in field
    assert '<script src="/static/js/char-counter.js" defer></script>' in html
