"""Geography, organisations of staff, users and the audit log."""

import time

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.db.models.functions import Cast
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _


class Province(models.Model):
    """Provincie."""

    name = models.CharField(_("naam"), max_length=60, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("provincie")
        verbose_name_plural = _("provincies")

    def __str__(self):
        return self.name


class SafetyRegion(models.Model):
    """Veiligheidsregio: 25 of them, each within one province."""

    code = models.CharField(_("code"), max_length=4, unique=True)  # VR01 … VR25
    name = models.CharField(_("naam"), max_length=80)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="safety_regions")

    class Meta:
        ordering = ["code"]
        verbose_name = _("veiligheidsregio")
        verbose_name_plural = _("veiligheidsregio's")

    def __str__(self):
        return self.name


class PoliceUnit(models.Model):
    """Politie-eenheid: ten regional units and the national unit (Landelijke Eenheid)."""

    name = models.CharField(_("naam"), max_length=80, unique=True)
    is_national = models.BooleanField(_("landelijke eenheid"), default=False)

    class Meta:
        ordering = ["is_national", "name"]
        verbose_name = _("politie-eenheid")
        verbose_name_plural = _("politie-eenheden")

    def __str__(self):
        return self.name


class Municipality(models.Model):
    """Gemeente, by its CBS code (GM0014)."""

    code = models.CharField(_("CBS-code"), max_length=6, unique=True)
    name = models.CharField(_("naam"), max_length=80)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="municipalities")
    safety_region = models.ForeignKey(
        SafetyRegion, on_delete=models.PROTECT, related_name="municipalities"
    )
    police_unit = models.ForeignKey(
        PoliceUnit, on_delete=models.PROTECT, related_name="municipalities"
    )
    inhabitants = models.PositiveIntegerField(_("inwoners"), null=True, blank=True)
    lat = models.FloatField(_("breedtegraad centrum"), null=True, blank=True)
    lon = models.FloatField(_("lengtegraad centrum"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("gemeente")
        verbose_name_plural = _("gemeenten")

    def __str__(self):
        return self.name

    @staticmethod
    def ids_in_unit(unit_id: int) -> frozenset[int]:
        """The ids of a police unit's municipalities: a region's scope, which every console
        request asks for (may this operator see this action?). Kept in the shared cache and
        forgotten whenever a municipality is saved or deleted (_forget_units)."""
        now = time.monotonic()
        kept = _units_here.get(unit_id)
        if kept is not None and now - kept[0] < UNIT_MUNICIPALITIES_HERE_SECONDS:
            return kept[1]
        key = _UNIT_KEY.format(unit_id)
        ids = cache.get(key)
        if ids is None:
            ids = frozenset(
                Municipality.objects.filter(police_unit_id=unit_id)
                .order_by()
                .values_list("id", flat=True)
            )
            cache.set(key, ids, UNIT_MUNICIPALITIES_SECONDS)
        _units_here[unit_id] = (now, ids)
        return ids


# How long a unit's municipalities are kept at most: moving a municipality forgets them at
# once in the shared cache (in every process, with the shared cache of production) and in
# the process that moved it; another process may go on with the old list for a second.
UNIT_MUNICIPALITIES_SECONDS = 300
UNIT_MUNICIPALITIES_HERE_SECONDS = 1.0
_UNIT_KEY = "governance.unit_municipalities:{}"
_units_here: dict[int, tuple[float, frozenset[int]]] = {}


def forget_unit_municipalities() -> None:
    """Forget every unit's municipalities, here and in the shared cache."""
    _units_here.clear()
    cache.delete_many(
        [_UNIT_KEY.format(pk) for pk in PoliceUnit.objects.values_list("pk", flat=True)]
    )


@receiver(post_save, sender=Municipality)
@receiver(post_delete, sender=Municipality)
def _forget_units(sender, **kwargs):
    """A municipality changed (it may have moved to another unit): every unit's list is
    forgotten now, and again when the transaction commits, so that no request in between
    keeps the old list."""

    forget_unit_municipalities()
    transaction.on_commit(forget_unit_municipalities)


class PostcodeArea(models.Model):
    """A Dutch four-digit postcode area (PC4) with its centre: the offline geocoder."""

    pc4 = models.CharField(_("postcode (4 cijfers)"), max_length=4, unique=True)
    place = models.CharField(_("plaats"), max_length=80)
    lat = models.FloatField(_("breedtegraad"))
    lon = models.FloatField(_("lengtegraad"))
    municipality = models.ForeignKey(
        Municipality, on_delete=models.SET_NULL, null=True, blank=True, related_name="postcodes"
    )

    class Meta:
        ordering = ["pc4"]
        verbose_name = _("postcodegebied")
        verbose_name_plural = _("postcodegebieden")

    def __str__(self):
        return f"{self.pc4} {self.place}"


class Organisation(models.Model):
    """An organisation of staff; its kind decides its scope."""

    class Kind(models.TextChoices):
        CONTROL_ROOM = "control_room", _("meldkamer (regionale eenheid)")
        NATIONAL_UNIT = "national_unit", _("Landelijke Eenheid")
        MUNICIPALITY = "municipality", _("gemeente")
        POLICE_TEAM = "police_team", _("politieteam")
        MANAGEMENT = "management", _("Burgernet-beheer")

    name = models.CharField(_("naam"), max_length=120, unique=True)
    kind = models.CharField(_("soort"), max_length=20, choices=Kind.choices)
    police_unit = models.ForeignKey(
        PoliceUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text=_("Voor een meldkamer: de regionale eenheid."),
    )
    municipality = models.ForeignKey(
        Municipality,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text=_("Voor een gemeente."),
    )
    municipalities = models.ManyToManyField(
        Municipality,
        blank=True,
        related_name="police_teams",
        verbose_name=_("gemeenten van het team"),
        help_text=_("Voor een politieteam: de gemeenten van zijn gebied."),
    )
    requires_mail_approval = models.BooleanField(
        _("mailings vereisen goedkeuring"),
        default=False,
        help_text=_("Een tweede persoon (mailgoedkeurder) keurt elke mailing goed."),
    )
    is_active = models.BooleanField(_("actief"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisatie")
        verbose_name_plural = _("organisaties")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="control_room") | models.Q(police_unit__isnull=False),
                name="control_room_has_police_unit",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="municipality") | models.Q(municipality__isnull=False),
                name="municipality_org_has_municipality",
            ),
        ]

    def __str__(self):
        return self.name


def validate_phone(value: str) -> None:
    """A phone number phonenumbers accepts (Dutch numbers without the country code too)."""
    import phonenumbers

    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(value, "NL"))
    except phonenumbers.NumberParseException:
        valid = False
    if not valid:
        raise ValidationError(_("Vul een geldig telefoonnummer in, bijv. 06 12345678."))


class User(AbstractUser):
    """A staff member: belongs to one organisation; roles are Django groups."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("organisatie"),
    )
    # The staff member's own mobile number: only for test messages on a channel.
    phone = models.CharField(
        _("eigen mobiel nummer"),
        max_length=20,
        blank=True,
        help_text=_("Alleen voor testberichten (sms, spraak) aan uzelf."),
        validators=[validate_phone],
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("medewerker")
        verbose_name_plural = _("medewerkers")


class AuditEntry(models.Model):
    """One line of the audit trail: who did what, when, to which object, from where.

    Holds no personal data of citizens: objects are named by type and id.
    """

    at = models.DateTimeField(_("tijdstip"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("wie"),
    )
    actor_name = models.CharField(_("wie (naam)"), max_length=150, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisatie"),
    )
    verb = models.CharField(_("handeling"), max_length=60, db_index=True)
    target_type = models.CharField(_("soort object"), max_length=60, blank=True)
    target_id = models.CharField(_("object-id"), max_length=40, blank=True)
    target_repr = models.CharField(_("object"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP-adres"), null=True, blank=True)
    detail = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("auditregel")
        verbose_name_plural = _("audittrail")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.verb}"

    @staticmethod
    def about_organisation(organisation_id: int) -> models.Q:
        """Entries about an organisation itself or about one of its (present) users."""
        people = (
            User.objects.filter(organisation_id=organisation_id)
            .annotate(key=Cast("pk", models.CharField()))
            .values("key")
        )
        return models.Q(
            target_type="governance.organisation", target_id=str(organisation_id)
        ) | models.Q(target_type="governance.user", target_id__in=people)


class DailyFigure(models.Model):
    """Dagcijfer: one counted figure of one day for one scope — the stuff of the annual
    report (jaarverslag).

    Filled by `reporting.refresh` from what the domain apps count (their collectors), so the
    report reads a few thousand rows instead of millions of deliveries, and keeps counting
    the past after retention has deleted the rows it was counted from.

    `scope` is "nl" (the country), "u<id>" (a police unit) or "m<id>" (a municipality);
    `metric` names what was counted (reporting.METRICS) and `key` the part of it (an
    action's kind, a channel). Holds no personal data: only counts.
    """

    day = models.DateField(_("dag"))
    scope = models.CharField(_("gebied"), max_length=12)
    metric = models.CharField(_("cijfer"), max_length=40)
    key = models.CharField(_("onderdeel"), max_length=40, blank=True)
    value = models.BigIntegerField(_("waarde"))

    class Meta:
        verbose_name = _("dagcijfer")
        verbose_name_plural = _("dagcijfers")
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "day", "metric", "key"], name="daily_figure_unique"
            )
        ]
        indexes = [models.Index(fields=["metric", "day"], name="daily_figure_metric_day")]

    def __str__(self):
        return f"{self.day} {self.scope} {self.metric}[{self.key}] = {self.value}"


class StaleDay(models.Model):
    """A day whose figures of one collector must be counted again (an outcome corrected
    weeks later, say); the next `reporting.refresh` does it and deletes the mark."""

    day = models.DateField()
    collector = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "collector"], name="stale_day_unique")
        ]

    def __str__(self):
        return f"{self.collector} {self.day}"


class ContributionRate(models.Model):
    """Gemeentelijke bijdrage: what a municipality pays Burgernet per inhabitant, from
    `year` on.

    A row holds from its year until the year of the next row: the rate of a year is that
    of the row with the latest year not after it (a row "2021: 0" means "none from 2021
    on"). Before the first row there is no contribution. See contributions.rate_for.
    """

    year = models.PositiveSmallIntegerField(_("vanaf jaar"), unique=True)
    cents_per_inhabitant = models.DecimalField(
        _("cent per inwoner"),
        max_digits=7,
        decimal_places=3,
        validators=[MinValueValidator(0)],
    )
    note = models.CharField(_("toelichting"), max_length=200, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("bijdrage per inwoner")
        verbose_name_plural = _("bijdragen per inwoner")

    def __str__(self):
        return f"{self.year}: {self.cents_per_inhabitant} ct"
