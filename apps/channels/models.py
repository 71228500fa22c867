"""The outbox: every message to every recipient on every channel is a Delivery row.

The channels app knows no action, mailing or participant beyond foreign keys by name:
domains hand it an OutgoingMessage and a set of recipients, or a Notice for one; the rows
are the source of truth and the queue the outbox workers take their work from.
"""

import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """The channels: four reach people one by one (a Delivery per recipient); webhooks
    post to partners' bridges (a Delivery per subscription); displays and the open feeds
    are read by whoever polls them (no Delivery)."""

    WEBPUSH = "webpush", _("web-app (push)")
    SMS = "sms", _("sms")
    VOICE = "voice", _("gesproken bericht")
    EMAIL = "email", _("e-mail")
    WEBHOOK = "webhook", _("webhooks (partners, sociale media)")
    DISPLAY = "display", _("displays en matrixborden")
    FEED = "feed", _("open feeds (Atom, CAP)")


# The channels that reach people, each a Delivery per recipient, in the order a release
# writes them; and the channels that publish an action for others to pass on.
RECIPIENT_CHANNELS = (Channel.WEBPUSH, Channel.SMS, Channel.VOICE, Channel.EMAIL)
PUBLIC_CHANNELS = (Channel.WEBHOOK, Channel.DISPLAY, Channel.FEED)
# The channels whose service reports afterwards whether a message arrived
# (Delivery.receipt): the e-mail service's tracking webhooks and the SMS and voice
# gateways' delivery reports (channels/webhooks.py). On the others a row sent is all there
# is to know.
CHANNELS_WITH_RECEIPTS = frozenset({Channel.SMS, Channel.VOICE, Channel.EMAIL})


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


class Notice(models.Model):
    """One text from a domain to one participant that belongs to no message: an SMS with a
    confirmation code or a manage link. It is sent as one Delivery that points at it
    instead of at a message, by the outbox workers like any row: retried after the
    backoff, failed once it expires (a code past its validity is not sent late).

    The text holds a secret (the code, the link), so it is kept only while it may still
    be sent: the outbox wipes it once its delivery is sent or failed, and once it expires
    (outbox._write_back, outbox.sweep). What stays says what it was, not what it said.
    """

    # What the notice is ("participants.phone_code"): no personal data.
    source = models.CharField(max_length=80)
    text = models.TextField(blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Only texts not yet wiped: the sweep wipes those that expired.
            models.Index(
                fields=["expires_at"], condition=~models.Q(text=""), name="notice_unwiped"
            ),
        ]

    def __str__(self):
        return f"notice {self.pk} ({self.source})"


class Delivery(models.Model):
    """Bezorging: one message to one recipient on one channel, and what became of it.

    Push deliveries point at a device; SMS, voice and e-mail at a participant. A row
    recorded as sent is never sent again. A device whose subscription is gone is deleted;
    its deliveries stay (without it) so the counts of a message stay right. A row of a
    Notice (a code, a link) has the notice instead of a message.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("in de wachtrij")
        SENDING = "sending", _("wordt verstuurd")
        SENT = "sent", _("verstuurd")
        FAILED = "failed", _("mislukt")
        CANCELLED = "cancelled", _("gestopt")

    class Receipt(models.TextChoices):
        """What the e-mail service, the SMS or the voice gateway reported after sending
        (their webhooks)."""

        DEFERRED = "deferred", _("vertraagd")
        DELIVERED = "delivered", _("afgeleverd")
        BOUNCED = "bounced", _("onbestelbaar")
        REJECTED = "rejected", _("geweigerd")
        UNSUBSCRIBED = "unsubscribed", _("afgemeld")
        COMPLAINED = "complained", _("gemeld als spam")
        # A call that rang but was not picked up, or met a busy line.
        UNANSWERED = "unanswered", _("niet opgenomen")

    # A release writes 100,000 rows in one statement, and every index and every key the
    # database checks costs per row: without three indexes (the ones below serve the keys
    # too) and without the database's key checks, such a release went from 3.9 s to 1.8 s
    # on PostgreSQL (2 cores). The rows are written from ids the database just selected,
    # and Django carries out on_delete (CASCADE, SET_NULL) itself.
    message = models.ForeignKey(
        OutgoingMessage,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    # A release leaves it out of its INSERT (NULL): a release's rows write nothing more.
    notice = models.ForeignKey(
        Notice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
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
    # A webhook's row: the partner's subscription it is posted to. Kept (without it) when
    # the subscription is deleted, like a device's rows, so the counts stay right.
    subscription = models.ForeignKey(
        "WebhookSubscription",
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
            models.UniqueConstraint(
                fields=["subscription", "message", "channel"],
                condition=models.Q(subscription__isnull=False),
                name="delivery_once_per_subscription",
            ),
            # One recipient at most (a participant, a device or a webhook subscription);
            # none once the device or the subscription was deleted.
            models.CheckConstraint(
                condition=models.Q(participant__isnull=True, device__isnull=True)
                | models.Q(participant__isnull=True, subscription__isnull=True)
                | models.Q(device__isnull=True, subscription__isnull=True),
                name="delivery_one_recipient",
            ),
            # A message's row or a notice's, never both or neither.
            models.CheckConstraint(
                condition=models.Q(message__isnull=False, notice__isnull=True)
                | models.Q(message__isnull=True, notice__isnull=False),
                name="delivery_message_or_notice",
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
            # Only queued rows of notices, which a release never writes: a worker claims
            # them, and the sweep fails those expired, without a look at any message's.
            models.Index(
                fields=["notice"],
                condition=models.Q(notice__isnull=False, state="queued"),
                name="delivery_notice_queued",
            ),
        ]

    def __str__(self):
        return f"delivery {self.pk} ({self.channel}, {self.state})"


class ChannelSetting(models.Model):
    """Kanaalinstelling: whether a channel is used, and for which messages.

    One row per channel. A paused channel is not used until a manager resumes it; a
    retired one never again (it stays for history and reports). A used channel carries the
    urgencies and the kinds named here; an empty list of kinds is every kind. The rule
    that reads this (which channels a message goes on) is apps/channels/plan.py.
    """

    class State(models.TextChoices):
        ENABLED = "enabled", _("in gebruik")
        PAUSED = "paused", _("gepauzeerd")
        RETIRED = "retired", _("uitgefaseerd")

    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices, unique=True)
    state = models.CharField(
        _("status"), max_length=8, choices=State.choices, default=State.ENABLED
    )
    # OutgoingMessage.Urgency values: "high" (time-critical) and "normal".
    urgencies = models.JSONField(_("urgenties"), default=list, blank=True)
    # Kinds of messages (an action's kind, "crisis"); empty: every kind (apps/channels/kinds.py).
    kinds = models.JSONField(_("soorten"), default=list, blank=True)
    note = models.CharField(_("toelichting"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("kanaalinstelling")
        verbose_name_plural = _("kanaalinstellingen")

    def __str__(self):
        return f"{self.get_channel_display()} ({self.get_state_display()})"

    def audit_label(self) -> str:
        return f"channel {self.channel}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from . import kinds

        errors = {}
        urgencies = self.urgencies if isinstance(self.urgencies, list) else None
        if urgencies is None or not set(urgencies) <= set(OutgoingMessage.Urgency.values):
            errors["urgencies"] = _("Kies urgenties uit de lijst.")
        elif not urgencies and self.state == self.State.ENABLED:
            errors["urgencies"] = _("Een kanaal in gebruik draagt minstens één urgentie.")
        chosen = self.kinds if isinstance(self.kinds, list) else None
        if chosen is None or not set(chosen) <= set(kinds.values()):
            errors["kinds"] = _("Kies soorten uit de lijst.")
        if errors:
            raise ValidationError(errors)

    @property
    def in_use(self) -> bool:
        return self.state == self.State.ENABLED

    def carries(self, *, kind: str, urgency: str | None) -> bool:
        """Used, for this kind, and — unless `urgency` is None (a message that goes on
        every channel that carries its kind) — for this urgency."""
        if not self.in_use:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        return urgency is None or urgency in self.urgencies


class CeilingStep(models.Model):
    """Plafond: from a date on, a channel reaches at most so many recipients per message
    of an action; the nearest to the incident point are kept. A schedule is the steps of a
    channel by date, each in force until the next (the 2023 phase-out of SMS: 3,000 from
    1 March, 1,500 from 1 June, 0 from 1 September). A ceiling of 0 means the channel is
    not used. An AMBER Alert is held to the ceiling too, unless the step exempts it."""

    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices)
    starts_on = models.DateField(_("vanaf"))
    max_recipients = models.PositiveIntegerField(
        _("hoogstens ontvangers per bericht"),
        null=True,
        blank=True,
        help_text=_("Leeg: geen plafond. 0: het kanaal wordt niet gebruikt."),
    )
    amber_exempt = models.BooleanField(
        _("geldt niet voor AMBER Alerts"),
        default=False,
        help_text=_("Een AMBER Alert gaat dan naar iedereen op dit kanaal."),
    )
    note = models.CharField(_("toelichting"), max_length=200, blank=True)

    class Meta:
        ordering = ["channel", "starts_on"]
        verbose_name = _("plafond")
        verbose_name_plural = _("plafonds")
        constraints = [
            models.UniqueConstraint(fields=["channel", "starts_on"], name="ceiling_one_per_day")
        ]

    def __str__(self):
        limit = "—" if self.max_recipients is None else self.max_recipients
        return f"{self.get_channel_display()} {self.starts_on:%Y-%m-%d}: {limit}"

    def audit_label(self) -> str:
        return f"ceiling {self.channel} {self.starts_on:%Y-%m-%d}"

    def applies_to(self, *, amber: bool) -> bool:
        return self.max_recipients is not None and not (amber and self.amber_exempt)


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


# A police unit's or a province's slug, as regions.slug makes it ("midden-nederland").
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class WebhookSubscription(models.Model):
    """Webhook-abonnement: a partner's bridge (a social-media account, a news desk) that
    gets every message of the actions it chose, POSTed as signed JSON
    (senders/webhook.py). Only nationwide managers keep them (the admin).

    The filters are lists of strings; an empty list does not filter. `units` and
    `provinces` together are the regions (a police unit's or a province's slug): an
    action matches when it lies in any of them, and a nationwide action (an AMBER Alert,
    the national unit's) lies in every one. The secret signs each request; it is made on
    creation, shown once, and never written to a log or the audit trail.
    """

    name = models.CharField(_("naam"), max_length=80)
    url = models.CharField(_("adres (https)"), max_length=500)
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(_("actief"), default=True)
    units = models.JSONField(_("politie-eenheden"), default=list, blank=True)
    provinces = models.JSONField(_("provincies"), default=list, blank=True)
    kinds = models.JSONField(_("soorten"), default=list, blank=True)
    urgencies = models.JSONField(_("urgenties"), default=list, blank=True)

    class Format(models.TextChoices):
        JSON = "json", _("JSON")
        CAP = "cap", _("CAP 1.2 (XML)")

    format = models.CharField(
        _("formaat"), max_length=4, choices=Format.choices, default=Format.JSON
    )
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook-abonnement")
        verbose_name_plural = _("webhook-abonnementen")

    def __str__(self):
        return self.name

    def audit_label(self) -> str:
        # Not the URL: a bridge's URL may carry its own token.
        return f"webhook {self.pk} ({self.name})"

    def clean(self):
        from . import endpoints, kinds

        errors = {}
        problem = endpoints.webhook_url_problem(self.url or "")
        if problem:
            errors["url"] = _("Dit adres kan niet: %(problem)s.") % {"problem": problem}
        for name in ("units", "provinces"):
            value = getattr(self, name)
            if not _strings(value) or not all(_SLUG.match(item) for item in value):
                errors[name] = _("Kies uit de lijst.")
        if not _strings(self.kinds) or not set(self.kinds) <= kinds.values():
            errors["kinds"] = _("Kies soorten uit de lijst.")
        urgencies = set(OutgoingMessage.Urgency.values)
        if not _strings(self.urgencies) or not set(self.urgencies) <= urgencies:
            errors["urgencies"] = _("Kies urgenties uit de lijst.")
        if errors:
            raise ValidationError(errors)

    def matches(
        self,
        *,
        kind: str,
        urgency: str,
        units: set[str],
        provinces: set[str],
        nationwide: bool = False,
    ) -> bool:
        """Whether an action of `kind` and `urgency` in the police units and provinces
        named (slugs) passes this subscription's filters."""
        if not self.is_active:
            return False
        if self.kinds and kind not in self.kinds:
            return False
        if self.urgencies and urgency not in self.urgencies:
            return False
        if (self.units or self.provinces) and not nationwide:
            return bool(set(self.units) & units or set(self.provinces) & provinces)
        return True


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
