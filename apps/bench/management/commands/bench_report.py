"""Measure the annual report on three years of national data (see docs/benchmarks.md)."""

import os
import platform

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from apps.bench import report as bench


class Command(BaseCommand):
    help = (
        "Generate three years of national data (36,000 actions, 2.4 million participants, "
        "60 million deliveries by default), count the report's figures from it, and time "
        "the report pages through the real views against the goal of 2 s. Run it on a "
        "database of its own; removes what it made at the end unless --keep."
    )

    def add_arguments(self, parser):
        d = bench.Options()
        parser.add_argument("--years", type=int, default=d.years)
        parser.add_argument("--actions", type=int, default=d.actions)
        parser.add_argument("--registered", type=int, default=d.registered)
        parser.add_argument("--devices", type=int, default=d.devices)
        parser.add_argument("--deliveries", type=int, default=d.deliveries)
        parser.add_argument("--mailings", type=int, default=d.mailings)
        parser.add_argument("--repeat", type=int, default=d.repeat)
        parser.add_argument("--seed", type=int, default=d.seed)
        parser.add_argument("--keep", action="store_true", help="leave the generated rows")
        parser.add_argument(
            "--reuse", action="store_true", help="measure the rows a --keep run left"
        )
        parser.add_argument("--allow-existing-data", action="store_true")

    def handle(self, *args, **o):
        numbers = ("years", "actions", "registered", "devices", "deliveries", "mailings")
        if any(o[n] < 1 for n in numbers) or o["repeat"] < 1:
            raise CommandError("every size and --repeat must be at least 1")
        options = bench.Options(**{n: o[n] for n in (*numbers, "repeat", "seed")})
        out = self.stdout
        out.write(
            f"bench_report on {connection.vendor}, {platform.machine()} "
            f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()}, {timezone.now():%Y-%m-%d %H:%M} UTC"
        )
        try:
            result = bench.run(
                options,
                keep=o["keep"],
                reuse=o["reuse"],
                allow=o["allow_existing_data"],
                say=lambda text: out.write(f"  {text}"),
            )
        except bench.BenchError as error:
            raise CommandError(str(error)) from error
        if result.made:
            out.write("Made: " + ", ".join(f"{v:,} {k}" for k, v in result.made.items()))
        out.write("Steps:")
        for step in result.steps:
            out.write(f"  {step.name:<40} {step.median:8.1f} s")
        out.write(f"Report pages (goal: each under {bench.GOAL_S:.0f} s):")
        for page in result.pages:
            verdict = "OK" if page.worst < bench.GOAL_S else "TOO SLOW"
            out.write(
                f"  {page.name:<40} median {page.median * 1000:7.0f} ms, "
                f"worst {page.worst * 1000:7.0f} ms, {page.queries} queries, "
                f"{page.size:,} bytes  {verdict}"
            )
        out.write("Kept the generated rows" if o["keep"] else "Removed the generated rows")
