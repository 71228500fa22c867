"""Measure a Burgernetmail mailing to many recipients through the real sending path.

    python manage.py bench_mailing [--recipients 50000] [--workers 0] [--keep]

Generates participants with a confirmed e-mail address in a municipality made for the
benchmark (so no real participant can be selected, and no real row is changed), writes a
buurtonderzoek to it, and sends it through services.mailing_fan_out → the outbox → the e-mail
sender's chunks, with EMAIL_BACKEND set to anymail's test backend (nothing leaves the
machine; each batch send is one message in django.core.mail.outbox). Prints the recipient
selection time, the number of API calls and the total time, and removes everything it made
unless --keep.

With --workers 0 (the default) this process drains the outbox as an outbox worker does
(outbox.drain); with --workers N a running `manage.py outbox_worker` sends and the command
waits for the outbox to empty. Those workers must use the same EMAIL_BACKEND: the command
can only count the API calls made in its own process.
"""

import math
import os
import platform
import time
import uuid
from datetime import date

from django.core import mail
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from apps.channels import outbox
from apps.channels.models import Delivery, OutgoingMessage
from apps.governance.models import AuditEntry, Municipality, Organisation, User
from apps.mail import selection, services
from apps.mail.models import Kind, Mailing, MailingArea
from apps.participants.models import Participant

TEST_BACKEND = "anymail.backends.test.EmailBackend"
# Every generated participant has an address under this reserved domain (RFC 2606) and a
# number in the unassigned country code +999: neither can belong to a real participant.
EMAIL_DOMAIN = "bench.burgernet.invalid"
PHONE_PREFIX = "+999"
INSERT_BATCH = 5_000
TARGET_SECONDS = 60
TARGET_RECIPIENTS_PER_CALL = 500


class Command(BaseCommand):
    help = "Send a buurtonderzoek to generated recipients through anymail's test backend."

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=50_000)
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help="0: send in this process; N: wait for a running outbox_worker.",
        )
        parser.add_argument("--keep", action="store_true", help="Leave the generated rows.")
        parser.add_argument(
            "--timeout", type=float, default=600, help="Seconds to wait for --workers."
        )

    def handle(self, *args, recipients, workers, keep, timeout, **options):
        if recipients < 1:
            raise CommandError("--recipients must be at least 1.")
        template = Municipality.objects.select_related("province").first()
        if template is None:
            raise CommandError("No municipalities: run `manage.py load_geography` first.")
        run = uuid.uuid4().hex[:8]
        made: dict = {}
        try:
            self._bench(template, run, recipients, workers, timeout, made)
        finally:
            if keep:
                self.stdout.write(f"Kept: {self._describe(made)}")
            else:
                started = time.perf_counter()
                self._clean_up(made)
                self.stdout.write(f"Cleaned up in {time.perf_counter() - started:.1f} s.")

    # The run -------------------------------------------------------------------------------

    def _bench(self, template, run, count, workers, timeout, made):
        out = self.stdout.write
        out(self._machine())

        started = time.perf_counter()
        municipality, organisation, author = self._organisation(template, run, made)
        self._participants(municipality, run, count)
        made["participants"] = True
        mailing = Mailing.objects.create(
            kind=Kind.NEIGHBOURHOOD_INQUIRY,
            subject="Benchmark: inbraak in de Proefstraat",
            body="Beste bewoner,\n\nIn de nacht van maandag op dinsdag is er ingebroken. "
            "Heeft u iets gezien of gehoord?\n\n- een scooter\n- *twee* personen",
            organisation=organisation,
            author=author,
            incident_date=date.today(),
            incident_place="Proefstraat",
        )
        made["mailing"] = mailing.pk
        MailingArea.objects.create(
            mailing=mailing, kind=MailingArea.Kind.MUNICIPALITY, municipality=municipality
        )
        out(f"Generated {count:,} recipients in {time.perf_counter() - started:.1f} s.")

        # Recipient selection: what the compose screen counts, and what the send enqueues.
        t0 = time.perf_counter()
        selected = selection.count(mailing)
        selection_s = time.perf_counter() - t0
        if selected != count:
            raise CommandError(f"selection found {selected}, expected {count}")
        foreign = Participant.objects.filter(pk__in=selection.recipients(mailing)).exclude(
            email__endswith="@" + EMAIL_DOMAIN
        )
        if foreign.exists():  # cannot happen with a municipality of our own; never send then
            raise CommandError("the selection holds participants the benchmark did not make")

        with override_settings(EMAIL_BACKEND=TEST_BACKEND):
            mail.outbox = []
            t1 = time.perf_counter()
            services.mailing_fan_out(mailing=mailing)
            queued_s = None
            mailing.refresh_from_db()
            made["message"] = mailing.message_id
            if not workers:
                outbox.drain(message_id=mailing.message_id)
            if workers:
                queued_s = time.perf_counter() - t1
                self._wait_for(mailing.message_id, timeout)
            total_s = time.perf_counter() - t1
            calls = list(mail.outbox)
            mail.outbox = []

        states = dict(
            Delivery.objects.filter(message_id=mailing.message_id)
            .values_list("state")
            .order_by()
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
        sent = states.get(Delivery.State.SENT, 0)
        per_call = max((len(m.to) for m in calls), default=0)
        allowed_calls = math.ceil(count / TARGET_RECIPIENTS_PER_CALL)
        out(f"Recipient selection (count): {selection_s * 1000:.0f} ms for {selected:,}")
        if queued_s is not None:
            out(f"Queued (rows and tasks):     {queued_s:.1f} s")
        out(f"API calls (batch sends):     {len(calls)} (at most {per_call} recipients each)")
        out(f"Deliveries:                  {', '.join(f'{k} {v:,}' for k, v in states.items())}")
        out(f"Total (mailing_fan_out → sent): {total_s:.1f} s")
        ok_calls = calls and len(calls) <= allowed_calls
        ok_time = total_s + selection_s < TARGET_SECONDS
        ok_sent = sent == count
        verdict = "OK" if ok_calls and ok_time and ok_sent else "NOT MET"
        out(
            f"Target (≤ 1 call per {TARGET_RECIPIENTS_PER_CALL} recipients, all sent, "
            f"< {TARGET_SECONDS} s): {verdict}"
        )
        if not ok_sent:
            raise CommandError(f"only {sent} of {count} deliveries were sent")

    def _machine(self) -> str:
        if connection.vendor == "postgresql":
            major, minor = divmod(connection.pg_version, 10000)
            database = f"PostgreSQL {major}.{minor}"
        else:
            database = f"{connection.vendor} {connection.Database.sqlite_version}"
        return (
            f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()}, "
            f"Python {platform.python_version()}, {database}; "
            f"{timezone.localtime():%Y-%m-%d %H:%M %Z}"
        )

    # Generated rows --------------------------------------------------------------------------

    def _organisation(self, template, run, made):
        municipality = Municipality.objects.create(
            code=f"B{run[:5]}",
            name=f"Benchmarkgemeente {run}",
            province=template.province,
            safety_region_id=template.safety_region_id,
            police_unit_id=template.police_unit_id,
        )
        made["municipality"] = municipality.pk
        organisation = Organisation.objects.create(
            name=f"Benchmark Burgernetmail {run}",
            kind=Organisation.Kind.MUNICIPALITY,
            municipality=municipality,
        )
        made["organisation"] = organisation.pk
        author = User.objects.create(username=f"bench-mailing-{run}", organisation=organisation)
        author.set_unusable_password()
        author.save(update_fields=["password"])
        made["author"] = author.pk
        return municipality, organisation, author

    def _participants(self, municipality, run, count):
        """Set-based inserts, INSERT_BATCH rows a statement."""
        now = timezone.now()
        start = int(run, 16) % 10**6 * 10**6  # another run's numbers do not collide
        for first in range(0, count, INSERT_BATCH):
            rows = [
                Participant(
                    phone=f"{PHONE_PREFIX}{start + n:012d}",
                    phone_confirmed_at=now,
                    email=f"p{n}-{run}@{EMAIL_DOMAIN}",
                    email_confirmed_at=now,
                    email_postcode="9999ZZ",
                    email_municipality=municipality,
                    wants_sms=False,
                    wants_email=True,
                )
                for n in range(first, min(first + INSERT_BATCH, count))
            ]
            with transaction.atomic():
                Participant.objects.bulk_create(rows, batch_size=INSERT_BATCH)

    def _describe(self, made) -> str:
        return ", ".join(f"{k} {v}" for k, v in made.items()) or "nothing"

    def _clean_up(self, made):
        """Only what this run made: its message's rows, its mailing, its participants (all
        in its own municipality), its organisation, user and municipality."""
        with transaction.atomic():
            message_id = made.get("message")
            if message_id:
                Delivery.objects.filter(message_id=message_id).delete()
                Mailing.objects.filter(pk=made["mailing"]).update(message=None)
                OutgoingMessage.objects.filter(pk=message_id).delete()
            if made.get("mailing"):
                AuditEntry.objects.filter(
                    target_type="mail.mailing", target_id=str(made["mailing"])
                ).delete()
                Mailing.objects.filter(pk=made["mailing"]).delete()
            if made.get("municipality"):
                Participant.objects.filter(
                    email_municipality_id=made["municipality"], email__endswith="@" + EMAIL_DOMAIN
                ).delete()
            if made.get("author"):
                User.objects.filter(pk=made["author"]).delete()
            if made.get("organisation"):
                Organisation.objects.filter(pk=made["organisation"]).delete()
            if made.get("municipality"):
                Municipality.objects.filter(pk=made["municipality"]).delete()

    # Waiting for the workers --------------------------------------------------------------------

    def _wait_for(self, message_id, timeout):
        end = time.monotonic() + timeout
        pending = Delivery.objects.filter(
            message_id=message_id, state__in=[Delivery.State.QUEUED, Delivery.State.SENDING]
        )
        while pending.exists():
            if time.monotonic() > end:
                raise CommandError(f"not sent within {timeout:.0f} s: is `outbox_worker` running?")
            time.sleep(0.25)
