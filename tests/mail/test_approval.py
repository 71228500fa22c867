"""Sending a mailing: straight out, or through a second person when the organisation
requires it; what the outbox receives; and what a submitted mailing no longer allows."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import AuditEntry
from apps.mail import services
from apps.mail.models import Mailing, MailingQuerySet, Response
from apps.mail.rendering import render_text

from .conftest import verdict

PC6 = {"kind": "pc6", "postcode": "3441AB"}


def url(name, mailing, *args):
    return reverse(f"mail:{name}", args=[mailing.pk, *args])


def audited(verb, mailing) -> bool:
    return AuditEntry.objects.filter(verb=verb, target_id=str(mailing.pk)).exists()


@pytest.fixture
def readers(make_reader):
    """Three Woerden participants in 3441 AB, and one whose mail bounced."""
    found = [make_reader(("3441 AB", n)) for n in (1, 2, 3)]
    make_reader(("3441 AB", 4), suppressed=True)
    return found


@pytest.fixture
def submitted(staff_client, woerden_author, make_mailing, readers):
    mailing = make_mailing(woerden_author, areas=[PC6])
    response = staff_client(woerden_author).post(url("send", mailing), {"confirm": "yes"})
    assert response.status_code == 302
    mailing.refresh_from_db()
    return mailing


# Asking for approval -----------------------------------------------------------------------


def test_versturen_submits_the_mailing_when_the_organisation_requires_approval(submitted):
    assert submitted.state == Mailing.State.SUBMITTED
    assert submitted.submitted_by.username == "mail-woerden"
    assert submitted.message is None
    assert not OutgoingMessage.objects.exists()
    assert audited("mailing.submitted", submitted)


def test_the_approver_sees_the_preview_areas_and_count_before_approving(
    staff_client, woerden_approver, submitted
):
    response = staff_client(woerden_approver).get(url("detail", submitted))
    page = response.content.decode()
    assert 'id="approve-form"' in page
    # Three recipients: shown as fewer than ten (policy.shown_count), not as the number.
    assert "Goedkeuren en versturen naar minder dan 10 ontvangers" in page
    assert response.context["version"] == services.mailing_version(submitted)
    assert f'name="version" value="{services.mailing_version(submitted)}"' in page
    assert "3441AB" in page
    assert "<li>personen</li>" in response.context["preview"]["html"]


def test_a_submitted_mailing_cannot_be_edited(staff_client, woerden_author, submitted):
    client = staff_client(woerden_author)
    edit = client.post(url("edit", submitted), {"subject": "Later gewijzigd", "kind": "crisis"})
    assert edit.status_code == 409
    added = client.post(url("areas", submitted), {"kind": "pc4", "postcode": "3442"})
    assert added.status_code == 409
    removed = client.post(url("area_remove", submitted, submitted.areas.get().pk))
    assert removed.status_code == 409
    with pytest.raises(ValidationError):
        services.mailing_update(mailing=submitted, by=submitted.author, subject="Via de service")
    submitted.refresh_from_db()
    assert submitted.subject != "Later gewijzigd"
    assert submitted.areas.count() == 1
    assert submitted.state == Mailing.State.SUBMITTED


def test_the_author_cannot_approve_the_own_mailing(
    staff_client, woerden_author_and_approver, make_mailing, readers
):
    mailing = make_mailing(woerden_author_and_approver, areas=[PC6])
    client = staff_client(woerden_author_and_approver)
    client.post(url("send", mailing), {"confirm": "yes"})
    page = client.get(url("detail", mailing)).content.decode()
    assert 'id="approve-form"' not in page
    assert client.post(url("approve", mailing)).status_code == 403
    assert client.post(url("reject", mailing), {"reason": "zelf"}).status_code == 403
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SUBMITTED
    assert not OutgoingMessage.objects.exists()


def test_an_author_who_submits_a_colleagues_mailing_cannot_approve_it(
    woerden_author, woerden_author_and_approver, make_mailing, readers
):
    mailing = make_mailing(woerden_author, areas=[PC6])
    services.mailing_submit(mailing=mailing, by=woerden_author_and_approver)
    with pytest.raises(PermissionDenied):
        services.mailing_approve(
            mailing=mailing,
            by=woerden_author_and_approver,
            version=services.mailing_version(mailing),
        )


def test_an_approver_of_another_organisation_cannot_approve(
    staff_client, utrecht_approver, submitted
):
    client = staff_client(utrecht_approver)
    assert client.post(url("approve", submitted)).status_code == 404
    with pytest.raises(PermissionDenied):
        services.mailing_approve(
            mailing=submitted, by=utrecht_approver, version=services.mailing_version(submitted)
        )
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SUBMITTED


def test_a_mail_author_without_the_approver_role_cannot_approve(
    staff_client, make_staff_user, org_woerden, submitted
):
    from apps.governance.roles import Role

    colleague = make_staff_user("collega-woerden", org_woerden, [Role.MAIL_AUTHOR])
    assert staff_client(colleague).post(url("approve", submitted)).status_code == 403


# Approving and rejecting -------------------------------------------------------------------


def test_approval_sends_one_email_delivery_per_recipient(
    staff_client, woerden_approver, submitted, readers
):
    response = verdict(staff_client(woerden_approver), "approve", submitted)
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SENT
    assert submitted.approved_by == woerden_approver
    assert submitted.sent_at is not None
    assert submitted.recipient_count == 3
    message = submitted.message
    assert message.source == f"mail.mailing:{submitted.pk}"
    assert message.title == submitted.subject
    assert message.body == render_text(submitted.body)
    assert message.urgency == OutgoingMessage.Urgency.NORMAL
    deliveries = Delivery.objects.filter(message=message)
    assert sorted(deliveries.values_list("participant_id", flat=True)) == sorted(
        p.pk for p in readers
    )
    assert set(deliveries.values_list("channel", "state")) == {("email", "queued")}
    assert audited("mailing.approved", submitted) and audited("mailing.sent", submitted)


def test_rejection_returns_the_mailing_to_draft_with_the_reason(
    staff_client, woerden_approver, woerden_author, submitted
):
    reason = "Noem de straat niet: het slachtoffer is herkenbaar."
    response = verdict(staff_client(woerden_approver), "reject", submitted, reason=reason)
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.DRAFT
    assert submitted.rejection_reason == reason
    assert not OutgoingMessage.objects.exists()
    assert audited("mailing.rejected", submitted)
    page = staff_client(woerden_author).get(url("detail", submitted)).content.decode()
    assert reason in page
    # Back to draft: the author may change it again.
    edit = staff_client(woerden_author).get(url("edit", submitted))
    assert edit.status_code == 200


def test_a_rejection_needs_a_reason(staff_client, woerden_approver, submitted):
    response = staff_client(woerden_approver).post(url("reject", submitted), {"reason": "  "})
    assert response.status_code == 400
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SUBMITTED


def test_the_author_may_withdraw_a_submitted_mailing(staff_client, woerden_author, submitted):
    assert staff_client(woerden_author).post(url("withdraw", submitted)).status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.DRAFT
    assert audited("mailing.withdrawn", submitted)


def test_only_a_submitted_mailing_is_approved_rejected_or_withdrawn(
    woerden_author, woerden_approver, submitted
):
    version = services.mailing_version(submitted)
    services.mailing_withdraw(mailing=submitted, by=woerden_author)
    calls = (
        lambda: services.mailing_approve(mailing=submitted, by=woerden_approver, version=version),
        lambda: services.mailing_reject(
            mailing=submitted, by=woerden_approver, reason="Nee.", version=version
        ),
        lambda: services.mailing_withdraw(mailing=submitted, by=woerden_author),
    )
    for call in calls:
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.code == "state"
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.DRAFT
    assert AuditEntry.objects.filter(verb="mailing.withdrawn").count() == 1


# Sending without approval ------------------------------------------------------------------


def test_without_required_approval_the_author_sends_directly(
    staff_client, utrecht_author, make_mailing, make_reader
):
    reader = make_reader(("3511 AA", 5))
    mailing = make_mailing(
        utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}], incident_place="Utrecht"
    )
    client = staff_client(utrecht_author)
    assert client.get(url("send", mailing)).status_code == 405
    assert client.post(url("send", mailing), {"confirm": "yes"}).status_code == 302
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.SENT
    assert mailing.approved_by is None
    delivery = Delivery.objects.get(message=mailing.message)
    assert (delivery.participant_id, delivery.channel) == (reader.pk, "email")
    page = client.get(url("detail", mailing)).content.decode()
    assert 'id="delivery-counts"' in page
    assert "0</strong> reacties" in page


def test_sending_needs_the_confirmation(staff_client, utrecht_author, make_mailing, make_reader):
    make_reader(("3511 AA", 5))
    mailing = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    response = staff_client(utrecht_author).post(url("send", mailing))
    assert response.status_code == 400
    mailing.refresh_from_db()
    assert mailing.state == Mailing.State.DRAFT


def test_a_mailing_needs_an_area(staff_client, utrecht_author, make_mailing):
    no_areas = make_mailing(utrecht_author)
    first = staff_client(utrecht_author).post(url("send", no_areas), {"confirm": "yes"})
    assert first.status_code == 400
    assert "ten minste één gebied" in first.content.decode()
    assert not OutgoingMessage.objects.exists()


def test_a_mailing_to_nobody_answers_as_one_to_a_few_so_no_house_is_told_apart(
    staff_client, utrecht_author, make_mailing, make_reader
):
    make_reader(("3511 AA", 5), email_confirmed=False)  # nobody who reads Burgernetmail
    make_reader(("3512 AB", 5))
    nobody = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    one = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3512AB"}])
    client = staff_client(utrecht_author)

    answers = [client.post(url("send", m), {"confirm": "yes"}, follow=True) for m in (nobody, one)]

    assert [a.status_code for a in answers] == [200, 200]
    said = [[str(m) for m in a.context["messages"]] for a in answers]
    assert said[0] == said[1] and "minder dan 10" in said[0][0]
    nobody.refresh_from_db()
    one.refresh_from_db()
    assert (nobody.state, nobody.recipient_count) == (Mailing.State.SENT, 0)
    assert (one.state, one.recipient_count) == (Mailing.State.SENT, 1)


def test_a_sent_mailing_is_not_sent_again(utrecht_author, make_mailing, make_reader):
    make_reader(("3511 AA", 5))
    mailing = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    services.mailing_submit(mailing=mailing, by=utrecht_author)
    with pytest.raises(ValidationError):
        services.mailing_submit(mailing=mailing, by=utrecht_author)
    with pytest.raises(ValidationError):
        services.mailing_fan_out(mailing=mailing, by=utrecht_author)
    assert OutgoingMessage.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_the_mailing_page_counts_responses(staff_client, utrecht_author, make_mailing, make_reader):
    reader = make_reader(("3511 AA", 5))
    mailing = make_mailing(utrecht_author, areas=[{"kind": "pc6", "postcode": "3511AA"}])
    services.mailing_submit(mailing=mailing, by=utrecht_author)
    Response.objects.create(mailing=mailing, participant=reader, number=1)
    page = staff_client(utrecht_author).get(url("detail", mailing)).content.decode()
    assert "1</strong> reactie." in page
    assert f"/mail/reacties/{mailing.pk}/" in page


# Who sees a mailing: one place decides -----------------------------------------------------


def test_visibility_is_decided_by_the_querysets_rule_alone(
    submitted, woerden_approver, manager, utrecht_approver, monkeypatch
):
    assert submitted.is_visible_to(woerden_approver)
    assert submitted.is_visible_to(manager)  # a country-wide manager sees every mailing
    assert not submitted.is_visible_to(utrecht_approver)
    assert services.may_approve(woerden_approver, submitted)
    # When the rule says no, every path says no: the check, approving, and the verbs.
    monkeypatch.setattr(MailingQuerySet, "visible_to", lambda qs, user: qs.none())
    assert not submitted.is_visible_to(woerden_approver)
    assert not services.may_approve(woerden_approver, submitted)
    with pytest.raises(PermissionDenied):
        services.mailing_approve(
            mailing=submitted, by=woerden_approver, version=services.mailing_version(submitted)
        )


# Approval names the version it approves ----------------------------------------------------


def test_an_approver_cannot_approve_a_text_changed_since_the_page_was_opened(
    staff_client, woerden_author, woerden_approver, submitted
):
    approver = staff_client(woerden_approver)
    opened = approver.get(url("detail", submitted)).context["version"]
    # Meanwhile the author takes it back, changes the text and submits it again.
    services.mailing_withdraw(mailing=submitted, by=woerden_author)
    services.mailing_update(mailing=submitted, by=woerden_author, body="Een andere tekst.")
    services.mailing_submit(mailing=submitted, by=woerden_author)

    refused = approver.post(url("approve", submitted), {"version": opened})
    assert refused.status_code == 400
    assert "Deze mailing is gewijzigd sinds u hem opende." in refused.content.decode()
    submitted.refresh_from_db()
    assert (submitted.state, submitted.approved_by) == (Mailing.State.SUBMITTED, None)
    assert not OutgoingMessage.objects.exists()
    assert not audited("mailing.approved", submitted)

    # Opened again, the page shows the new text and names its version: that is approved.
    page = approver.get(url("detail", submitted))
    assert "Een andere tekst." in page.context["preview"]["text"]
    assert page.context["version"] != opened
    approved = approver.post(url("approve", submitted), {"version": page.context["version"]})
    assert approved.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SENT
    assert submitted.message.body == render_text("Een andere tekst.")


def test_a_rejection_names_the_version_too(
    staff_client, woerden_author, woerden_approver, submitted
):
    approver = staff_client(woerden_approver)
    opened = approver.get(url("detail", submitted)).context["version"]
    services.mailing_withdraw(mailing=submitted, by=woerden_author)
    services.mailing_update(mailing=submitted, by=woerden_author, subject="Nieuw onderwerp")
    services.mailing_submit(mailing=submitted, by=woerden_author)
    refused = approver.post(url("reject", submitted), {"version": opened, "reason": "Nee."})
    assert refused.status_code == 400
    assert "gewijzigd sinds u hem opende" in refused.content.decode()
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SUBMITTED and submitted.rejection_reason == ""


def test_approving_without_a_version_is_refused(staff_client, woerden_approver, submitted):
    assert staff_client(woerden_approver).post(url("approve", submitted)).status_code == 400
    with pytest.raises(ValidationError) as refused:
        services.mailing_approve(mailing=submitted, by=woerden_approver, version="")
    assert refused.value.code == "changed"
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SUBMITTED


def change_area(mailing, by):
    services.area_add(mailing=mailing, by=by, kind="pc6", postcode="3441AC")


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Ander onderwerp"},
        {"body": "Andere tekst"},
        {"kind": "preventive"},
        {"incident_place": "Molenstraat, Woerden"},
        {"response_days": 7},
        {"image": "upload"},
        "area",
    ],
    ids=str,
)
def test_every_part_of_what_is_sent_changes_the_version(
    woerden_author, make_mailing, readers, image_upload, change
):
    mailing = make_mailing(woerden_author, areas=[PC6])
    before = services.mailing_version(mailing)
    assert services.mailing_version(mailing) == before  # the same mailing, the same version
    if change == "area":
        change_area(mailing, woerden_author)
    elif change == {"image": "upload"}:
        services.mailing_update(mailing=mailing, by=woerden_author, image=image_upload)
    else:
        services.mailing_update(mailing=mailing, by=woerden_author, **change)
    assert services.mailing_version(mailing) != before


def test_a_mailing_withdrawn_and_submitted_unchanged_keeps_its_version(
    staff_client, woerden_author, woerden_approver, submitted
):
    approver = staff_client(woerden_approver)
    opened = approver.get(url("detail", submitted)).context["version"]
    services.mailing_withdraw(mailing=submitted, by=woerden_author)
    services.mailing_submit(mailing=submitted, by=woerden_author)
    assert approver.post(url("approve", submitted), {"version": opened}).status_code == 302


# Managers follow mailings; they neither write nor approve them -----------------------------


def test_a_manager_cannot_approve_another_organisations_mailing(staff_client, manager, submitted):
    client = staff_client(manager)
    page = client.get(url("detail", submitted))
    assert page.status_code == 200  # a country-wide manager follows every mailing
    assert 'id="approve-form"' not in page.content.decode()
    assert not services.may_approve(manager, submitted)
    version = services.mailing_version(submitted)
    assert client.post(url("approve", submitted), {"version": version}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.mailing_approve(mailing=submitted, by=manager, version=version)
    with pytest.raises(PermissionDenied):
        services.mailing_reject(mailing=submitted, by=manager, reason="Nee.", version=version)
    submitted.refresh_from_db()
    assert submitted.state == Mailing.State.SUBMITTED


def test_a_manager_cannot_write_a_mailing(staff_client, manager, readers):
    """Today's finding: a manager alone sent a crisis mail to Woerden and Utrecht."""
    from .conftest import inquiry_fields

    with pytest.raises(PermissionDenied):
        services.mailing_create(by=manager, **inquiry_fields(kind="crisis"))
    client = staff_client(manager)
    assert client.get(reverse("mail:create")).status_code == 403
    assert client.post(reverse("mail:create"), inquiry_fields(kind="crisis")).status_code == 403
    assert not Mailing.objects.exists()


def test_a_manager_cannot_change_or_send_another_organisations_draft(
    staff_client, manager, woerden_author, make_mailing, readers
):
    mailing = make_mailing(woerden_author, areas=[PC6])
    calls = (
        lambda: services.mailing_update(mailing=mailing, by=manager, subject="Van de beheerder"),
        lambda: services.area_add(mailing=mailing, by=manager, kind="pc4", postcode="3511"),
        lambda: services.mailing_submit(mailing=mailing, by=manager),
    )
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    client = staff_client(manager)
    assert client.post(url("send", mailing), {"confirm": "yes"}).status_code == 403
    mailing.refresh_from_db()
    assert (mailing.state, mailing.areas.count()) == (Mailing.State.DRAFT, 1)


def test_an_approver_who_is_also_a_manager_approves_the_own_organisation_only(
    staff_client, make_staff_user, org_utrecht, org_woerden, submitted
):
    from apps.governance.roles import Role

    utrecht = make_staff_user("beheer-utrecht", org_utrecht, [Role.MANAGER, Role.MAIL_APPROVER])
    woerden = make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER, Role.MAIL_APPROVER])
    assert not services.may_approve(utrecht, submitted)
    assert services.may_approve(woerden, submitted)


def test_a_superuser_of_another_organisation_cannot_approve(
    make_staff_user, org_management, submitted
):
    root = make_staff_user("root", org_management, [], is_superuser=True)
    assert submitted.is_visible_to(root)
    assert not services.may_approve(root, submitted)
