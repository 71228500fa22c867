"""Budgets for the service SMS: the codes and links the registration site sends.

Anyone can type any Dutch, Belgian or German mobile number into the registration form, and
every SMS costs money and disturbs whoever holds that number. Besides the rate limits per
client and per number per hour (views.LIMITS), each number gets at most
`SmsBudget.per_number_per_day` service SMS a day, and the site at most `per_hour` in all;
managers see and raise the latter in the admin. The numbers are counted by a keyed hash,
never stored.
"""

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import ServiceSms, SmsBudget

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


class SmsBudgetExceeded(Exception):
    """No service SMS now: `scope` is "number" (this number had its share today) or
    "site" (the site's hourly budget is spent)."""

    def __init__(self, scope: str):
        super().__init__(scope)
        self.scope = scope


def number_key(phone: str) -> str:
    return salted_hmac("participants.sms_budget", phone).hexdigest()[:32]


def spend(phone: str, *, now: datetime | None = None) -> None:
    """Count one service SMS to `phone`, or raise SmsBudgetExceeded (nothing counted)."""
    now = now or timezone.now()
    budget = SmsBudget.current()
    key = number_key(phone)
    if (
        ServiceSms.objects.filter(number_key=key, queued_at__gt=now - DAY).count()
        >= budget.per_number_per_day
    ):
        raise SmsBudgetExceeded("number")
    if sent_in_hour(now) >= budget.per_hour:
        logger.warning("service SMS: the hourly budget of %s is spent", budget.per_hour)
        raise SmsBudgetExceeded("site")
    ServiceSms.objects.create(number_key=key, queued_at=now)


def sent_in_hour(now: datetime | None = None) -> int:
    """Service SMS queued in the last hour (what the hourly budget counts)."""
    now = now or timezone.now()
    return ServiceSms.objects.filter(queued_at__gt=now - HOUR).count()


def forget_old(now: datetime | None = None) -> int:
    """Delete the counts older than a day (they count against nothing any more)."""
    now = now or timezone.now()
    deleted, _ = ServiceSms.objects.filter(queued_at__lte=now - DAY).delete()
    return deleted
