"""What the channels sent, for the report: every send per channel and day, and the largest
single message of the day per channel (to set beside the channel's ceiling).
Service notices (codes, links) are not counted: retention deletes them after a day.

Counted by governance itself (channels is the bottom layer and registers nothing). A send is
a delivery row not stopped, of a message, on the day the message was made; rows are found
through their message, so the count uses the deliveries' (message, state) index.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db.models import Count

from apps.channels.models import Delivery, OutgoingMessage

from . import reporting

# Message ids per query: few enough that PostgreSQL reads their rows along the (message,
# state) index rather than the whole table (see actions/report.py).
ID_BATCH = 100


def count(first: dt.date, last: dt.date):
    start, end = reporting.day_bounds(first, last)
    sends: dict[tuple[dt.date, str], int] = defaultdict(int)
    largest: dict[tuple[dt.date, str], int] = defaultdict(int)
    made = dict(
        OutgoingMessage.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
            "pk", "created_at"
        )
    )
    ids = list(made)
    for i in range(0, len(ids), ID_BATCH):
        rows = (
            Delivery.objects.filter(message_id__in=ids[i : i + ID_BATCH])
            .exclude(state=Delivery.State.CANCELLED)
            .values_list("message_id", "channel")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for message_id, channel, n in rows:
            day = reporting.local_day(made[message_id])
            sends[day, channel] += n
            largest[day, channel] = max(largest[day, channel], n)
    for (day, channel), n in sends.items():
        yield day, reporting.NATION, "sends", channel, n
    for (day, channel), n in largest.items():
        yield day, reporting.NATION, "sends_largest", channel, n


# Deliveries rows go after the action_delivery_rows period: older days stay as counted.
COLLECTOR = reporting.Collector(
    name="channels",
    metrics=("sends", "sends_largest"),
    count=count,
    horizon_days=settings.RETENTION_DAYS["action_delivery_rows"] - 1,
)
