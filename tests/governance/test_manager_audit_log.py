"""The managers' audit trail page: scoped to what the manager may read, filtered, paged,
exported as CSV (itself audited)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.governance import audit
from apps.governance.models import AuditEntry
from apps.governance.roles import Role

URL = reverse("governance:audit")
EXPORT = reverse("governance:audit_export")


@pytest.fixture
def woerden_manager(make_staff_user, org_woerden):
    return make_staff_user("beheer-woerden", org_woerden, [Role.MANAGER])


@pytest.fixture
def utrecht_manager(make_staff_user, org_utrecht):
    return make_staff_user("beheer-utrecht", org_utrecht, [Role.MANAGER])


def entry(actor, verb, *, target=None, at=None, detail=None):
    made = audit.record(verb=verb, actor=actor, target=target, detail=detail)
    if at is not None:
        AuditEntry.objects.filter(pk=made.pk).update(at=at)
        made.refresh_from_db()
    return made


def shown(response) -> list[int]:
    page = response.context["page"]
    return [] if page is None else [e.pk for e in page.object_list]


def local(year, month, day, hour=12):
    return timezone.make_aware(dt.datetime(year, month, day, hour))


def test_it_refuses_staff_without_the_manager_role(staff_client, operator_mn, woerden_author):
    assert staff_client(operator_mn).get(URL).status_code == 403
    assert staff_client(woerden_author).get(URL).status_code == 403
    assert staff_client(woerden_author).get(EXPORT).status_code == 403


def test_it_shows_a_municipal_manager_only_its_own_organisations_entries(
    staff_client, woerden_manager, woerden_author, utrecht_author, manager
):
    own = entry(woerden_author, "mailing.sent")
    other = entry(utrecht_author, "mailing.sent")
    national = entry(manager, "organisation.changed")

    response = staff_client(woerden_manager).get(URL)

    assert response.status_code == 200
    assert own.pk in shown(response)
    assert other.pk not in shown(response)
    assert national.pk not in shown(response)
    assert "mail-utrecht" not in response.text


def test_a_municipal_manager_sees_what_a_country_wide_manager_did_to_its_people(
    staff_client, woerden_manager, woerden_author, utrecht_author, manager, org_woerden
):
    to_own = entry(manager, "user.changed", target=woerden_author)
    to_org = entry(manager, "organisation.changed", target=org_woerden)
    to_other = entry(manager, "user.changed", target=utrecht_author)

    response = staff_client(woerden_manager).get(URL)

    assert to_own.pk in shown(response) and to_org.pk in shown(response)
    assert to_other.pk not in shown(response)
    export = staff_client(woerden_manager).get(EXPORT, {"verb": "user.changed"})
    rows = b"".join(export.streaming_content).decode("utf-8").strip("\r\n").split("\r\n")
    assert len(rows) == 1 + 1 and woerden_author.username in rows[1]


def test_it_shows_a_nationwide_manager_every_entry_newest_first(
    staff_client, manager, woerden_author, utrecht_author
):
    older = entry(woerden_author, "mailing.sent", at=local(2026, 1, 1))
    newer = entry(utrecht_author, "mailing.sent", at=local(2026, 2, 1))

    response = staff_client(manager).get(URL)

    ids = shown(response)
    assert ids.index(newer.pk) < ids.index(older.pk)


def test_it_refuses_another_organisation_as_filter_for_a_municipal_manager(
    staff_client, woerden_manager, utrecht_author, org_utrecht
):
    entry(utrecht_author, "mailing.sent")

    response = staff_client(woerden_manager).get(URL, {"organisation": org_utrecht.pk})

    assert response.status_code == 400
    assert response.context["page"] is None
    assert "valt buiten uw werkgebied" in response.text
    assert "mailing.sent" not in response.text


def test_it_refuses_an_unknown_organisation_and_a_bad_date(staff_client, manager):
    client = staff_client(manager)

    unknown = client.get(URL, {"organisation": "999999"})
    bad_date = client.get(URL, {"date_from": "31-31-2026"})
    not_a_number = client.get(URL, {"organisation": "abc"})

    assert unknown.status_code == bad_date.status_code == not_a_number.status_code == 400
    assert "Vul een geldige datum in" in bad_date.text
    assert unknown.context["page"] is None


def test_it_refuses_an_end_date_before_the_start_date(staff_client, manager):
    response = staff_client(manager).get(URL, {"date_from": "2026-03-02", "date_to": "2026-03-01"})

    assert response.status_code == 400
    assert "De einddatum ligt voor de begindatum." in response.text


def test_it_filters_by_organisation_actor_verb_object_and_local_dates(
    staff_client, manager, woerden_author, woerden_approver, utrecht_author, org_woerden
):
    # Midnight local time on 2 March is 23:00 UTC on 1 March: it belongs to 2 March.
    late = entry(woerden_author, "mailing.sent", target=org_woerden, at=local(2026, 3, 1, 23))
    next_day = entry(woerden_author, "mailing.sent", at=local(2026, 3, 2, 0))
    approver = entry(woerden_approver, "mailing.approved", at=local(2026, 3, 1))
    utrecht = entry(utrecht_author, "mailing.sent", at=local(2026, 3, 1))
    client = staff_client(manager)

    by_org = shown(client.get(URL, {"organisation": org_woerden.pk}))
    by_actor = shown(client.get(URL, {"actor": woerden_approver.pk}))
    by_verb_group = shown(client.get(URL, {"verb": "mailing."}))
    by_verb = shown(client.get(URL, {"verb": "mailing.approved"}))
    by_object = shown(
        client.get(URL, {"target_type": "governance.organisation", "target": str(org_woerden.pk)})
    )
    by_name = shown(client.get(URL, {"target": "Gemeente Woer"}))
    one_day = shown(client.get(URL, {"date_from": "2026-03-01", "date_to": "2026-03-01"}))

    assert {late.pk, next_day.pk, approver.pk} <= set(by_org) and utrecht.pk not in by_org
    assert by_actor == [approver.pk]
    assert {late.pk, next_day.pk, approver.pk, utrecht.pk} <= set(by_verb_group)
    assert by_verb == [approver.pk]
    assert by_object == [late.pk]
    assert by_name == [late.pk]
    assert set(one_day) == {late.pk, approver.pk, utrecht.pk}


def test_it_pages_fifty_entries_at_a_time_keeping_the_filter(staff_client, manager, woerden_author):
    for _n in range(55):
        entry(woerden_author, "paging.test")
    client = staff_client(manager)

    first = client.get(URL, {"verb": "paging.test"})
    second = client.get(URL, {"verb": "paging.test", "page": 2})

    assert len(shown(first)) == 50
    assert len(shown(second)) == 5
    assert "verb=paging.test&amp;page=2" in first.text


def test_it_shows_the_detail_as_readable_json(staff_client, manager, woerden_author):
    entry(woerden_author, "thing.done", detail={"fields": ["naam"], "aantal": 3})

    response = staff_client(manager).get(URL, {"verb": "thing.done"})

    assert "&quot;aantal&quot;: 3" in response.text
    assert "\n  &quot;fields&quot;: [\n    &quot;naam&quot;\n  ]" in response.text


def test_it_exports_every_matching_entry_as_csv_and_audits_the_export(
    staff_client, woerden_manager, woerden_author, utrecht_author
):
    for _n in range(60):
        entry(woerden_author, "export.test")
    entry(utrecht_author, "export.test")
    entry(woerden_author, "=cmd|evil", detail={"x": 1})

    response = staff_client(woerden_manager).get(EXPORT, {"verb": "export.test"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffTijdstip;Wie;Organisatie;Handeling")
    lines = body.strip("\r\n").split("\r\n")
    assert len(lines) == 1 + 60
    assert all("mail-woerden" in line for line in lines[1:])
    exported = AuditEntry.objects.get(verb="audit.export")
    assert exported.actor == woerden_manager
    assert exported.detail["filters"]["verb"] == "export.test"
    assert exported.detail["rows"] == 60


def test_it_keeps_formulas_out_of_the_csv(staff_client, manager, woerden_author):
    entry(woerden_author, "=cmd|evil")

    response = staff_client(manager).get(EXPORT, {"verb": "=cmd|evil"})

    body = b"".join(response.streaming_content).decode("utf-8")
    assert ";'=cmd|evil;" in body


def test_it_exports_nothing_for_an_invalid_filter(staff_client, woerden_manager, org_utrecht):
    response = staff_client(woerden_manager).get(EXPORT, {"organisation": org_utrecht.pk})

    assert response.status_code == 400
    assert not AuditEntry.objects.filter(verb="audit.export").exists()
