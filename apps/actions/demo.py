"""The demo year of actions: what the control rooms did from 1 January last year until
yesterday, so a newcomer sees a filled annual report, feeds and console history.

Every action is ended (with its outcome), has a release and an end message, and the
deliveries those had — without device or participant, as retention leaves them a day after
the end. Made once (the demo organisation's actions before today are the marker).
"""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from apps.channels.models import Channel, Delivery, OutgoingMessage
from apps.governance.models import Municipality, Organisation

from .models import Action, EndMessage

CONTROL_ROOM = "Meldkamer Midden-Nederland"
ACTIONS_PER_DAY = 1.0
KINDS = [
    (Action.Kind.MISSING_PERSON, 22),
    (Action.Kind.MISSING_CHILD, 6),
    (Action.Kind.AMBER_ALERT, 0.2),
    (Action.Kind.ROBBERY, 7),
    (Action.Kind.BURGLARY, 9),
    (Action.Kind.HIT_AND_RUN, 8),
    (Action.Kind.SUSPICIOUS_SITUATION, 30),
    (Action.Kind.OTHER, 18),
]
TITLES = {
    Action.Kind.MISSING_PERSON: "Vermiste man (78) met rollator",
    Action.Kind.MISSING_CHILD: "Vermist meisje (6), roze jas",
    Action.Kind.AMBER_ALERT: "AMBER Alert: ontvoerde jongen (4)",
    Action.Kind.ROBBERY: "Overval op supermarkt, twee daders op scooter",
    Action.Kind.BURGLARY: "Inbraak, verdachte gevlucht te voet",
    Action.Kind.HIT_AND_RUN: "Doorgereden na aanrijding, grijze bestelbus",
    Action.Kind.SUSPICIOUS_SITUATION: "Verdachte persoon bij schoolplein",
    Action.Kind.OTHER: "Loslopend paard langs de weg",
}
RESULTS = [
    (Action.Result.FOUND_SAFE, 15),
    (Action.Result.ARRESTED, 7),
    (Action.Result.NOT_FOUND, 68),
    (Action.Result.OTHER, 10),
]


def pick(rng, weighted):
    """One of the (value, weight) pairs' values, drawn by weight."""
    return rng.choices([k for k, _w in weighted], [w for _k, w in weighted])[0]


def _deliveries(rng: random.Random, message: OutgoingMessage, size: int) -> list[Delivery]:
    rows = []
    for _n in range(size):
        c, s, o = rng.random(), rng.random(), rng.random()
        channel = Channel.WEBPUSH if c < 0.85 else Channel.EMAIL if c < 0.97 else Channel.SMS
        sent = s < 0.97
        receipt = channel != Channel.WEBPUSH and sent and o < 0.9
        rows.append(
            Delivery(
                message=message,
                channel=channel,
                state=Delivery.State.SENT if sent else Delivery.State.FAILED,
                attempts=1,
                sent_at=message.created_at if sent else None,
                opened_at=(
                    message.created_at + dt.timedelta(minutes=7)
                    if channel == Channel.WEBPUSH and sent and o < 0.35
                    else None
                ),
                receipt=Delivery.Receipt.DELIVERED if receipt else "",
                receipt_at=message.created_at if receipt else None,
            )
        )
    return rows


@transaction.atomic
def load(seed: int = 2023) -> int:
    """The demo year, once; returns how many actions were made."""
    organisation = Organisation.objects.filter(name=CONTROL_ROOM).first()
    today = timezone.localdate()
    first = dt.date(today.year - 1, 1, 1)
    if (
        organisation is None
        or Action.objects.filter(
            organisation=organisation, released_at__lt=timezone.now() - dt.timedelta(days=1)
        ).exists()
    ):
        return 0
    rng = random.Random(seed)
    places = list(
        Municipality.objects.exclude(lat=None)
        .exclude(police_unit=None)
        .values_list("pk", "police_unit_id", "lat", "lon", "inhabitants")
    )
    weights = [(inhabitants or 20_000) for *_rest, inhabitants in places]
    national = Organisation.objects.filter(kind=Organisation.Kind.NATIONAL_UNIT).first()
    made = 0
    day = first
    while day < today:
        for _n in range(int(ACTIONS_PER_DAY + rng.random())):
            made += _one(rng, day, organisation, national, places, weights)
        day += dt.timedelta(days=1)
    return made


def _one(rng, day, organisation, national, places, weights) -> int:
    kind = pick(rng, KINDS)
    if kind == Action.Kind.AMBER_ALERT and national is None:
        return 0
    municipality, unit_id, lat, lon, _inh = rng.choices(places, weights)[0]
    released = timezone.make_aware(
        dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59)))
    )
    ended = released + dt.timedelta(minutes=rng.randint(25, 480))
    amber = kind == Action.Kind.AMBER_ALERT
    action = Action.objects.create(
        kind=kind,
        is_time_critical=Action.default_time_critical(kind),
        title=TITLES[kind],
        text="Demo: een actie uit het demojaar.",
        lat=lat,
        lon=lon,
        radius_m=rng.choice([1000, 2000, 3000, 5000]),
        police_unit_id=national.police_unit_id if amber else unit_id,
        organisation=national if amber else organisation,
        state=Action.State.ENDED,
        result=pick(rng, RESULTS),
        information_contributed=rng.random() < 0.12,
        calls_registered=int(rng.expovariate(1.2)) if rng.random() < 0.25 else 0,
        released_at=released,
        ended_at=ended,
    )
    if action.municipality_id is None:
        Action.objects.filter(pk=action.pk).update(municipality_id=municipality)
    size = int(rng.lognormvariate(3.4, 0.8)) * (40 if amber else 1)
    release = OutgoingMessage.objects.create(
        source=f"actions.action:{action.pk}:release", title=action.title, body=action.text
    )
    end = OutgoingMessage.objects.create(
        source=f"actions.action:{action.pk}:end", title=action.title, body="Beëindigd."
    )
    OutgoingMessage.objects.filter(pk=release.pk).update(created_at=released)
    OutgoingMessage.objects.filter(pk=end.pk).update(created_at=ended)
    release.created_at, end.created_at = released, ended
    Action.objects.filter(pk=action.pk).update(release_message=release, created_at=released)
    EndMessage.objects.create(action=action, text="De actie is beëindigd.", message=end)
    Delivery.objects.bulk_create(
        _deliveries(rng, release, size) + _deliveries(rng, end, size), batch_size=2000
    )
    tips = int(rng.expovariate(0.8)) if rng.random() < 0.45 else 0
    if tips and hasattr(action, "tips_counted"):
        Action.objects.filter(pk=action.pk).update(tips_counted=tips)
    return 1
