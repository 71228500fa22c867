"""The fan-out benchmark command, at a tiny size: every figure printed, nothing left behind,
no real data touched."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.actions.models import Action
from apps.bench import fanout as bench
from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import AuditEntry
from apps.participants.models import ActiveWindow, Address, Device, Participant

# The workers are processes with connections of their own: the rows must be committed.
uses_database = pytest.mark.django_db(transaction=True)

TINY = ["--participants", "3000", "--devices", "3000", "--recipients", "400", "--push-sample", "40"]


@pytest.fixture(autouse=True)
def _signed_pushes(vapid_keys):
    """The benchmark's pushes are signed with the test run's VAPID pair."""


def _run(*args) -> str:
    out = io.StringIO()
    call_command("bench_fanout", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _line(output: str, start: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"expected one line starting with {start!r} in:\n{output}"
    return lines[0]


def _nothing_generated_left():
    return (
        not bench.bench_participants().exists()
        and not bench.bench_devices().exists()
        and not bench.bench_messages().exists()
    )


@uses_database
def test_it_prints_every_figure_and_removes_what_it_made():
    output = _run(*TINY)

    population = _line(output, "population:")
    assert "3,000 participants" in population and "3,000 devices" in population
    for radius in ("5 km", "10 km"):
        line = _line(output, f"reach estimate, {radius}")
        assert re.search(r"reach estimate.*: \d+\.\d+ s .*webpush \d", line)
        # Phone recipients counted too (the addresses' copy of reachability was filled).
        assert re.search(r"sms [1-9]", line), line
    release = _line(output, "release (services.action_release),")
    assert re.search(
        r"its INSERTs of delivery rows \(push; by address\) [\d.]+ s and [\d.]+ s", release
    )
    pushes = int(re.search(r"for ([\d,]+) push recipients", release)[1].replace(",", ""))
    assert 380 <= pushes <= 420  # the radius is chosen for about 400
    naive = _line(output, "reference, naive")
    assert "extrapolated" in naive and re.search(r"[\d,]+ pushes/s", naive)
    assert re.search(r"[\d,]+ pushes/s", _line(output, "reference, bare encryption"))
    assert re.search(r"[\d,]+ pushes/s", _line(output, "reference, the sender's own"))
    one = _line(output, "push, 1 worker process ")
    assert f"{pushes:,} sent, 0 not" in one
    assert re.search(r"\d+\.\d\d× the naive way, \d+\.\d\d× bare encryption", one)
    two = _line(output, "push, 2 worker processes")
    if connection.vendor == "sqlite":
        assert "skipped" in two
        assert "50 ms late" not in output
    else:
        assert f"{pushes:,} sent, 0 not" in two and f"received {pushes:,}" in two
        far = _line(output, "push, 1 worker process, the push service answering 50 ms late")
        assert f"{pushes:,} sent, 0 not" in far and "the same worker with the service" in far

    assert not Participant.objects.exists()
    assert not Address.objects.exists()
    assert not ActiveWindow.objects.exists()
    assert not Device.objects.exists()
    assert not OutgoingMessage.objects.exists()
    assert not Delivery.objects.exists()
    assert not Action.objects.exists()


@uses_database
def test_the_release_it_times_is_the_consoles_own_service():
    """The figure measures what production runs: an action released by an operator
    through services.action_release, audited as any release is."""
    _run(*TINY, "--keep", "--workers", "1", "--far-ms", "0")

    action = bench.bench_actions().get()
    assert action.state == Action.State.RELEASED
    assert action.release_message.deliveries.filter(channel="webpush").count() > 0
    released = AuditEntry.objects.get(verb="action.released", target_id=str(action.pk))
    assert released.actor.username == bench.BENCH_OPERATOR
    assert not released.actor.has_usable_password()
    bench.purge()
    assert not Action.objects.exists()
    assert not AuditEntry.objects.filter(actor__username=bench.BENCH_OPERATOR).exists()


@uses_database
def test_it_refuses_a_database_with_participants_it_did_not_make():
    citizen = Participant.objects.create(phone="+31612345678")

    with pytest.raises(CommandError, match="did not make"):
        _run(*TINY)

    assert list(Participant.objects.all()) == [citizen]
    assert not Device.objects.exists()


@uses_database
def test_it_refuses_a_database_with_devices_it_did_not_make():
    Device.objects.create(endpoint="https://push.example/abc", p256dh="x", auth="y")

    with pytest.raises(CommandError, match="did not make"):
        _run(*TINY)

    assert Device.objects.count() == 1
    assert not Participant.objects.exists()


@uses_database
def test_it_removes_only_its_own_rows_when_allowed_to_run_beside_real_data():
    citizen = Participant.objects.create(phone="+31612345678")
    home = Address.objects.create(
        participant=citizen, label="Thuis", postcode="1012JS", house_number=1, lat=52.37, lon=4.89
    )
    device = Device.objects.create(endpoint="https://push.example/abc", p256dh="x", auth="y")

    output = _run(*TINY, "--allow-existing-data", "--keep", "--workers", "1")

    assert "3,000 participants" in output
    assert bench.bench_participants().count() == 3000  # kept
    bench.purge()
    assert _nothing_generated_left()
    assert list(Participant.objects.all()) == [citizen]
    assert list(Address.objects.all()) == [home]
    assert list(Device.objects.all()) == [device]


@uses_database
@pytest.mark.parametrize("option", ["--participants", "--devices", "--push-sample"])
def test_it_refuses_a_size_below_one(option):
    with pytest.raises(CommandError, match="at least 1"):
        _run(option, "0")

    assert _nothing_generated_left()


@uses_database
def test_it_refuses_a_negative_distance_to_the_push_service():
    with pytest.raises(CommandError, match="cannot be negative"):
        _run("--far-ms", "-1")


@pytest.mark.parametrize(
    "point", [(52.3731, 4.8926), (50.8483, 5.6889), (51.4475, 4.9290), (53.2194, 6.5665)]
)
def test_it_spells_device_cells_as_the_web_app_does(point):
    from apps.participants import geohash

    cell, lat, lon = bench._Cells(5).of(*point)

    assert cell == geohash.encode(*point, 5)
    assert (lat, lon) == pytest.approx(geohash.decode(cell))
