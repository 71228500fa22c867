"""Service SMS (codes and links) within budgets: a number gets a few a day, the site a set
number an hour, which managers see and raise. Over budget nothing is written; a manage-link
request stays silent, so the answer does not tell whether a number is registered."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.channels.models import Delivery
from apps.governance.models import AuditEntry
from apps.participants import services, sms_budget, tasks
from apps.participants.models import Participant, PhoneCode, ServiceSms, SmsBudget
from apps.participants.sms_budget import SmsBudgetExceeded

NUMBER = "+31612345678"


@pytest.fixture
def budget(db):
    def set_to(*, per_number_per_day=10, per_hour=20_000):
        current = SmsBudget.current()
        current.per_number_per_day = per_number_per_day
        current.per_hour = per_hour
        current.save()
        return current

    return set_to


def _ref(response) -> str:
    from apps.participants import tokens

    return tokens.read_phone_token(response.url.rstrip("/").split("/")[-1])


def test_a_number_gets_its_daily_share_of_codes_and_no_more(register, budget):
    budget(per_number_per_day=3)
    ref = _ref(register())
    services.code_resend(ref=ref)
    services.code_resend(ref=ref)
    code_before = PhoneCode.objects.get().code_hash
    queued_before = Delivery.objects.count()

    with pytest.raises(SmsBudgetExceeded) as refused:
        services.code_resend(ref=ref)

    assert refused.value.scope == "number"
    assert PhoneCode.objects.get().code_hash == code_before  # the old code still works
    assert Delivery.objects.count() == queued_before


def test_a_registration_over_the_numbers_budget_is_refused_and_writes_nothing(
    client, register, budget
):
    budget(per_number_per_day=1)
    register()
    Participant.objects.all().delete()  # as if the first registration was never confirmed

    response = register(remote_addr="10.0.0.2")

    assert response.status_code == 429
    assert "morgen" in response.content.decode()
    assert not Participant.objects.exists()
    assert not Delivery.objects.exists()  # (the first one went with its participant)
    assert ServiceSms.objects.count() == 1


def test_the_site_sends_at_most_its_hourly_budget_of_service_sms(register, budget):
    budget(per_hour=2)
    assert register(phone="0612345671", remote_addr="10.0.0.1").status_code == 302
    assert register(phone="0612345672", remote_addr="10.0.0.2").status_code == 302

    response = register(phone="0612345673", remote_addr="10.0.0.3")

    assert response.status_code == 429
    assert "over een uur" in response.content.decode()
    assert Participant.objects.count() == 2


def test_a_manage_link_over_budget_is_silently_not_sent(client, make_participant, budget):
    make_participant(NUMBER)
    budget(per_number_per_day=0)
    known = client.post(reverse("participants:manage_request"), {"contact": "0612345678"})
    unknown = client.post(reverse("participants:manage_request"), {"contact": "0612345679"})

    assert known.status_code == unknown.status_code
    assert known.content == unknown.content
    assert not Delivery.objects.exists()


def test_the_counts_hold_no_number_and_are_forgotten_after_a_day(register):
    register()
    [count] = ServiceSms.objects.all()
    assert "612345678" not in count.number_key
    assert count.number_key == sms_budget.number_key(NUMBER)

    ServiceSms.objects.update(queued_at=timezone.now() - timedelta(days=1, minutes=1))
    assert tasks.forget_service_sms_counts() == 1
    assert not ServiceSms.objects.exists()


def test_yesterdays_sms_do_not_count_today(budget):
    budget(per_number_per_day=1)
    sms_budget.spend(NUMBER, now=timezone.now() - timedelta(days=1, seconds=1))
    sms_budget.spend(NUMBER)  # not refused
    with pytest.raises(SmsBudgetExceeded):
        sms_budget.spend(NUMBER)


def test_managers_see_the_hour_and_raise_the_budget(staff_client, manager, register, budget):
    budget(per_hour=100)
    register()
    client = staff_client(manager)
    url = reverse("admin:participants_smsbudget_change", args=[1])

    page = client.get(url)
    assert page.status_code == 200
    assert "verstuurd in het afgelopen uur" in page.content.decode().lower()

    response = client.post(url, {"per_number_per_day": 10, "per_hour": 50_000})

    assert response.status_code == 302
    assert SmsBudget.current().per_hour == 50_000
    entry = AuditEntry.objects.get(verb="sms_budget.changed")
    assert entry.actor == manager and entry.detail["per_hour"] == 50_000


def test_only_managers_may_see_or_change_the_budget(staff_client, operator_mn, budget):
    budget()
    client = staff_client(operator_mn)
    url = reverse("admin:participants_smsbudget_change", args=[1])

    assert client.get(url).status_code in (302, 403)
    assert client.post(url, {"per_number_per_day": 99, "per_hour": 99}).status_code in (302, 403)
    assert SmsBudget.current().per_hour == 20_000
