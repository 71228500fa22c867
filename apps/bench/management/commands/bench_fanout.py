"""Measure the fan-out at national scale on a synthetic population (see docs/benchmarks.md)."""

from django.core.management.base import BaseCommand, CommandError

from apps.bench import fanout as bench


class Command(BaseCommand):
    help = (
        "Generate a synthetic national population (participants with addresses, web-app "
        "devices) and measure the reach estimate, a release of about 100,000 push recipients, "
        "and sending it by web push with 1 and 2 worker processes, against the naive "
        "pywebpush way and the bare encryption cost. Removes what it made at the end. Refuses "
        "a database with participants or devices it did not make."
    )

    def add_arguments(self, parser):
        defaults = bench.Options()
        parser.add_argument("--participants", type=int, default=defaults.participants)
        parser.add_argument("--devices", type=int, default=defaults.devices)
        parser.add_argument(
            "--recipients",
            type=int,
            default=defaults.recipients,
            help="push recipients the release circle should hold (its radius is chosen so)",
        )
        parser.add_argument(
            "--push-sample",
            type=int,
            default=defaults.push_sample,
            help="pushes sent the naive way and encrypted alone, for the two references",
        )
        parser.add_argument(
            "--workers",
            type=int,
            nargs="+",
            default=list(defaults.workers),
            help="numbers of worker processes to send with, one run each",
        )
        parser.add_argument("--chunk-size", type=int, default=defaults.chunk_size)
        parser.add_argument(
            "--far-ms",
            type=int,
            default=defaults.far_ms,
            help="one more run with 1 worker, the push service answering this many ms late "
            "(a distant push service); 0 leaves it out",
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--plain-http",
            action="store_true",
            help="the local push service without TLS (real push services all use HTTPS)",
        )
        parser.add_argument(
            "--keep", action="store_true", help="keep the generated rows (a next run removes them)"
        )
        parser.add_argument(
            "--allow-existing-data",
            action="store_true",
            help="run although the database holds participants or devices of its own",
        )

    def handle(self, *args, **options):
        sizes = ("participants", "devices", "recipients", "push_sample", "chunk_size")
        for name in sizes:
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
        if options["far_ms"] < 0:
            raise CommandError("--far-ms cannot be negative")
        if any(n < 1 for n in options["workers"]):
            raise CommandError("--workers must be at least 1")
        settings = bench.Options(
            participants=options["participants"],
            devices=options["devices"],
            recipients=options["recipients"],
            push_sample=options["push_sample"],
            workers=tuple(options["workers"]),
            chunk_size=options["chunk_size"],
            keep=options["keep"],
            allow_existing=options["allow_existing_data"],
            seed=options["seed"],
            tls=not options["plain_http"],
            far_ms=options["far_ms"],
        )

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        def note(line: str) -> None:
            if options["verbosity"] >= 1:
                self.stderr.write(f"… {line}")
                self.stderr.flush()

        try:
            bench.run(settings, say=say, note=note)
        except bench.BenchError as exc:
            raise CommandError(str(exc)) from exc
