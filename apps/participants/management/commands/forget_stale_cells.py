"""Forget the area cells of web-app devices that have not reported for 24 hours."""

from django.core.management.base import BaseCommand

from apps.participants import devices


class Command(BaseCommand):
    help = (
        "Clear the area cell of every web-app device that has not reported one for 24 hours. "
        "django-q2 runs this hourly (Schedule 'participants.forget_stale_cells')."
    )

    def handle(self, *args, **options):
        forgotten = devices.cells_forget_stale()
        self.stdout.write(f"{forgotten} stale cells forgotten.")
