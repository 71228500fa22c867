"""Burgernetacties: the action, its signalement, updates, end message and tips."""

import re
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.channels import gsm
from apps.governance.geo import MAX_LAT, MAX_LON, MIN_LAT, MIN_LON
from apps.governance.models import Municipality, PostcodeArea
from apps.governance.policy import Scope
from apps.web.text import CleanTextMixin

from . import photos, wording

MIN_RADIUS_M = 100
MAX_RADIUS_M = 50_000

# What the channels carry: the push message and the e-mail hold 1,000 characters of body
# (services.BODY_MAX), the SMS the start of it and a link to the action page, which shows it
# all. An action's text fits that body (with the kind and signalement before it, the end of
# a long text is shortened there); an update, end message or correction fits it whole, with
# the result or the exercise's notice before it.
ACTION_TEXT_MAX = 1000
FOLLOW_UP_TEXT_MAX = 900
TIP_TEXT_MAX = 2000
# The operator's own SMS text: what decides is whether it fits SMS_MAX_PARTS parts with the
# link (Action.clean); this only bounds what a form takes.
SMS_TEXT_MAX = 1000


def _text(label, max_length: int, **kwargs) -> models.TextField:
    """A TextField whose maximum the model checks (a TextField's max_length alone only
    reaches the form)."""
    return models.TextField(
        label, max_length=max_length, validators=[MaxLengthValidator(max_length)], **kwargs
    )


# The verification code (controlecode) every action's texts show, so that anyone can check a
# forwarded message on the public page (services.action_verify): "BN-" and six characters
# that cannot be misread (no 0/O, no 1/I). 32**6 ≈ 10**9 codes; random, never the id.
VERIFICATION_PREFIX = "BN-"
VERIFICATION_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VERIFICATION_LENGTH = 6
# A code anywhere in a pasted text: "BN-7KQ4XZ", "bn 7kq4xz" or "BN7KQ4XZ".
VERIFICATION_PATTERN = re.compile(
    r"(?<![A-Z0-9])BN[-\s]?([2-9A-HJ-NP-Z]{6})(?![A-Z0-9])", re.IGNORECASE
)


def new_verification_code() -> str:
    """A fresh random verification code not yet used by any action."""
    while True:
        code = VERIFICATION_PREFIX + "".join(
            secrets.choice(VERIFICATION_ALPHABET) for _ in range(VERIFICATION_LENGTH)
        )
        if not Action.objects.filter(verification_code=code).exists():
            return code


MSG_NOT_DRAFT = _("Deze actie is al verstuurd.")
MSG_NOT_RELEASED = _("Deze actie loopt niet (meer).")
MSG_AMBER_PHOTO = _("Een AMBER Alert heeft een foto nodig.")
MSG_AMBER_TIME_CRITICAL = _("Een AMBER Alert is altijd tijdkritisch.")
MSG_RESULT_REQUIRED = _("Kies het resultaat van de actie.")
MSG_CONTRIBUTED_REQUIRED = _("Geef aan of informatie van deelnemers heeft bijgedragen.")
MSG_CALLS_NEGATIVE = _("Het aantal telefonische reacties kan niet negatief zijn.")
MSG_OUTCOME_NOT_ENDED = _("Alleen de uitkomst van een beëindigde actie kan worden gecorrigeerd.")
MSG_SMS_TOO_LONG = _(
    "Deze sms-tekst wordt met de link naar de actie %(parts)s sms-delen; er mogen hooguit "
    "%(max)s zijn. Maak de tekst korter."
)
MSG_SMS_UNICODE = _(
    "De tekst bevat tekens die een sms niet als gewone tekst kan versturen (%(chars)s), "
    "waardoor er maar %(per_part)s tekens in een deel passen in plaats van 153."
)


def municipality_at(lat: float, lon: float) -> int | None:
    """The id of the municipality of the postcode area nearest to (lat, lon), as
    governance.policy.point_scope finds where a point lies (None without postcode areas)."""
    return (
        PostcodeArea.objects.exclude(municipality=None)
        .annotate(
            d=(models.F("lat") - lat) * (models.F("lat") - lat)
            + (models.F("lon") - lon) * (models.F("lon") - lon)
        )
        .order_by("d")
        .values_list("municipality_id", flat=True)
        .first()
    )


def outcome_problems(*, result: str, information_contributed, calls_registered) -> dict:
    """What is wrong with an outcome (uitkomst) of an ended action: the result is one of
    Action.Result, whether participants' information contributed is said (True or False),
    the telephone reactions are a count. Empty when it is right; field → message otherwise."""
    problems = {}
    if result not in Action.Result.values:
        problems["result"] = MSG_RESULT_REQUIRED
    if information_contributed not in (True, False):
        problems["information_contributed"] = MSG_CONTRIBUTED_REQUIRED
    if (
        not isinstance(calls_registered, int)
        or isinstance(calls_registered, bool)
        or calls_registered < 0
    ):
        problems["calls_registered"] = MSG_CALLS_NEGATIVE
    return problems


class Action(CleanTextMixin, models.Model):
    """Burgernetactie: a call to participants near an incident to look out for someone or
    something, with a point, a radius and the region (politie-eenheid) it belongs to.

    Life: draft → released → ended, or released → cancelled when it went out by mistake.
    Which verbs are allowed is decided here (`release_problems()`, `can_edit()` …); the
    verbs themselves, with their messages, live in services.py.
    """

    clean_text_fields = ("title", "text", "text_en", "text_de", "text_fr", "sms_text", "correction")

    class Kind(models.TextChoices):
        MISSING_PERSON = "missing_person", _("vermissing")
        MISSING_CHILD = "missing_child", _("vermist kind")
        AMBER_ALERT = "amber_alert", _("AMBER Alert")
        ROBBERY = "robbery", _("overval")
        BURGLARY = "burglary", _("inbraak / insluiping")
        HIT_AND_RUN = "hit_and_run", _("doorrijden na aanrijding")
        SUSPICIOUS_SITUATION = "suspicious_situation", _("verdachte situatie")
        OTHER = "other", _("overig")

    class State(models.TextChoices):
        DRAFT = "draft", _("concept")
        RELEASED = "released", _("lopend")
        ENDED = "ended", _("beëindigd")
        CANCELLED = "cancelled", _("ingetrokken")

    class Result(models.TextChoices):
        """Uitkomst: what came of the action, recorded at the end, correctable later.
        Found and arrested count as success in the annual report."""

        FOUND_SAFE = "found_safe", _("gevonden")
        ARRESTED = "arrested", _("aangehouden")
        NOT_FOUND = "not_found", _("geen resultaat")
        OTHER = "other", _("anders")

    # Heterdaad and missing persons are time-critical unless the operator says otherwise.
    TIME_CRITICAL_BY_DEFAULT = {
        Kind.MISSING_PERSON: True,
        Kind.MISSING_CHILD: True,
        Kind.AMBER_ALERT: True,
        Kind.ROBBERY: True,
        Kind.BURGLARY: True,
        Kind.HIT_AND_RUN: True,
        Kind.SUSPICIOUS_SITUATION: False,
        Kind.OTHER: False,
    }

    # What the operator fills in for a draft (the console's form, action_create's fields).
    DRAFT_FIELDS = (
        "kind",
        "is_time_critical",
        "is_exercise",
        "title",
        "text",
        "text_en",
        "text_de",
        "text_fr",
        "sms_text",
        "photo",
        "lat",
        "lon",
        "radius_m",
    )

    # A random handle for public links (the citizens' action page); never the database id.
    ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Shown in every text of the action; anyone can check it on /actie/controleren/.
    verification_code = models.CharField(
        _("controlecode"),
        max_length=12,
        unique=True,
        editable=False,
        default=new_verification_code,
    )
    kind = models.CharField(_("soort"), max_length=24, choices=Kind.choices)
    is_time_critical = models.BooleanField(
        _("tijdkritisch"),
        default=True,
        help_text=_("Tijdkritisch gaat naar de app, sms en spraak; anders naar de app en e-mail."),
    )
    is_exercise = models.BooleanField(
        _("oefening"),
        default=False,
        help_text=_("Een oefening gaat alleen naar testapparaten van medewerkers."),
    )
    title = models.CharField(_("titel"), max_length=100)
    text = _text(_("toelichting"), ACTION_TEXT_MAX, blank=True)
    # The free description in the readers' other languages (wording.OTHER_LANGUAGES): a
    # reader gets it in their language where the operator wrote it, in Dutch otherwise.
    text_en = _text(_("toelichting in het Engels"), ACTION_TEXT_MAX, blank=True)
    text_de = _text(_("toelichting in het Duits"), ACTION_TEXT_MAX, blank=True)
    text_fr = _text(_("toelichting in het Frans"), ACTION_TEXT_MAX, blank=True)
    # The operator's own Dutch SMS: sent as it is, with the link to the action page after
    # it, instead of the SMS Burgernet makes of the title and text (clean: it must fit).
    sms_text = _text(
        _("eigen sms-tekst"),
        SMS_TEXT_MAX,
        blank=True,
        help_text=_(
            "Leeg: Burgernet maakt de sms zelf van de titel, het signalement en de "
            "toelichting. Ingevuld gaat precies deze tekst als Nederlandse sms, met de link "
            "naar de actie erachter."
        ),
    )
    photo = models.ImageField(_("foto"), upload_to=photos.action_photo_path, blank=True)
    # The incident point lies where Burgernet works (governance.geo: NL and a strip around it).
    lat = models.FloatField(
        _("breedtegraad"), validators=[MinValueValidator(MIN_LAT), MaxValueValidator(MAX_LAT)]
    )
    lon = models.FloatField(
        _("lengtegraad"), validators=[MinValueValidator(MIN_LON), MaxValueValidator(MAX_LON)]
    )
    radius_m = models.PositiveIntegerField(
        _("straal (m)"),
        validators=[MinValueValidator(MIN_RADIUS_M), MaxValueValidator(MAX_RADIUS_M)],
    )
    police_unit = models.ForeignKey(
        "governance.PoliceUnit",
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("politie-eenheid"),
    )
    # Other police units whose region the circle reaches into (people flee across
    # borders): set when the draft is saved; their operators see the action, read-only.
    reaches_units = models.ManyToManyField(
        "governance.PoliceUnit",
        blank=True,
        related_name="reaching_actions",
        verbose_name=_("reikt tot in"),
        editable=False,
    )
    organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="actions",
        verbose_name=_("organisatie"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("aangemaakt door"),
    )
    state = models.CharField(
        _("status"), max_length=10, choices=State.choices, default=State.DRAFT, db_index=True
    )
    result = models.CharField(_("resultaat"), max_length=12, choices=Result.choices, blank=True)
    # Did participants' information (tips, calls) contribute to the outcome? None: not said.
    information_contributed = models.BooleanField(
        _("informatie van deelnemers droeg bij"), null=True, blank=True
    )
    # Reactions that came in by telephone (112, 0900-8844), as the operator registers them.
    calls_registered = models.PositiveIntegerField(
        _("telefonische reacties"), default=0, blank=True
    )
    # The municipality of the incident point (for the report's scopes), kept by save().
    municipality = models.ForeignKey(
        "governance.Municipality",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("gemeente"),
    )
    # Tips received, counted when each comes in (services.tip_submit): the report counts
    # reactions from this, so its figures stay right after retention deleted the tips.
    tips_counted = models.PositiveIntegerField(_("ontvangen tips"), default=0, editable=False)
    correction = _text(_("rectificatie"), FOLLOW_UP_TEXT_MAX, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    released_at = models.DateTimeField(_("verstuurd op"), null=True, blank=True)
    ended_at = models.DateTimeField(_("beëindigd op"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)
    # The outbox messages of the release and of the correction; their deliveries are the
    # record of who was alerted. Updates and the end message carry their own.
    release_message = models.ForeignKey(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    cancel_message = models.ForeignKey(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Burgernetactie")
        verbose_name_plural = _("Burgernetacties")
        indexes = [
            models.Index(fields=["police_unit", "state"], name="action_unit_state"),
            # The open feeds and the displays (feeds.py, displays.py): the recent ones, and
            # the latest change of any action as the displays' Last-Modified.
            models.Index(fields=["released_at"], name="action_released_at"),
            models.Index(fields=["ended_at"], name="action_ended_at"),
            models.Index(fields=["cancelled_at"], name="action_cancelled_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(radius_m__gte=MIN_RADIUS_M, radius_m__lte=MAX_RADIUS_M),
                name="action_radius_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    lat__gte=MIN_LAT, lat__lte=MAX_LAT, lon__gte=MIN_LON, lon__lte=MAX_LON
                ),
                name="action_point_near_nl",
            ),
            models.CheckConstraint(
                condition=models.Q(state="ended") | models.Q(result=""),
                name="action_result_only_when_ended",
            ),
        ]

    def __str__(self):
        prefix = f"[{_('OEFENING')}] " if self.is_exercise else ""
        return f"{prefix}{self.get_kind_display()}: {self.title}"

    # The municipality of the incident point, kept here so the admin and the services agree.

    def save(self, *args, **kwargs):
        """Saves the action; where the point is new or moved, its municipality with it."""
        update_fields = kwargs.get("update_fields")
        point_saved = update_fields is None or {"lat", "lon"} & set(update_fields)
        moved = (self.lat, self.lon) != getattr(self, "_stored_point", (None, None))
        if point_saved and moved and self.lat is not None and self.lon is not None:
            self.municipality_id = municipality_at(self.lat, self.lon)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "municipality"}
        super().save(*args, **kwargs)
        if point_saved:
            self._stored_point = (self.lat, self.lon)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_point = (instance.__dict__.get("lat"), instance.__dict__.get("lon"))
        return instance

    def audit_label(self) -> str:
        return f"action {self.pk}"

    @classmethod
    def default_time_critical(cls, kind: str) -> bool:
        return cls.TIME_CRITICAL_BY_DEFAULT.get(kind, False)

    @property
    def is_amber(self) -> bool:
        return self.kind == self.Kind.AMBER_ALERT

    @property
    def is_nationwide(self) -> bool:
        """An AMBER Alert goes to the whole country, not only to the circle."""
        return self.is_amber

    def scope(self) -> Scope:
        """Where the action lies for the scope policy: its region's municipalities, or the
        whole country for an AMBER Alert (and for actions of the national unit)."""
        # Asked several times a request (may view, may manage, …): kept on the instance
        # for as long as its kind and unit stay what they were.
        key = (self.kind, self.police_unit_id)
        kept = self.__dict__.get("_scope")
        if kept is not None and kept[0] == key:
            return kept[1]
        if self.is_amber or self.police_unit.is_national:
            scope = Scope.nation()
        else:
            scope = Scope.of_municipalities(Municipality.ids_in_unit(self.police_unit_id))
        self.__dict__["_scope"] = (key, scope)
        return scope

    def clean(self):
        super().clean()
        errors = {}
        if self.is_amber and not self.is_time_critical:
            errors["is_time_critical"] = MSG_AMBER_TIME_CRITICAL
        if self.state == self.State.ENDED:
            errors.update(
                outcome_problems(
                    result=self.result,
                    information_contributed=self.information_contributed,
                    calls_registered=self.calls_registered,
                )
            )
        sms_problems = self.sms_text_problems()
        if sms_problems:
            errors["sms_text"] = sms_problems
        if errors:
            raise ValidationError(errors)

    # Its SMS.

    def page_url(self) -> str:
        """The citizens' page of the action, as its messages link to it (the ref is set when
        the action is made, so a draft not yet saved has its link too)."""
        return settings.SITE_URL + reverse("alerts:action", kwargs={"ref": self.ref})

    def own_sms(self) -> str:
        """The operator's SMS text as it goes out (GSM-7 where an equivalent exists, as
        the SMS Burgernet makes itself), without the link; empty when there is none."""
        text = (self.sms_text or "").strip()
        return gsm.to_gsm7(text) if text else ""

    def verification_line(self, language: str = wording.DEFAULT_LANGUAGE) -> str:
        """The line every text of the action carries: "Controlecode BN-7KQ4XZ"."""
        return wording.phrase("code", language) % self.verification_code

    def sms_text_problems(self) -> list[ValidationError]:
        """Why the operator's SMS text cannot go out: it must fit SMS_MAX_PARTS parts as
        phones count them, with the verification line and the link after it."""
        text = self.own_sms()
        if not text:
            return []
        limit = settings.SMS_MAX_PARTS
        counted = gsm.segments(f"{text}\n{self.verification_line()}\n{self.page_url()}")
        if counted.parts <= limit:
            return []
        problems = [
            ValidationError(
                MSG_SMS_TOO_LONG,
                code="sms_too_long",
                params={"parts": counted.parts, "max": limit},
            )
        ]
        if counted.encoding == "ucs2":
            odd = list(dict.fromkeys(ch for ch in text if not gsm.is_gsm7(ch)))
            problems.append(
                ValidationError(
                    MSG_SMS_UNICODE,
                    code="sms_unicode",
                    params={"chars": " ".join(odd[:5]), "per_part": gsm.UCS2_PART},
                )
            )
        return problems

    # The life of an action: which verbs its state allows.

    def release_problems(self) -> list[str]:
        """Why the action cannot be released now (empty when it can)."""
        problems = []
        if self.state != self.State.DRAFT:
            problems.append(MSG_NOT_DRAFT)
        if self.is_amber and not self.photo:
            problems.append(MSG_AMBER_PHOTO)
        if self.is_amber and not self.is_time_critical:
            problems.append(MSG_AMBER_TIME_CRITICAL)
        return problems

    def can_edit(self) -> bool:
        return self.state == self.State.DRAFT

    def can_update(self) -> bool:
        return self.state == self.State.RELEASED

    def can_end(self) -> bool:
        return self.state == self.State.RELEASED

    def can_cancel(self) -> bool:
        return self.state == self.State.RELEASED

    def accepts_tips(self) -> bool:
        return self.state == self.State.RELEASED

    @property
    def is_active(self) -> bool:
        return self.state == self.State.RELEASED

    # Its messages.

    def sent_messages(self, *, follow_ups: bool = True) -> list[tuple[str, int]]:
        """The outbox messages about this action in the order they went out, each as
        (what, message id): "release", then each "update", then "end" or "cancel". Without
        `follow_ups`, only the release and the updates: those that alerted people."""
        sent = [("release", self.release_message_id)] if self.release_message_id else []
        updates = self.updates.exclude(message=None).values_list("message_id", flat=True)
        sent += [("update", pk) for pk in updates]
        if not follow_ups:
            return sent
        if self.state == self.State.ENDED:
            end = getattr(self, "end_message", None)
            if end is not None and end.message_id:
                sent.append(("end", end.message_id))
        if self.cancel_message_id:
            sent.append(("cancel", self.cancel_message_id))
        return sent

    def alerting_message_ids(self) -> list[int]:
        """The messages that alerted people about the action: the release and the updates
        (the end message and the correction go to exactly those)."""
        return [pk for _what, pk in self.sent_messages(follow_ups=False)]


class PersonDescription(CleanTextMixin, models.Model):
    """Signalement van een persoon: how the person sought looks."""

    clean_text_fields = ("age", "length", "build", "clothing", "particulars")

    class Sex(models.TextChoices):
        MALE = "male", _("man")
        FEMALE = "female", _("vrouw")
        UNKNOWN = "unknown", _("onbekend")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="persons")
    sex = models.CharField(_("geslacht"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    age = models.CharField(
        _("leeftijd"), max_length=20, blank=True, help_text=_("bijv. 35 of 20–25")
    )
    length = models.CharField(
        _("lengte"), max_length=20, blank=True, help_text=_("bijv. 1,80 m of 1,70–1,80 m")
    )
    build = models.CharField(_("postuur"), max_length=40, blank=True)
    clothing = models.CharField(_("kleding"), max_length=300, blank=True)
    particulars = models.CharField(_("bijzonderheden"), max_length=300, blank=True)

    class Meta:
        ordering = ["action", "id"]
        verbose_name = _("signalement persoon")
        verbose_name_plural = _("signalementen personen")

    def __str__(self):
        return ", ".join(str(part) for part in self.summary_parts()) or str(_("persoon"))

    def summary_parts(self) -> list:
        parts = [] if self.sex == self.Sex.UNKNOWN else [self.get_sex_display()]
        if self.age:
            parts.append(_("%(age)s jaar") % {"age": self.age})
        parts += [self.length, self.build, self.clothing, self.particulars]
        return [part for part in parts if part]


class VehicleDescription(CleanTextMixin, models.Model):
    """Signalement van een voertuig."""

    clean_text_fields = ("make", "model", "colour", "licence_plate")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="vehicles")
    make = models.CharField(_("merk"), max_length=40, blank=True)
    model = models.CharField(_("type"), max_length=40, blank=True)
    colour = models.CharField(_("kleur"), max_length=40, blank=True)
    licence_plate = models.CharField(_("kenteken"), max_length=12, blank=True)

    class Meta:
        ordering = ["action", "id"]
        verbose_name = _("signalement voertuig")
        verbose_name_plural = _("signalementen voertuigen")

    def __str__(self):
        return ", ".join(self.summary_parts()) or str(_("voertuig"))

    def summary_parts(self) -> list[str]:
        return [p for p in (self.colour, self.make, self.model, self.licence_plate) if p]


class ActionUpdate(CleanTextMixin, models.Model):
    """Update: news during a running action, to those alerted and to newcomers in the area."""

    clean_text_fields = ("text",)

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="updates")
    text = _text(_("tekst"), FOLLOW_UP_TEXT_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("door"),
    )
    created_at = models.DateTimeField(_("verstuurd op"), auto_now_add=True)
    message = models.ForeignKey(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["action", "created_at", "id"]
        verbose_name = _("update")
        verbose_name_plural = _("updates")

    def __str__(self):
        return f"update {self.pk}"

    def audit_label(self) -> str:
        return f"action update {self.pk}"


class EndMessage(CleanTextMixin, models.Model):
    """Afloopbericht: how the action ended, to exactly those who were alerted.

    The result itself is kept on the action (reports count it there).
    """

    clean_text_fields = ("text",)

    action = models.OneToOneField(Action, on_delete=models.CASCADE, related_name="end_message")
    text = _text(_("tekst"), FOLLOW_UP_TEXT_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("door"),
    )
    created_at = models.DateTimeField(_("verstuurd op"), auto_now_add=True)
    message = models.ForeignKey(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("afloopbericht")
        verbose_name_plural = _("afloopberichten")

    def __str__(self):
        return f"end message {self.pk}"

    @property
    def result(self) -> str:
        return self.action.result

    def get_result_display(self) -> str:
        return self.action.get_result_display()


class Tip(CleanTextMixin, models.Model):
    """Tip: what a citizen saw, sent from the action page; anonymous unless the tipster
    leaves a phone number."""

    clean_text_fields = ("text",)

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="tips")
    text = _text(_("tekst"), TIP_TEXT_MAX)
    photo = models.ImageField(_("foto"), upload_to=photos.tip_photo_path, blank=True)
    phone = models.CharField(_("telefoonnummer tipgever"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("ontvangen op"), auto_now_add=True)
    is_read = models.BooleanField(_("gelezen"), default=False)

    class Meta:
        ordering = ["action", "-created_at", "-id"]
        verbose_name = _("tip")
        verbose_name_plural = _("tips")

    def __str__(self):
        return f"tip {self.pk}"

    @classmethod
    def state_of(cls, action) -> tuple[int, int, int]:
        """(how many, the newest id, how many unread) of an action's tips. A list of them
        changes only when one of these does: tips are added, marked read (never back) and
        deleted whole, never edited."""
        counts = cls.objects.filter(action=action).aggregate(
            n=models.Count("pk"),
            last=models.Max("pk"),
            unread=models.Count("pk", filter=models.Q(is_read=False)),
        )
        return counts["n"], counts["last"] or 0, counts["unread"]

    def audit_label(self) -> str:
        return f"tip {self.pk}"


# Two people for national alerts (actions/approval.py) --------------------------------------

APPROVAL_REASON_MAX = 300
MSG_AMBER_ALWAYS_APPROVED = _(
    "Een AMBER Alert heeft altijd de goedkeuring van een tweede landelijk operator nodig; "
    "dat staat vast en hoeft niet te worden ingesteld."
)


class ApprovalRule(models.Model):
    """Goedkeuringsregel: a kind of action that goes out only once a second national
    operator approved it. Managers mark kinds in the admin; an AMBER Alert needs approval
    always, with or without a rule (approval.ALWAYS)."""

    kind = models.CharField(_("soort"), max_length=24, choices=Action.Kind.choices, unique=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("ingesteld door"),
    )
    changed_at = models.DateTimeField(_("ingesteld op"), auto_now=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("goedkeuringsregel")
        verbose_name_plural = _("goedkeuringsregels")

    def __str__(self):
        return str(self.get_kind_display())

    def audit_label(self) -> str:
        return f"approval rule {self.kind}"

    def clean(self):
        super().clean()
        if self.kind == Action.Kind.AMBER_ALERT:
            raise ValidationError({"kind": MSG_AMBER_ALWAYS_APPROVED})


class ActionApproval(CleanTextMixin, models.Model):
    """Goedkeuring: one request to a second national operator to approve a draft action,
    and what came of it. It names the version of the draft that was submitted; the
    approval names the version the approver saw (approval.action_version)."""

    clean_text_fields = ("reason",)

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("ter goedkeuring")
        APPROVED = "approved", _("goedgekeurd")
        RETURNED = "returned", _("teruggestuurd")
        WITHDRAWN = "withdrawn", _("ingetrokken")

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="approvals")
    state = models.CharField(
        _("status"), max_length=10, choices=State.choices, default=State.SUBMITTED
    )
    version = models.CharField(_("ingediende versie"), max_length=64)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ingediend door"),
    )
    submitted_at = models.DateTimeField(_("ingediend op"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("beoordeeld door"),
    )
    decided_at = models.DateTimeField(_("beoordeeld op"), null=True, blank=True)
    reason = _text(_("reden van terugsturen"), APPROVAL_REASON_MAX, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("goedkeuring")
        verbose_name_plural = _("goedkeuringen")
        constraints = [
            # One open request per action: two submits at once leave one.
            models.UniqueConstraint(
                fields=["action"],
                condition=models.Q(state="submitted"),
                name="action_one_open_approval",
            ),
        ]

    def __str__(self):
        return f"{self.get_state_display()}: {self.action_id}"

    def audit_label(self) -> str:
        return f"action approval {self.pk}"


# Alerts from across the border (actions/partners.py) ---------------------------------------

PARTNER_TEXT_MAX = 2000


class PartnerFeed(models.Model):
    """Partnerfeed: a neighbouring country's alert feed (an Atom index of CAP messages, or
    one CAP message) that Burgernet reads on a schedule. Nationwide managers set them in the
    admin; the URL is checked like every address the server fetches (partners.url_problem)."""

    class Country(models.TextChoices):
        BE = "BE", _("België")
        DE = "DE", _("Duitsland")

    class Kind(models.TextChoices):
        ATOM = "atom", _("Atom-feed met CAP-berichten")
        CAP = "cap", _("één CAP-bericht")

    name = models.CharField(_("naam"), max_length=100)
    country = models.CharField(_("land"), max_length=2, choices=Country.choices)
    url = models.URLField(_("adres (URL)"), max_length=500)
    kind = models.CharField(_("soort"), max_length=4, choices=Kind.choices, default=Kind.ATOM)
    is_active = models.BooleanField(_("in gebruik"), default=True)
    last_checked_at = models.DateTimeField(_("laatst gelezen"), null=True, blank=True)
    last_error = models.CharField(_("laatste fout"), max_length=300, blank=True)

    class Meta:
        ordering = ["country", "name"]
        verbose_name = _("partnerfeed")
        verbose_name_plural = _("partnerfeeds")

    def __str__(self):
        return f"{self.get_country_display()}: {self.name}"

    def audit_label(self) -> str:
        return f"partner feed {self.pk}"


class PartnerAlert(models.Model):
    """Partnermelding: one alert of a partner's feed as last read (an Update replaces the
    alert it references; a Cancel or its expiry ends it). Its point and radius come from
    the CAP area's circle, or the polygon's centre and extent."""

    feed = models.ForeignKey(PartnerFeed, on_delete=models.CASCADE, related_name="alerts")
    identifier = models.CharField(_("kenmerk"), max_length=250)
    sender = models.CharField(_("afzender"), max_length=250)
    sent = models.DateTimeField(_("verzonden op"))
    expires = models.DateTimeField(_("verloopt op"), null=True, blank=True)
    msg_type = models.CharField(_("berichtsoort"), max_length=10)
    status = models.CharField(_("status"), max_length=10)
    event = models.CharField(_("gebeurtenis"), max_length=200, blank=True)
    category = models.CharField(_("categorie"), max_length=100, blank=True)
    headline = models.CharField(_("kop"), max_length=200, blank=True)
    description = models.TextField(_("omschrijving"), max_length=PARTNER_TEXT_MAX, blank=True)
    area_desc = models.CharField(_("gebied"), max_length=300, blank=True)
    lat = models.FloatField(_("breedtegraad"), null=True, blank=True)
    lon = models.FloatField(_("lengtegraad"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("straal (m)"), null=True, blank=True)
    image_url = models.URLField(_("foto (URL)"), max_length=500, blank=True)
    web = models.URLField(_("webpagina"), max_length=500, blank=True)
    language = models.CharField(_("taal"), max_length=20, blank=True)
    # Decided when read (partners.near_netherlands): the console lists only these.
    is_near_border = models.BooleanField(_("bij de grens"), default=False)
    is_active = models.BooleanField(_("actief"), default=True)
    adopted_action = models.ForeignKey(
        Action,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("overgenomen als"),
    )
    fetched_at = models.DateTimeField(_("gelezen op"))

    class Meta:
        ordering = ["-sent", "-id"]
        verbose_name = _("partnermelding")
        verbose_name_plural = _("partnermeldingen")
        constraints = [
            models.UniqueConstraint(
                fields=["feed", "identifier"], name="partner_alert_identifier_per_feed"
            )
        ]
        indexes = [models.Index(fields=["is_active", "is_near_border"], name="partner_alert_shown")]

    def __str__(self):
        return f"{self.feed.get_country_display()}: {self.headline or self.event}"

    def audit_label(self) -> str:
        return f"partner alert {self.pk}"

    def is_current(self, now) -> bool:
        return self.is_active and (self.expires is None or self.expires > now)
