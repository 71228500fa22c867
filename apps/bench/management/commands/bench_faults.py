"""The fault trial: `manage.py bench_faults [--devices 100000] [--kills 20] [--broker redis://…]`.

See apps/bench/faults.py for what it does; docs/benchmarks.md for the results.
"""

import platform
import sys
import tempfile
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from apps.bench import faults
from apps.participants.models import Device


class Command(BaseCommand):
    help = (
        "Send an alert to N devices through real outbox workers while killing processes "
        "and failing the push service; print what was lost, repeated and delayed."
    )

    def add_arguments(self, parser):
        defaults = faults.Options()
        parser.add_argument("--devices", type=int, default=defaults.devices)
        parser.add_argument("--kills", type=int, default=defaults.kills)
        parser.add_argument("--processes", type=int, default=defaults.processes)
        parser.add_argument("--gone-every", type=int, default=defaults.gone_every)
        parser.add_argument(
            "--outage-seconds",
            type=float,
            default=defaults.outage_seconds,
            help="how long the push service answers 500, and later 429 (0: no outages)",
        )
        parser.add_argument("--retry-after", type=int, default=defaults.retry_after)
        parser.add_argument("--timeout", type=float, default=defaults.timeout)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--in-flight",
            type=int,
            default=defaults.in_flight,
            help="pushes in flight per worker at most (WEBPUSH_CONCURRENCY; 0: the default)",
        )
        parser.add_argument(
            "--service-delay-ms",
            type=int,
            default=defaults.service_delay_ms,
            help="the push service answers each push this many ms late (a slower trial)",
        )
        parser.add_argument(
            "--broker",
            default="",
            help="django-q2's broker for the trial's cluster: empty for the ORM, or a Redis URL",
        )
        parser.add_argument(
            "--allow-existing-data",
            action="store_true",
            help="run on a database that holds devices the trial did not make",
        )

    def handle(self, *args, **o):
        for name, least in (
            ("devices", 1),
            ("processes", 1),
            ("kills", 0),
            ("gone_every", 0),
            ("in_flight", 0),
            ("service_delay_ms", 0),
        ):
            if o[name] < least:
                raise CommandError(f"--{name.replace('_', '-')} must be at least {least}")
        if o["outage_seconds"] < 0 or o["retry_after"] < 0 or o["timeout"] <= 0:
            raise CommandError(
                "--outage-seconds and --retry-after cannot be negative, --timeout must be positive"
            )
        foreign = Device.objects.exclude(endpoint__contains=faults.ENDPOINT_MARK)
        if foreign.exists() and not o["allow_existing_data"]:
            raise CommandError(
                "this database holds web-app devices the trial did not make; use a database "
                "of its own (or --allow-existing-data)"
            )
        options = faults.Options(
            devices=o["devices"],
            kills=o["kills"],
            processes=o["processes"],
            gone_every=o["gone_every"],
            outage_seconds=o["outage_seconds"],
            retry_after=o["retry_after"],
            timeout=o["timeout"],
            seed=o["seed"],
            in_flight=o["in_flight"],
            service_delay_ms=o["service_delay_ms"],
        )
        out = self.stdout.write
        out(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
            f"{platform.machine()}, Python {sys.version.split()[0]}; "
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; "
            f"q2 broker: {o['broker'] or 'orm'}; {options.processes} outbox worker processes"
        )
        with tempfile.TemporaryFile() as log:
            try:
                result = faults.run(options, broker=o["broker"], out=out, log=log)
            except faults.TrialError as exc:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise CommandError(f"{exc}\n--- the processes' log ---\n{tail}") from exc
        self.report(result, options)

    def report(self, r: faults.Result, options: faults.Options) -> None:
        out = self.stdout.write
        kinds = {}
        for kill in r.kills:
            kinds[kill.kind] = kinds.get(kill.kind, 0) + 1
        per_kill = r.repeats / r.sending_kills if r.sending_kills else 0.0
        out(f"rows by state: {r.states}")
        out(
            f"pushes: {r.received:,} requests, {r.accepted:,} accepted, to {r.distinct:,} "
            f"distinct devices of {r.expected_devices:,} reachable "
            f"({options.devices - r.expected_devices:,} answered 410; {r.gone_devices:,} "
            f"devices deleted)"
        )
        out(f"lost (a reachable device that got nothing): {r.lost}")
        out(f"copies per device: {dict(sorted(r.copies.items()))}")
        out(
            f"kills: {len(r.kills)} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
            f"repeats: {r.repeats} in all, {per_kill:.1f} per kill of an outbox worker or "
            f"supervisor ({r.sending_kills})"
        )
        outages = ", ".join(f"{a:.0f}–{b:.0f} s" for a, b in r.outages) or "none"
        out(f"push service outages (500, then 429 Retry-After {options.retry_after}): {outages}")
        out(
            f"longest time nothing was accepted: {r.longest_gap:.1f} s overall, "
            f"{r.longest_gap_outside_outages:.1f} s outside the outages"
        )
        out(f"time to finish: {r.seconds:.1f} s")
        ok = (
            r.lost == 0
            and not r.states.get("queued")
            and not r.states.get("sending")
            and per_kill <= 100
            and r.longest_gap_outside_outages <= 30
        )
        verdict = "met" if ok else "NOT met"
        out(f"goals (0 lost, ≤ 100 repeats per kill, no pause over 30 s): {verdict}")
