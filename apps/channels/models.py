"""The outbox: every message to every recipient on every channel is a Delivery row.

The channels app knows no action, mailing or participant beyond foreign keys by name:
domains hand it an OutgoingMessage and a set of recipients; the rows are the source of
truth, the task queue only carries chunks of them.
"""

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEBPUSH = "webpush", _("web-app (push)")
    SMS = "sms", _("sms")
    VOICE = "voice", _("gesproken bericht")
    EMAIL = "email", _("e-mail")


class OutgoingMessage(models.Model):
    """Bericht: one text, as released, to be delivered to many recipients.

    `source` names what it belongs to ("actions.action:12:release") without a foreign
    key, so the channels app stands below the domains.
    """

    class Urgency(models.TextChoices):
        HIGH = "high", _("hoog (tijdkritisch)")
        NORMAL = "normal", _("normaal")

    source = models.CharField(max_length=80, db_index=True)
    title = models.CharField(_("titel"), max_length=120)
    body = models.TextField(_("tekst"))
    url = models.CharField(_("link"), max_length=500, blank=True)
    # Web Push: a repeated message with the same topic replaces an undelivered one.
    topic = models.CharField(max_length=32, blank=True)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    ttl_seconds = models.PositiveIntegerField(default=3600)
    # Extra data for the channel payloads (e.g. image URL, action reference).
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The stop button: nothing still queued is sent after this moment.
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bericht")
        verbose_name_plural = _("berichten")

    def __str__(self):
        return f"{self.source}: {self.title}"

    @property
    def expires_at(self):
        """After this moment the message is no longer worth delivering (its TTL)."""
        return self.created_at + timedelta(seconds=self.ttl_seconds)


class Delivery(models.Model):
    """Bezorging: one message to one recipient on one channel, and what became of it.

    Push deliveries point at a device; SMS, voice and e-mail at a participant. A row
    recorded as sent is never sent again. A device whose subscription is gone is deleted;
    its deliveries stay (without it) so the counts of a message stay right.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("in de wachtrij")
        SENDING = "sending", _("wordt verstuurd")
        SENT = "sent", _("verstuurd")
        FAILED = "failed", _("mislukt")
        CANCELLED = "cancelled", _("gestopt")

    class Receipt(models.TextChoices):
        """What the e-mail service reported after sending (its tracking webhooks)."""

        DEFERRED = "deferred", _("vertraagd")
        DELIVERED = "delivered", _("afgeleverd")
        BOUNCED = "bounced", _("onbestelbaar")
        REJECTED = "rejected", _("geweigerd")
        UNSUBSCRIBED = "unsubscribed", _("afgemeld")
        COMPLAINED = "complained", _("gemeld als spam")

    # A release writes 100,000 rows in one statement, and every index and every key the
    # database checks costs per row: without three indexes (the ones below serve the keys
    # too) and without the database's key checks, such a release went from 3.9 s to 1.8 s
    # on PostgreSQL (2 cores). The rows are written from ids the database just selected,
    # and Django carries out on_delete (CASCADE, SET_NULL) itself.
    message = models.ForeignKey(
        OutgoingMessage,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    device = models.ForeignKey(
        "participants.Device",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A worker's claim: until then no other worker takes the row; after it, the sweep may.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Which claim took the row: a worker reads back, and writes back, only its own rows.
    claim_token = models.CharField(max_length=32, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set by the web app when the citizen opens the message.
    opened_at = models.DateTimeField(null=True, blank=True)
    # The service's last word on the row after it was sent (e-mail tracking webhooks).
    receipt = models.CharField(max_length=12, choices=Receipt.choices, blank=True)
    receipt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bezorging")
        verbose_name_plural = _("bezorgingen")
        # A release writes every index below once per row, so there are as few as serve:
        # the recipient leads the unique indexes, so they also find a participant's or a
        # device's rows when it is deleted; the lease and token indexes hold only rows in
        # flight, so a release (all rows queued) does not write them.
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "message", "channel"],
                condition=models.Q(participant__isnull=False),
                name="delivery_once_per_participant",
            ),
            models.UniqueConstraint(
                fields=["device", "message", "channel"],
                condition=models.Q(device__isnull=False),
                name="delivery_once_per_device",
            ),
            # One recipient at most; none once the device was deleted (subscription gone).
            models.CheckConstraint(
                condition=models.Q(participant__isnull=True) | models.Q(device__isnull=True),
                name="delivery_one_recipient",
            ),
        ]
        indexes = [
            # A message's rows by state: claims, the stop button, the counts, the sweep.
            models.Index(fields=["message", "state"], name="delivery_message_state"),
            # Only rows in flight: the sweep finds those whose lease ran out.
            models.Index(
                fields=["lease_until"],
                condition=models.Q(state="sending"),
                name="delivery_lease_sending",
            ),
            # Only rows in flight: a claim reads back its rows by token.
            models.Index(
                fields=["claim_token"],
                condition=models.Q(state="sending"),
                name="delivery_claim_sending",
            ),
            # A tracking webhook finds its row by the service's message id. Only sent rows
            # have one, so a release (all rows without) does not write to this index.
            models.Index(
                fields=["provider_id"],
                condition=~models.Q(provider_id=""),
                name="delivery_provider_id",
            ),
        ]

    def __str__(self):
        return f"delivery {self.pk} ({self.channel}, {self.state})"
