"""Measure the open feeds and a display's JSON with many actions in the database (see
docs/benchmarks.md)."""

import platform

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from apps.bench import publish as bench


class Command(BaseCommand):
    help = (
        "Generate actions (most ended, some running across the police units) under an "
        "organisation of the benchmark's own, and time the national, a unit's and a "
        "province's Atom feed and a unit's display JSON through the real views (median of "
        "--repeat requests) against the goal of 50 ms. Removes what it made at the end."
    )

    def add_arguments(self, parser):
        defaults = bench.Options()
        parser.add_argument("--actions", type=int, default=defaults.actions)
        parser.add_argument("--running", type=int, default=defaults.running)
        parser.add_argument("--repeat", type=int, default=defaults.repeat)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--keep", action="store_true", help="leave the generated rows")

    def handle(self, *args, **opts):
        if opts["actions"] < 1 or opts["repeat"] < 1 or opts["running"] < 0:
            raise CommandError("--actions and --repeat must be at least 1, --running at least 0")
        options = bench.Options(
            actions=opts["actions"],
            running=opts["running"],
            repeat=opts["repeat"],
            seed=opts["seed"],
        )
        out = self.stdout
        out.write(
            f"bench_publish on {connection.vendor}, {platform.machine()} "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{timezone.now():%Y-%m-%d %H:%M} UTC"
        )
        report = bench.run(options, keep=opts["keep"])
        out.write(f"Actions made: {report.made} ({report.running} running)")
        out.write(f"Goal: median < {bench.GOAL_MS} ms per request")
        for figure in report.figures:
            verdict = "OK" if figure.meets_goal else "TOO SLOW"
            out.write(
                f"  {figure.name:<34} median {figure.median_ms:7.1f} ms, "
                f"max {figure.max_ms:7.1f} ms, {figure.queries} queries, "
                f"{figure.size} bytes  {verdict}"
            )
        if opts["keep"]:
            out.write(f"Kept: the actions of {bench.BENCH_ORGANISATION!r}")
        else:
            out.write("Cleaned up: every row the benchmark made is gone")
