"""The responses inbox of a mailing: who gets in (its organisation's mail staff and
managers; nobody else), statuses, photos through a checked view, and the CSV export."""

import csv
import io

import pytest
from django.urls import reverse

from apps.governance.models import AuditEntry
from apps.governance.roles import Role
from apps.mail import services
from apps.mail.models import Response

from .fixtures_public import *  # noqa: F403
from .fixtures_public import jpeg_upload, make_participant


@pytest.fixture
def answered(inquiry, participant):
    """A response with two entries, the second with a photo, and contact details."""
    services.response_submit(
        mailing=inquiry,
        participant=participant,
        observation='=HYPERLINK("http://evil") een man met een zaklamp',
        observed_when="dinsdagnacht, 3 uur",
        contact_name="Jan de Vries",
        contact_phone="+31612345678",
        contact_email="jan@example.nl",
        may_call=True,
    )
    services.response_submit(
        mailing=inquiry,
        participant=participant,
        observation="Ook een scooter; één foto",
        photo=jpeg_upload(size=(300, 200)),
    )
    return Response.objects.get(mailing=inquiry, participant=participant)


def inbox_url(mailing, **query) -> str:
    url = reverse("mail_inbox:inbox", kwargs={"pk": mailing.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def detail_url(response) -> str:
    return reverse(
        "mail_inbox:response", kwargs={"pk": response.mailing_id, "number": response.number}
    )


def photo_url(entry) -> str:
    """The photo of an entry: by the response's number and the entry's place in it."""
    response = entry.response
    position = list(response.entries.values_list("pk", flat=True)).index(entry.pk) + 1
    return reverse(
        "mail_inbox:photo",
        kwargs={"pk": response.mailing_id, "number": response.number, "entry": position},
    )


def export_url(mailing) -> str:
    return reverse("mail_inbox:export", kwargs={"pk": mailing.pk})


# Who gets in -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["woerden_author", "woerden_approver", "manager"])
def test_it_shows_the_responses_to_the_organisation_and_managers(
    request, staff_client, answered, who
):
    user = request.getfixturevalue(who)
    response = staff_client(user).get(inbox_url(answered.mailing))
    assert response.status_code == 200
    assert "een man met een zaklamp" not in response.content.decode()  # latest entry shown
    assert "Ook een scooter" in response.content.decode()


def test_a_mail_author_of_the_same_organisation_sees_every_response(
    staff_client, make_staff_user, org_woerden, answered
):
    colleague = make_staff_user("collega-woerden", org_woerden, [Role.MAIL_AUTHOR])
    client = staff_client(colleague)
    assert client.get(inbox_url(answered.mailing)).status_code == 200
    assert client.get(detail_url(answered)).status_code == 200
    assert client.get(export_url(answered.mailing)).status_code == 200


@pytest.mark.parametrize("who", ["utrecht_author", "police_team_user"])
def test_staff_of_another_organisation_get_404_everywhere(request, staff_client, answered, who):
    # The police team works in Woerden too, but the responses are the municipality's.
    client = staff_client(request.getfixturevalue(who))
    entry = answered.entries.exclude(photo="").get()
    urls = [inbox_url(answered.mailing), detail_url(answered), photo_url(entry)]
    urls.append(export_url(answered.mailing))
    for url in urls:
        assert client.get(url).status_code == 404, url
    status_url = reverse(
        "mail_inbox:response_status", kwargs={"pk": answered.mailing_id, "number": answered.number}
    )
    assert client.post(status_url, {"status": "followed_up"}).status_code == 404
    answered.refresh_from_db()
    assert answered.status == Response.Status.NEW


def test_staff_without_a_mail_role_get_403(staff_client, make_staff_user, org_woerden, answered):
    clerk = make_staff_user("baliemedewerker", org_woerden, [])
    assert staff_client(clerk).get(inbox_url(answered.mailing)).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, answered):
    response = client.get(inbox_url(answered.mailing))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("governance:login"))


def test_the_second_factor_is_required(staff_client, woerden_author, answered):
    response = staff_client(woerden_author, verified=False).get(inbox_url(answered.mailing))
    assert response.status_code == 302


# Reading and statuses --------------------------------------------------------------------


def test_opening_a_response_marks_it_read_and_shows_everything(
    staff_client, woerden_author, answered
):
    client = staff_client(woerden_author)
    page = client.get(detail_url(answered)).content.decode()
    answered.refresh_from_db()
    assert answered.status == Response.Status.READ
    assert "Jan de Vries" in page
    assert "06 12345678" in page
    assert "dinsdagnacht, 3 uur" in page
    entry = answered.entries.exclude(photo="").get()
    assert photo_url(entry) in page
    assert "/media/" not in page  # photos are never public media URLs
    opened = AuditEntry.objects.get(verb="mail.response.opened")
    assert opened.actor == woerden_author
    assert opened.detail == {"mailing": answered.mailing_id}


def test_listing_the_inbox_changes_no_status_and_is_audited(staff_client, woerden_author, answered):
    staff_client(woerden_author).get(inbox_url(answered.mailing))
    answered.refresh_from_db()
    assert answered.status == Response.Status.NEW
    assert AuditEntry.objects.filter(verb="mail.responses.viewed", actor=woerden_author).exists()


def test_staff_mark_a_response_followed_up(staff_client, woerden_author, answered):
    client = staff_client(woerden_author)
    url = reverse(
        "mail_inbox:response_status", kwargs={"pk": answered.mailing_id, "number": answered.number}
    )
    assert client.get(url).status_code == 405
    response = client.post(url, {"status": "followed_up"})
    assert response.status_code == 302
    answered.refresh_from_db()
    assert answered.status == Response.Status.FOLLOWED_UP
    entry = AuditEntry.objects.get(verb="mail.response.status")
    assert entry.detail == {"mailing": answered.mailing_id, "status": "followed_up"}


def test_an_unknown_status_changes_nothing(staff_client, woerden_author, answered):
    url = reverse(
        "mail_inbox:response_status", kwargs={"pk": answered.mailing_id, "number": answered.number}
    )
    assert staff_client(woerden_author).post(url, {"status": "weg"}).status_code == 400
    answered.refresh_from_db()
    assert answered.status == Response.Status.NEW


def test_it_filters_by_status(staff_client, woerden_author, inquiry, answered, woerden):
    other = make_participant(woerden)
    services.response_submit(mailing=inquiry, participant=other, observation="Niets bijzonders")
    Response.objects.filter(pk=answered.pk).update(status=Response.Status.FOLLOWED_UP)
    client = staff_client(woerden_author)
    followed = client.get(inbox_url(inquiry, status="followed_up")).content.decode()
    assert "Ook een scooter" in followed and "Niets bijzonders" not in followed
    new = client.get(inbox_url(inquiry, status="new")).content.decode()
    assert "Niets bijzonders" in new and "Ook een scooter" not in new
    everything = client.get(inbox_url(inquiry, status="onzin")).content.decode()
    assert "Niets bijzonders" in everything and "Ook een scooter" in everything


def test_a_response_of_another_mailing_is_not_found_under_this_one(
    staff_client, woerden_author, answered, preventive
):
    url = reverse("mail_inbox:response", kwargs={"pk": preventive.pk, "number": answered.number})
    assert staff_client(woerden_author).get(url).status_code == 404


# Photos ----------------------------------------------------------------------------------


def test_the_photo_view_serves_the_photo_privately(staff_client, woerden_author, answered):
    entry = answered.entries.exclude(photo="").get()
    response = staff_client(woerden_author).get(photo_url(entry))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_an_entry_without_a_photo_has_none_to_serve(staff_client, woerden_author, answered):
    entry = answered.entries.filter(photo="").get()
    assert staff_client(woerden_author).get(photo_url(entry)).status_code == 404


# CSV export ------------------------------------------------------------------------------


def test_the_export_is_semicolon_separated_utf8_with_bom(staff_client, woerden_author, answered):
    response = staff_client(woerden_author).get(export_url(answered.mailing))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, first, second = rows
    assert header[0] == "Reactie" and header[5] == "Wat gezien of gehoord"
    assert len(rows) == 3  # one row per entry
    # A cell that a spreadsheet would run as a formula is written as text.
    assert first[5].startswith("'=HYPERLINK")
    assert first[6] == "dinsdagnacht, 3 uur"
    assert first[7] == ""
    assert first[8:12] == ["Jan de Vries", "06 12345678", "jan@example.nl", "ja"]
    assert second[3] == "2"
    assert second[5] == "Ook een scooter; één foto"  # the ; and é survive
    entry = answered.entries.exclude(photo="").get()
    assert second[7] == "http://testserver" + photo_url(entry)
    exported = AuditEntry.objects.get(verb="mail.responses.exported")
    assert exported.detail == {"status": "all", "rows": 2}
    assert exported.actor == woerden_author


def test_the_export_follows_the_status_filter(staff_client, woerden_author, answered):
    url = export_url(answered.mailing) + "?status=followed_up"
    rows = staff_client(woerden_author).get(url).content.decode("utf-8-sig").splitlines()
    assert len(rows) == 1  # the header only


def test_it_refuses_to_serve_a_photo_of_another_mailing(
    staff_client, woerden_author, answered, preventive
):
    url = reverse(
        "mail_inbox:photo", kwargs={"pk": preventive.pk, "number": answered.number, "entry": 2}
    )
    assert staff_client(woerden_author).get(url).status_code == 404


def test_the_photo_is_stored_under_a_random_name(answered):
    entry = answered.entries.exclude(photo="").get()
    assert entry.photo.name.startswith("mail/responses/")
    assert "gezien" not in entry.photo.name


# Responses are numbered per mailing, not by database id ------------------------------------


def test_responses_are_numbered_within_their_mailing(
    staff_client, woerden_author, woerden, org_woerden
):
    from .fixtures_public import make_mailing

    first, second = (
        make_mailing(woerden_author, org_woerden),
        make_mailing(woerden_author, org_woerden),
    )
    people = [make_participant(woerden) for _ in range(3)]
    # Answers to the two mailings arrive mixed, so the ids interleave.
    for mailing, person in ((first, people[0]), (second, people[1]), (first, people[2])):
        services.response_submit(mailing=mailing, participant=person, observation="Gezien.")
    # An addition keeps the response's number.
    services.response_submit(mailing=first, participant=people[0], observation="En meer.")
    numbered = Response.objects.order_by("pk").values_list("mailing_id", "number")
    assert list(numbered) == [(first.pk, 1), (second.pk, 1), (first.pk, 2)]

    client = staff_client(woerden_author)
    page = client.get(inbox_url(second)).content.decode()
    only = Response.objects.get(mailing=second)
    # Its id comes after the first mailing's first response (any database, any sequence).
    assert only.number == 1 and only.pk > Response.objects.filter(mailing=first).earliest("pk").pk
    assert "Reactie 1" in page and "Reactie 2" not in page
    assert f"/mail/reacties/{second.pk}/reactie/1/" in page
    assert client.get(detail_url(only)).context["response"] == only
    # The number of another mailing's response finds nothing here.
    missing = reverse("mail_inbox:response", kwargs={"pk": second.pk, "number": 2})
    assert client.get(missing).status_code == 404
    rows = client.get(export_url(first)).content.decode("utf-8-sig").splitlines()[1:]
    assert sorted(row.split(";")[0] for row in rows) == ["1", "1", "2"]  # 1 has an addition
