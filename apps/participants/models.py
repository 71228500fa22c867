"""Participants: citizens, their addresses and when each address is active."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from apps.channels.models import Channel
from apps.web.text import CleanTextMixin

from . import schedule
from .reach import CHOICE_FIELDS, PHONE_CHANNELS, minute_of

MAX_ADDRESSES = 5
MAX_WINDOWS_PER_ADDRESS = 3
CODE_DIGITS = 6
CODE_MAX_ATTEMPTS = 5
CODE_VALID_FOR = timedelta(minutes=15)


class Country(models.TextChoices):
    NL = "NL", _("Nederland")
    BE = "BE", _("België")
    DE = "DE", _("Duitsland")


class Language(models.TextChoices):
    """The languages a participant reads Burgernet's messages in: each named in itself."""

    NL = "nl", "Nederlands"
    EN = "en", "English"
    DE = "de", "Deutsch"
    FR = "fr", "Français"


class Participant(models.Model):
    """Deelnemer: a citizen who receives Burgernet messages.

    Registered by a mobile number (E.164); holds no name. Its string form never shows
    personal data, so it is safe in logs and the audit trail.
    """

    # A random handle for links (the code page), so no link carries the database id.
    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    phone = models.CharField(_("mobiel nummer"), max_length=16, unique=True)
    phone_confirmed_at = models.DateTimeField(_("nummer bevestigd op"), null=True, blank=True)
    email = models.EmailField(_("e-mailadres"), blank=True)
    email_confirmed_at = models.DateTimeField(_("e-mail bevestigd op"), null=True, blank=True)
    email_postcode = models.CharField(_("postcode bij e-mail"), max_length=7, blank=True)
    email_lat = models.FloatField(_("breedtegraad postcode e-mail"), null=True, blank=True)
    email_lon = models.FloatField(_("lengtegraad postcode e-mail"), null=True, blank=True)
    email_municipality = models.ForeignKey(
        "governance.Municipality",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gemeente bij e-mail"),
    )
    # No mail goes to the address after a hard bounce, a spam complaint or an unsubscribe,
    # until the participant confirms the address again (which clears both fields).
    email_suppressed_at = models.DateTimeField(_("e-mail geblokkeerd op"), null=True, blank=True)
    email_suppressed_reason = models.CharField(
        _("reden blokkade e-mail"),
        max_length=12,
        blank=True,
        choices=[
            ("bounced", _("onbestelbaar")),
            ("complained", _("gemeld als spam")),
            ("unsubscribed", _("afgemeld")),
        ],
    )
    wants_sms = models.BooleanField(_("sms"), default=True)
    wants_voice = models.BooleanField(_("gesproken bericht"), default=False)
    wants_email = models.BooleanField(_("e-mail"), default=False)
    quiet_start = models.TimeField(_("stil vanaf"), null=True, blank=True)
    quiet_end = models.TimeField(_("stil tot"), null=True, blank=True)
    # The fixed wording of an alert (its kind, "Gezien? Bel …") goes in this language, and
    # the free description where the operator wrote it in it (Dutch otherwise).
    # db_default too: rows written in SQL (bench_fanout's bulk load) read Dutch.
    language = models.CharField(
        _("taal"),
        max_length=2,
        choices=Language.choices,
        default=Language.NL,
        db_default=Language.NL,
    )
    created_at = models.DateTimeField(_("aangemeld op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("deelnemer")
        verbose_name_plural = _("deelnemers")
        indexes = [
            models.Index(fields=["email"], name="participant_email"),
            # Targeting looks up thousands of participants by id and asks only these
            # columns: on PostgreSQL the index answers without visiting the table.
            models.Index(
                fields=["id"],
                include=[
                    "phone_confirmed_at",
                    "wants_sms",
                    "wants_voice",
                    "quiet_start",
                    "quiet_end",
                ],
                condition=models.Q(phone_confirmed_at__isnull=False),
                name="participant_reachable",
            ),
            # Retention finds the registrations never confirmed (a few among millions).
            models.Index(
                fields=["created_at"],
                condition=models.Q(phone_confirmed_at__isnull=True),
                name="participant_unconfirmed",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(quiet_start__isnull=True, quiet_end__isnull=True)
                    | models.Q(quiet_start__isnull=False, quiet_end__isnull=False)
                ),
                name="participant_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self):
        return _("Deelnemer %(id)s") % {"id": self.pk}

    def audit_label(self) -> str:
        return f"participant {self.pk}"

    @property
    def is_confirmed(self) -> bool:
        return self.phone_confirmed_at is not None

    @property
    def has_confirmed_email(self) -> bool:
        return bool(self.email) and self.email_confirmed_at is not None

    @property
    def may_receive_email(self) -> bool:
        """A confirmed address that no bounce, complaint or unsubscribe has blocked."""
        return self.has_confirmed_email and self.email_suppressed_at is None

    def chose(self, channel: str) -> bool:
        """Whether the participant chose `channel` (reach.chose)."""
        if channel not in CHOICE_FIELDS:
            raise ValueError(f"participants are not reached on channel {channel!r}")
        return bool(getattr(self, CHOICE_FIELDS[channel]))

    def may_be_alerted(self, channel: str, local_moment) -> bool:
        """Whether an action may alert the participant on `channel` at a local moment
        (reach.alertable): registered, chose it, an open address for e-mail, and for SMS
        and voice outside the quiet hours."""
        if not (self.is_confirmed and self.chose(channel)):
            return False
        if channel == Channel.EMAIL and not self.may_receive_email:
            return False
        return channel not in PHONE_CHANNELS or not self.is_quiet_at(minute_of(local_moment))

    def is_quiet_at(self, local_time) -> bool:
        """Whether `local_time` (a time of day) falls in the quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return False
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= local_time < self.quiet_end
        return local_time >= self.quiet_start or local_time < self.quiet_end


class Address(models.Model):
    """Adres: a place where the participant wants to be alerted, geocoded once."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("naam"), max_length=40)
    country = models.CharField(_("land"), max_length=2, choices=Country.choices, default=Country.NL)
    postcode = models.CharField(_("postcode"), max_length=10)
    house_number = models.PositiveIntegerField(_("huisnummer"))
    house_number_suffix = models.CharField(_("toevoeging"), max_length=8, blank=True)
    lat = models.FloatField(_("breedtegraad"))
    lon = models.FloatField(_("lengtegraad"))
    # Empty for Belgian and German addresses.
    municipality = models.ForeignKey(
        "governance.Municipality",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="participant_addresses",
        verbose_name=_("gemeente"),
    )
    always_active = models.BooleanField(_("altijd actief"), default=True)
    created_at = models.DateTimeField(_("toegevoegd op"), auto_now_add=True)
    # The participant's reachability, copied to each address by the database (triggers of
    # migration 0007, on every write to either table, so no write path can forget it), so
    # that a reach estimate counts addresses alone (reach.address_alertable). Never set
    # from Python: whatever a save writes here, the database writes over it.
    reach_sms = models.BooleanField(db_default=False, editable=False)
    reach_voice = models.BooleanField(db_default=False, editable=False)
    reach_email = models.BooleanField(db_default=False, editable=False)
    quiet_start = models.TimeField(null=True, blank=True, editable=False)
    quiet_end = models.TimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["participant", "created_at", "id"]
        verbose_name = _("adres")
        verbose_name_plural = _("adressen")
        # Targeting narrows candidates with a bounding box on these two columns; the
        # included columns are all it reads of an address, so on PostgreSQL the index
        # answers alone (an index-only scan), without a visit per address to the table.
        indexes = [
            models.Index(
                fields=["lat", "lon"],
                include=[
                    "id",
                    "participant",
                    "always_active",
                    "reach_sms",
                    "reach_voice",
                    "reach_email",
                    "quiet_start",
                    "quiet_end",
                ],
                name="address_lat_lon_cover",
            )
        ]

    def __str__(self):
        return f"{self.label} ({self.get_country_display()})"

    @property
    def house_number_display(self) -> str:
        return f"{self.house_number}{self.house_number_suffix}"

    def is_active_at(self, local_moment) -> bool:
        """Whether the address counts at a local (Europe/Amsterdam) moment."""
        if self.always_active:
            return True
        return any(w.is_active_at(local_moment) for w in self.windows.all())


class ActiveWindow(models.Model):
    """Actieve periode: days of the week and hours at which an address is active.

    An end at or before the start means the window runs over midnight.
    """

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="windows")
    days = models.PositiveSmallIntegerField(
        _("dagen"), help_text=_("Bitmasker: maandag = 1, dinsdag = 2, … zondag = 64.")
    )
    start = models.TimeField(_("van"))
    end = models.TimeField(_("tot"))

    class Meta:
        ordering = ["address", "id"]
        verbose_name = _("actieve periode")
        verbose_name_plural = _("actieve periodes")
        # Targeting reads the windows of every address in a circle: from the index alone.
        indexes = [
            models.Index(
                fields=["address"],
                include=["days", "start", "end"],
                name="active_window_address_cover",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(days__gte=1, days__lte=schedule.ALL_DAYS),
                name="active_window_days_valid",
            ),
        ]

    def __str__(self):
        return schedule.describe(self.days, self.start, self.end)

    @property
    def day_list(self) -> list[int]:
        return schedule.mask_to_days(self.days)

    @property
    def over_midnight(self) -> bool:
        return self.end <= self.start

    def is_active_at(self, local_moment) -> bool:
        return schedule.is_active_at(self.days, self.start, self.end, local_moment)


def _code_hash(participant_id: int, code: str) -> str:
    # Keyed with SECRET_KEY: a copy of the table alone does not give the codes away.
    return salted_hmac("participants.phone-code", f"{participant_id}:{code}").hexdigest()


class PhoneCode(models.Model):
    """Bevestigingscode: the code sent by SMS to confirm a mobile number.

    Only its keyed hash is stored. Five wrong tries lock it; a new code replaces it.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="phone_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bevestigingscode")
        verbose_name_plural = _("bevestigingscodes")

    def __str__(self):
        return f"code {self.pk}"

    @staticmethod
    def new_code() -> str:
        return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    @classmethod
    def for_participant(cls, participant: Participant, code: str) -> "PhoneCode":
        return cls(
            participant=participant,
            code_hash=_code_hash(participant.pk, code),
            expires_at=timezone.now() + CODE_VALID_FOR,
        )

    @property
    def is_locked(self) -> bool:
        return self.failed_attempts >= CODE_MAX_ATTEMPTS

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def attempts_left(self) -> int:
        return max(0, CODE_MAX_ATTEMPTS - self.failed_attempts)

    def matches(self, code: str) -> bool:
        return constant_time_compare(self.code_hash, _code_hash(self.participant_id, code))


class ManageLink(models.Model):
    """Beheerlink: one use of a signed link to manage a registration.

    The link carries a random nonce (signed, with an expiry); the row holds its hash and
    whether it was used, so a link works once.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="manage_links"
    )
    nonce_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("beheerlink")
        verbose_name_plural = _("beheerlinks")

    def __str__(self):
        return f"manage link {self.pk}"

    @staticmethod
    def hash_nonce(nonce: str) -> str:
        return hashlib.sha256(nonce.encode()).hexdigest()


class SmsBudget(models.Model):
    """Sms-budget: how many service SMS (codes, links) one number gets a day and the site
    sends an hour. One row; managers see it in the admin, with what was sent this hour,
    and raise it (a TV appeal brings many registrations at once)."""

    per_number_per_day = models.PositiveIntegerField(
        _("per nummer per dag"),
        help_text=_("Zoveel sms-berichten met een code of link krijgt één nummer per dag."),
    )
    per_hour = models.PositiveIntegerField(
        _("per uur, in totaal"),
        help_text=_("Zoveel sms-berichten met een code of link verstuurt Burgernet per uur."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sms-budget")
        verbose_name_plural = _("sms-budget")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="sms_budget_one_row")]

    def __str__(self):
        return str(_("Sms-budget"))

    @classmethod
    def current(cls) -> "SmsBudget":
        from django.conf import settings

        budget, _created = cls.objects.get_or_create(
            pk=1,
            defaults={
                "per_number_per_day": settings.SMS_BUDGET_PER_NUMBER_PER_DAY,
                "per_hour": settings.SMS_BUDGET_PER_HOUR,
            },
        )
        return budget


class ServiceSms(models.Model):
    """One service SMS queued (a code or a link), counted against the budgets. Holds no
    number: a keyed hash of it, and the moment; rows older than a day are deleted."""

    number_key = models.CharField(max_length=32)
    queued_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["number_key", "queued_at"])]

    def __str__(self):
        return f"service SMS {self.pk}"


class Device(models.Model):
    """Apparaat: an installed Burgernet web app with its Web Push subscription.

    The device reports only a coarse area cell (a geohash prefix of a few kilometres),
    overwritten on each refresh and forgotten when stale; no location history is kept.
    A device belongs to no participant: the web app needs no registration.
    """

    # The handle the web app keeps to refresh its own row; never the database id.
    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    endpoint = models.URLField(_("push-endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    cell = models.CharField(_("gebiedscel"), max_length=8, blank=True)
    # The cell's centre, so targeting can prefilter with a bounding box like addresses.
    cell_lat = models.FloatField(null=True, blank=True)
    cell_lon = models.FloatField(null=True, blank=True)
    cell_updated_at = models.DateTimeField(null=True, blank=True)
    # Staff test devices receive exercises (oefeningen), never citizens' devices.
    is_test_device = models.BooleanField(_("testapparaat"), default=False)
    language = models.CharField(max_length=8, default="nl")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("apparaat")
        verbose_name_plural = _("apparaten")
        indexes = [
            # The bounding box of targeting, with all else it reads of a device included
            # (an index-only scan on PostgreSQL).
            models.Index(
                fields=["cell_lat", "cell_lon"],
                include=["id", "cell", "cell_updated_at", "is_test_device"],
                name="device_cell_cover",
            ),
            models.Index(fields=["cell_updated_at"], name="device_cell_updated"),
        ]

    def __str__(self):
        return f"device {self.pk}"

    def audit_label(self) -> str:
        return f"device {self.pk}"


# --- a device's fixed places (vaste plekken) -----------------------------------------------

MAX_PLACES_PER_DEVICE = 3
PLACE_LABEL_MAX_LENGTH = 30


class DevicePlace(CleanTextMixin, models.Model):
    """Vaste plek: a place a web-app user chose to be alerted about besides where the phone
    is (home, work, a parent's house), so alerts there reach the device even when the app
    was not opened for a day and its live cell went stale.

    Stored as the coarse cell alone, at the live cell's precision, with its centre for the
    bounding box; never the point or the postcode it was chosen by. A choice, not a
    location: it does not go stale, and is deleted with its device or by the user. At most
    MAX_PLACES_PER_DEVICE per device (devices.device_place_add holds to it).
    """

    # Looked up by device through the unique (device, cell) constraint's index.
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="places", db_index=False
    )
    cell = models.CharField(_("gebiedscel"), max_length=8)
    cell_lat = models.FloatField()
    cell_lon = models.FloatField()
    label = models.CharField(_("naam"), max_length=PLACE_LABEL_MAX_LENGTH, blank=True)
    # A copy of the device's, so that targeting reads the places alone (their covering
    # index) and looks up no device per place; kept by devices.device_place_add and
    # devices.device_set_test, the only ways either changes.
    is_test_device = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    clean_text_fields = ("label",)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("vaste plek")
        verbose_name_plural = _("vaste plekken")
        constraints = [
            models.UniqueConstraint(fields=["device", "cell"], name="device_place_unique_cell"),
        ]
        indexes = [
            # The bounding box of targeting, with what else it reads (index-only on PostgreSQL).
            models.Index(
                fields=["cell_lat", "cell_lon"],
                include=["device_id", "cell", "is_test_device"],
                name="device_place_cell_cover",
            ),
        ]

    def __str__(self):
        return f"place {self.pk} of device {self.device_id}"
