"""The public pages under load: `manage.py bench_web [--size full|small|tiny]
[--database-url postgres://…/burgernet_web_x] [--cache-url redis://…/5]`.

See apps/bench/web.py for what it does; docs/benchmarks.md for the results.
"""

import json
import os
import platform
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.bench import web


class Command(BaseCommand):
    help = (
        "Start the production server (gunicorn, DEBUG off, compressed static files, a shared "
        "cache) on loopback with a database of its own, and measure requests/s, p50 and p95 "
        "of the public pages, a registration POST and the console's live panel under "
        "concurrent clients."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(web.SIZES), default="full")
        parser.add_argument("--clients", type=int, help="concurrent clients (full: 16)")
        parser.add_argument("--seconds", type=float, help="measured seconds per endpoint")
        parser.add_argument("--requests", type=int, help="requests per endpoint instead")
        parser.add_argument("--warmup-seconds", type=float)
        parser.add_argument("--workers", type=int, help="gunicorn workers (full: 4)")
        parser.add_argument(
            "--database-url",
            default="",
            help="a PostgreSQL URL whose database does not exist yet: made for the run and "
            "dropped afterwards (default: a SQLite file in a temporary folder)",
        )
        parser.add_argument(
            "--cache-url",
            default="",
            help="the shared cache, e.g. redis://127.0.0.1:6379/5 (default: a file cache)",
        )
        parser.add_argument(
            "--only", default="", help="comma-separated first words of the endpoints to run"
        )
        parser.add_argument("--json", default="", help="also write the result to this file")
        # Inside the server's database (the command runs itself with its environment).
        parser.add_argument("--prepare", action="store_true", help="(internal)")
        parser.add_argument("--deliveries", type=int, default=0, help="(internal)")
        parser.add_argument("--tips", type=int, default=0, help="(internal)")
        parser.add_argument("--inspect", default="", help="(internal)")

    def handle(self, *args, **o):
        if o["prepare"]:
            self.stdout.write(json.dumps(web.prepare(o["deliveries"], o["tips"])))
            return
        if o["inspect"]:
            self.stdout.write(json.dumps(web.inspect(o["inspect"])))
            return
        options = web.SIZES[o["size"]]
        changes = {
            name: o[name]
            for name in ("clients", "seconds", "requests", "warmup_seconds", "workers")
            if o[name] is not None
        }
        if "requests" in changes and "seconds" not in changes:
            changes["seconds"] = 0
        options = replace(
            options,
            **changes,
            database_url=o["database_url"],
            cache_url=o["cache_url"],
            endpoints=tuple(w.strip() for w in o["only"].split(",") if w.strip()),
        )
        if options.clients < 1 or options.workers < 1:
            raise CommandError("--clients and --workers must be at least 1")
        if options.requests < 0 or options.seconds < 0 or options.warmup_seconds < 0:
            raise CommandError("--requests, --seconds and --warmup-seconds cannot be negative")
        if not options.requests and not options.seconds:
            raise CommandError("give --seconds or --requests")
        out = self.stdout.write
        out(
            f"bench_web --size {o['size']}: {os.cpu_count()} CPUs ({_cpu_model()}), "
            f"{platform.machine()}, Python {sys.version.split()[0]}, "
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        amount = f"{options.requests} requests" if options.requests else f"{options.seconds:g} s"
        out(
            f"{options.clients} concurrent clients, {amount} per endpoint after "
            f"{options.warmup_seconds:g} s of warm-up"
        )
        try:
            result = web.run(options, out=out, before_rows=lambda: out(web.HEADER))
        except web.BenchError as exc:
            raise CommandError(str(exc)) from exc
        out(
            f"registration POSTs sent (warm-up included): {result.posts_ok}; registrations "
            f"made: {result.registered}; code SMS queued: {result.codes_queued}, sent or "
            f"failed inside the run: {result.codes_sent}"
        )
        errors = sum(f.errors for f in result.figures)
        out(f"errors (an answer other than the expected one): {errors}")
        out(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if o["json"]:
            Path(o["json"]).write_text(json.dumps(result.as_dict(), indent=2))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
