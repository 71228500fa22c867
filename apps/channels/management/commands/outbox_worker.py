"""Run the outbox workers: `manage.py outbox_worker [--processes N]`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.channels import outbox
from apps.channels.worker import Supervisor


class Command(BaseCommand):
    help = (
        "Send the queued deliveries: a supervisor with --processes worker processes that "
        "claim due rows from the database, restarted when one dies. Stops on SIGTERM or "
        "Ctrl-C after the chunks in hand. --drain sends what is due now, in this process, "
        "and stops."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="worker processes (default OUTBOX_PROCESSES, 2)",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=outbox.DEFAULT_CHUNK_SIZE,
            help=f"rows per claim at least (default {outbox.DEFAULT_CHUNK_SIZE}); claims grow to "
            f"about a second of sending, at most {outbox.MAX_CHUNK_SIZE}",
        )
        parser.add_argument(
            "--drain", action="store_true", help="send what is due now in this process, then stop"
        )

    def handle(self, *args, processes, chunk_size, drain, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1")
        if drain:
            outbox.sweep()
            counts = outbox.drain(chunk_size=chunk_size)
            self.stdout.write(f"sent what was due: {dict(counts)}")
            return
        if processes is None:
            processes = settings.OUTBOX_PROCESSES
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        Supervisor(processes=processes, chunk_size=chunk_size).run()
