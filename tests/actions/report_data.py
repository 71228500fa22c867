"""A small fixed set of actions with known report figures (actions/report.py).

`build(operator_mn, operator_ams)` makes it through the services (create, release at a fixed
moment, update, tips, end, withdraw), then writes delivery rows by hand on the actions'
messages in known channel / state / receipt / opened combinations. The participants and
devices are made after the releases, so the services themselves deliver to no one.

Days (Dutch local time), in March 2024:
    DAY_1 = Tuesday 5 March, DAY_2 = Wednesday 6 March.

Actions:
    found     missing person, time-critical, Utrecht (Midden-Nederland), released DAY_1
              10:00; 2 tips, an update; ended DAY_1 14:00: found (gevonden), participants'
              information contributed, 3 telephone reactions. Has a photo.
    quiet     suspicious situation, not time-critical, Woerden (Midden-Nederland),
              released DAY_1 23:30; ended DAY_2 08:00: no result, did not contribute.
    robbery   robbery, time-critical, Amsterdam (unit Amsterdam), released DAY_2 00:30
              (still DAY_1 in UTC); 1 tip; withdrawn DAY_2 01:00.
    running   burglary, time-critical, Utrecht, released DAY_1 12:00; 1 tip; still running.
              Has a photo.
    exercise  missing person exercise in Utrecht, released DAY_1 11:00, 1 tip, ended:
              never counted.
    draft     a draft in Utrecht: never counted.

Deliveries (state, receipt, opened):
    found's release: webpush 3 sent (1 opened), 1 failed, 1 stopped; sms 2 sent+delivered,
        1 sent+bounced, 1 sent without receipt; email 1 sent+delivered; webhook 1 sent.
    found's update: sms 1 sent+delivered. found's end message: webpush 2 sent.
    robbery's release: webpush 1 sent, opened. robbery's correction: webpush 1 queued.
    exercise's release: webpush 5 sent.
The rows of found's release on webpush and sms point at devices and participants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.actions import services
from apps.actions.models import Action
from apps.channels.models import Delivery
from apps.governance.models import Municipality, PoliceUnit
from apps.participants.models import Device, Participant

AMS_TZ = ZoneInfo("Europe/Amsterdam")
DAY_1 = dt.date(2024, 3, 5)
DAY_2 = dt.date(2024, 3, 6)

UTRECHT = (52.0907, 5.1214)
WOERDEN = (52.0857, 4.8830)
AMSTERDAM = (52.3731, 4.8926)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=AMS_TZ)


def _png(name: str) -> SimpleUploadedFile:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 30, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@dataclass
class ReportData:
    found: Action
    quiet: Action
    robbery: Action
    running: Action
    exercise: Action
    draft: Action
    units: dict[str, int] = field(default_factory=dict)
    municipalities: dict[str, int] = field(default_factory=dict)

    def scope(self, name: str) -> str:
        """ "nl", a unit ("u:Amsterdam") or a municipality ("m:Amsterdam") by name."""
        if name == "nl":
            return "nl"
        kind, _colon, place = name.partition(":")
        if kind == "u":
            return f"u{self.units[place]}"
        return f"m{self.municipalities[place]}"


def _create(by, *, point, **fields) -> Action:
    fields.setdefault("title", "Gezocht")
    fields.setdefault("radius_m", 1000)
    return services.action_create(by=by, lat=point[0], lon=point[1], **fields)


def _release(action: Action, by, moment: dt.datetime) -> Action:
    services.action_release(action=action, by=by, at=moment)
    action.refresh_from_db()
    return action


def _rows(message_id: int, channel: str, n: int, *, state="sent", receipt="", opened=False):
    return [
        Delivery(
            message_id=message_id,
            channel=channel,
            state=state,
            receipt=receipt,
            opened_at=at(DAY_1, 15) if opened else None,
        )
        for _ in range(n)
    ]


def build(operator_mn, operator_ams) -> ReportData:
    found = _create(operator_mn, point=UTRECHT, kind="missing_person", photo=_png("found.png"))
    found = _release(found, operator_mn, at(DAY_1, 10))
    services.tip_submit(action=found, text="Gezien bij het station.", photo=_png("tip.png"))
    services.tip_submit(action=found, text="Loopt richting park.")
    services.action_update(action=found, by=operator_mn, text="Draagt een pet.", at=at(DAY_1, 11))

    quiet = _create(operator_mn, point=WOERDEN, kind="suspicious_situation")
    quiet = _release(quiet, operator_mn, at(DAY_1, 23, 30))

    robbery = _create(operator_ams, point=AMSTERDAM, kind="robbery")
    robbery = _release(robbery, operator_ams, at(DAY_2, 0, 30))
    services.tip_submit(action=robbery, text="Scooter reed weg.")
    services.action_cancel(action=robbery, by=operator_ams, text="Vergissing.", at=at(DAY_2, 1))

    running = _create(operator_mn, point=UTRECHT, kind="burglary", photo=_png("running.png"))
    running = _release(running, operator_mn, at(DAY_1, 12))
    services.tip_submit(action=running, text="Ladder in de tuin.", photo=_png("tip2.png"))

    exercise = _create(operator_mn, point=UTRECHT, kind="missing_person", is_exercise=True)
    exercise = _release(exercise, operator_mn, at(DAY_1, 11))
    services.tip_submit(action=exercise, text="Oefentip.")
    services.action_end(
        action=exercise,
        by=operator_mn,
        result="found_safe",
        information_contributed=True,
        calls_registered=4,
        text="Oefening klaar.",
        at=at(DAY_1, 12),
    )

    draft = _create(operator_mn, point=UTRECHT, kind="missing_child")

    services.action_end(
        action=found,
        by=operator_mn,
        result="found_safe",
        information_contributed=True,
        calls_registered=3,
        text="De man is gevonden.",
        at=at(DAY_1, 14),
    )
    services.action_end(
        action=quiet,
        by=operator_mn,
        result="not_found",
        information_contributed=False,
        text="Niets gevonden.",
        at=at(DAY_2, 8),
    )
    for action in (found, quiet, robbery, running, exercise, draft):
        action.refresh_from_db()

    # The deliveries, by hand, to recipients made only now.
    devices = [
        Device.objects.create(endpoint=f"https://push.example.org/r/{n}", p256dh="k", auth="a")
        for n in range(3)
    ]
    people = [Participant.objects.create(phone=f"+3161234560{n}") for n in range(4)]
    release = found.release_message_id
    update = found.updates.get().message_id
    end = found.end_message.message_id
    rows = _rows(release, "webpush", 1, opened=True)
    rows += _rows(release, "webpush", 2)
    for row, device in zip(rows, devices, strict=True):
        row.device = device
    rows += _rows(release, "webpush", 1, state="failed")
    rows += _rows(release, "webpush", 1, state="cancelled")
    sms = _rows(release, "sms", 2, receipt="delivered")
    sms += _rows(release, "sms", 1, receipt="bounced")
    sms += _rows(release, "sms", 1)
    for row, person in zip(sms, people, strict=True):
        row.participant = person
    rows += sms
    rows += _rows(release, "email", 1, receipt="delivered")
    rows += _rows(release, "webhook", 1)
    rows += _rows(update, "sms", 1, receipt="delivered")
    rows += _rows(end, "webpush", 2)
    rows += _rows(robbery.release_message_id, "webpush", 1, opened=True)
    rows += _rows(robbery.cancel_message_id, "webpush", 1, state="queued")
    rows += _rows(exercise.release_message_id, "webpush", 5)
    Delivery.objects.bulk_create(rows)

    return ReportData(
        found=found,
        quiet=quiet,
        robbery=robbery,
        running=running,
        exercise=exercise,
        draft=draft,
        units={
            name: PoliceUnit.objects.get(name=name).pk for name in ("Midden-Nederland", "Amsterdam")
        },
        municipalities={
            name: Municipality.objects.get(code=code).pk
            for name, code in (
                ("Utrecht", "GM0344"),
                ("Woerden", "GM0632"),
                ("Amsterdam", "GM0363"),
            )
        },
    )


# What the report counts of it: {(day, scope name): {(metric, key): value}}.
MN_DAY_1 = {
    ("actions", "missing_person"): 1,
    ("actions", "suspicious_situation"): 1,
    ("actions", "burglary"): 1,
    ("actions_tc", "missing_person"): 1,
    ("actions_tc", "burglary"): 1,
    ("actions_reacted", "missing_person"): 1,
    ("actions_reacted", "burglary"): 1,
    ("actions_tc_reacted", "missing_person"): 1,
    ("actions_tc_reacted", "burglary"): 1,
    ("actions_contributed", "missing_person"): 1,
    ("actions_tc_contributed", "missing_person"): 1,
    ("actions_result", "missing_person:found_safe"): 1,
    ("actions_result", "suspicious_situation:not_found"): 1,
    ("reactions", "tips"): 3,
    ("reactions", "calls"): 3,
    ("messages", "webpush"): 6,
    ("messages", "sms"): 5,
    ("messages", "email"): 1,
    ("messages", "webhook"): 1,
    ("messages_delivered", "webpush"): 5,
    ("messages_delivered", "sms"): 3,
    ("messages_delivered", "email"): 1,
    ("messages_delivered", "webhook"): 1,
    ("messages_opened", "webpush"): 1,
}
UTRECHT_DAY_1 = {
    key: value
    for key, value in MN_DAY_1.items()
    if key[1] not in ("suspicious_situation", "suspicious_situation:not_found")
}
WOERDEN_DAY_1 = {
    ("actions", "suspicious_situation"): 1,
    ("actions_result", "suspicious_situation:not_found"): 1,
}
AMSTERDAM_DAY_2 = {
    ("actions", "robbery"): 1,
    ("actions_tc", "robbery"): 1,
    ("actions_reacted", "robbery"): 1,
    ("actions_tc_reacted", "robbery"): 1,
    ("reactions", "tips"): 1,
    ("messages", "webpush"): 2,
    ("messages_delivered", "webpush"): 1,
    ("messages_opened", "webpush"): 1,
}
EXPECTED = {
    (DAY_1, "nl"): MN_DAY_1,
    (DAY_1, "u:Midden-Nederland"): MN_DAY_1,
    (DAY_1, "m:Utrecht"): UTRECHT_DAY_1,
    (DAY_1, "m:Woerden"): WOERDEN_DAY_1,
    (DAY_1, "u:Amsterdam"): {},
    (DAY_1, "m:Amsterdam"): {},
    (DAY_2, "nl"): AMSTERDAM_DAY_2,
    (DAY_2, "u:Amsterdam"): AMSTERDAM_DAY_2,
    (DAY_2, "m:Amsterdam"): AMSTERDAM_DAY_2,
    (DAY_2, "u:Midden-Nederland"): {},
    (DAY_2, "m:Utrecht"): {},
}
