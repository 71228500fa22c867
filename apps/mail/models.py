"""Burgernetmail: mailings by municipalities and police teams, their areas and responses.

A `Mailing` (buurtonderzoek, preventief, informatief, crisis) is written by a mail author of
an organisation, optionally approved by a second person, and sent by e-mail to the
participants whose address lies in its areas (`MailingArea`). Participants answer a
buurtonderzoek through a signed link (`Response`, with one or more `ResponseEntry`).

A crisis message (crisismelding, alarmeren) is a mailing of kind "crisis" from a
municipality: always approved by a second person, sent time-critically on every channel
the channel settings allow for it (web push, SMS, voice, e-mail), and ended with an end
message ("Crisis voorbij") to exactly those it reached.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.governance.policy import Scope
from apps.web.photos import delete_stored
from apps.web.text import CleanTextMixin

# The outbox's message title holds 120 characters; the subject becomes that title.
SUBJECT_MAX = 120
# A mailing goes out by e-mail only, which has no limit of its own: ten thousand characters
# is some four pages, far more than a buurtonderzoek needs, far less than a pasted book.
BODY_MAX = 10_000

# What to do (handelingsperspectief): it goes in every channel's text, the SMS included.
INSTRUCTION_MAX = 300
END_TEXT_MAX = 1000

MSG_INCIDENT = _("Een buurtonderzoek noemt de datum en de plaats van het voorval.")
MSG_INCIDENT_FUTURE = _("De datum van het voorval ligt in de toekomst.")
MSG_INSTRUCTION = _(
    "Een crisismelding zegt wat bewoners moeten doen, bijvoorbeeld: ga naar binnen en sluit "
    "ramen en deuren."
)
MSG_CRISIS_ORGANISATION = _(
    "Alleen een gemeente verstuurt crisismeldingen. Kies een andere soort mailing."
)


class Kind(models.TextChoices):
    NEIGHBOURHOOD_INQUIRY = "inquiry", _("buurtonderzoek")
    PREVENTIVE = "preventive", _("preventief")
    INFORMATIVE = "informative", _("informatief")
    CRISIS = "crisis", _("crisis")


def incident_problems(kind: str, incident_date, incident_place: str) -> dict[str, str]:
    """What a buurtonderzoek lacks about its incident, per field: it names the date (not in
    the future) and the place. Other kinds of mail need neither."""
    problems = {}
    if kind != Kind.NEIGHBOURHOOD_INQUIRY:
        return problems
    if not incident_date:
        problems["incident_date"] = MSG_INCIDENT
    elif incident_date > timezone.localdate():
        problems["incident_date"] = MSG_INCIDENT_FUTURE
    if not (incident_place or "").strip():
        problems["incident_place"] = MSG_INCIDENT
    return problems


def crisis_problems(kind: str, instruction: str) -> dict[str, str]:
    """What a crisis message lacks, per field: what residents must do. Other kinds of mail
    need no instruction."""
    if kind != Kind.CRISIS or (instruction or "").strip():
        return {}
    return {"instruction": MSG_INSTRUCTION}


# Who may send a crisis message: the municipality, which is in charge of a crisis in its
# area (there is no organisation of a safety region; a police team sends no crisis mail).
CRISIS_ORGANISATION_KINDS = frozenset({"municipality"})


class MailTemplate(CleanTextMixin, models.Model):
    """Sjabloon: a subject and body an author starts from, per kind.

    Templates without an organisation are national (written by Burgernet management) and
    offered to everyone; an organisation's own are offered to its authors only.
    """

    clean_text_fields = ("name", "subject", "body")

    kind = models.CharField(_("soort"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("naam"), max_length=80)
    subject = models.CharField(_("onderwerp"), max_length=SUBJECT_MAX)
    body = models.TextField(
        _("tekst"), max_length=BODY_MAX, validators=[MaxLengthValidator(BODY_MAX)]
    )
    organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mail_templates",
        verbose_name=_("organisatie"),
        help_text=_("Leeg: een landelijk sjabloon voor iedereen."),
    )

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("mailsjabloon")
        verbose_name_plural = _("mailsjablonen")

    def __str__(self):
        return self.name


class MailingQuerySet(models.QuerySet):
    def visible_to(self, user) -> "MailingQuerySet":
        """The mailings `user` may see: its own organisation's; every one for country-wide
        managers. Staff of another organisation with the same area (a police team and its
        municipality) do not see each other's mailings or responses."""
        from apps.governance import policy
        from apps.governance.roles import Role, roles_of

        if not policy.has_role_for(user, "mailing.view"):
            return self.none()
        if policy.user_scope(user).nationwide and (
            user.is_superuser or Role.MANAGER in roles_of(user)
        ):
            return self.all()
        if user.organisation_id is None:
            return self.none()
        return self.filter(organisation_id=user.organisation_id)


class Mailing(CleanTextMixin, models.Model):
    """Mailing: one e-mail from an organisation to the participants in its areas.

    Life: draft → submitted (awaiting approval, when the organisation requires it, and
    always for a crisis message) → sending → sent; a submitted mailing may be rejected
    (back to draft with a reason). A sent crisis message is ended once (`ended_at`).
    What a state allows is decided here; the verbs live in services.py.
    """

    clean_text_fields = (
        "subject",
        "body",
        "instruction",
        "incident_place",
        "rejection_reason",
        "end_text",
    )

    class State(models.TextChoices):
        DRAFT = "draft", _("concept")
        SUBMITTED = "submitted", _("wacht op goedkeuring")
        SENDING = "sending", _("wordt verstuurd")
        SENT = "sent", _("verstuurd")

    kind = models.CharField(_("soort"), max_length=12, choices=Kind.choices)
    subject = models.CharField(_("onderwerp"), max_length=SUBJECT_MAX)
    body = models.TextField(
        _("tekst"),
        max_length=BODY_MAX,
        validators=[MaxLengthValidator(BODY_MAX)],
        help_text=_(
            "Platte tekst. Een lege regel begint een nieuwe alinea; *tussen sterretjes* "
            "wordt vet; regels die met '- ' beginnen worden een opsomming; "
            "een adres dat met https:// begint wordt een link."
        ),
    )
    instruction = models.CharField(
        _("wat moeten bewoners doen?"),
        max_length=INSTRUCTION_MAX,
        blank=True,
        help_text=_(
            "Nodig om een crisismelding te versturen; staat in elke sms, push en e-mail. "
            "Bijvoorbeeld: "
            "Ga naar binnen, sluit ramen en deuren en zet de ventilatie uit."
        ),
    )
    image = models.ImageField(_("afbeelding"), upload_to="mail/%Y/%m/", blank=True)
    # The image's address names this, never the mailing's id (ids can be counted).
    image_ref = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "governance.Organisation",
        on_delete=models.PROTECT,
        related_name="mailings",
        verbose_name=_("organisatie"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("auteur"),
    )
    # A buurtonderzoek asks about one incident: when and where it happened.
    incident_date = models.DateField(_("datum voorval"), null=True, blank=True)
    incident_place = models.CharField(_("plaats voorval"), max_length=120, blank=True)
    # How long the respond link in the mail works.
    response_days = models.PositiveSmallIntegerField(
        _("reageren mogelijk (dagen)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    state = models.CharField(_("status"), max_length=10, choices=State.choices, default=State.DRAFT)
    submitted_at = models.DateTimeField(_("ingediend op"), null=True, blank=True)
    # Whoever asked for approval: like the author, not the one who may approve it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ingediend door"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("goedgekeurd door"),
    )
    approved_at = models.DateTimeField(_("goedgekeurd op"), null=True, blank=True)
    rejection_reason = models.CharField(_("reden afwijzing"), max_length=300, blank=True)
    sent_at = models.DateTimeField(_("verstuurd op"), null=True, blank=True)
    # The outbox message (channels.OutgoingMessage) once sent.
    message = models.OneToOneField(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recipient_count = models.PositiveIntegerField(_("aantal ontvangers"), default=0)
    # Responses received, counted as they come in (services.response_submit): retention
    # deletes the Response rows, the report's figure stays (report.py).
    responses_counted = models.PositiveIntegerField(_("aantal reacties"), default=0)
    # When retention took the recipients off the deliveries of its messages (retention.py):
    # a mailing done is not looked at again.
    delivery_links_removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A crisis message's end ("Crisis voorbij"): its text and the outbox message with it.
    ended_at = models.DateTimeField(_("beëindigd op"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("beëindigd door"),
    )
    end_text = models.TextField(
        _("tekst bij beëindigen"),
        max_length=END_TEXT_MAX,
        blank=True,
        validators=[MaxLengthValidator(END_TEXT_MAX)],
    )
    end_message = models.OneToOneField(
        "channels.OutgoingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("aangemaakt op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        indexes = [
            models.Index(fields=["organisation", "state"], name="mailing_org_state"),
            # The report counts mailings by the day they were sent; retention finds the
            # mailings whose responses are due by it.
            models.Index(fields=["sent_at"], name="mailing_sent_at"),
        ]

    def __str__(self):
        return self.subject

    def audit_label(self) -> str:
        return f"mailing {self.pk}"

    def is_visible_to(self, user) -> bool:
        """May `user` see this mailing at all? MailingQuerySet.visible_to decides."""
        return type(self).objects.visible_to(user).filter(pk=self.pk).exists()

    def scope(self) -> Scope:
        """Where the mailing lies for the scope policy: its organisation's area. Its areas
        must lie inside it, and its recipients are clipped to it (see selection.py)."""
        from apps.governance.policy import organisation_scope

        return organisation_scope(self.organisation)

    @property
    def is_inquiry(self) -> bool:
        return self.kind == Kind.NEIGHBOURHOOD_INQUIRY

    @property
    def is_crisis(self) -> bool:
        return self.kind == Kind.CRISIS

    @property
    def is_editable(self) -> bool:
        return self.state == self.State.DRAFT

    @property
    def can_end(self) -> bool:
        """A sent crisis message not yet ended."""
        return self.is_crisis and self.state == self.State.SENT and self.ended_at is None

    @property
    def source(self) -> str:
        """The outbox's name for this mailing's message."""
        return f"mail.mailing:{self.pk}"

    @property
    def end_source(self) -> str:
        """The outbox's name for a crisis message's end message."""
        return f"mail.mailing:{self.pk}:end"

    def clean(self):
        super().clean()
        # The instruction of a crisis message is asked for at sending (services).
        problems = incident_problems(self.kind, self.incident_date, self.incident_place)
        if (
            self.is_crisis
            and self.organisation_id is not None
            and self.organisation.kind not in CRISIS_ORGANISATION_KINDS
        ):
            problems["kind"] = MSG_CRISIS_ORGANISATION
        if problems:
            raise ValidationError(problems)


class MailingArea(models.Model):
    """Gebied: one part of a mailing's recipients, by street, postcode, municipality or circle.

    - street: a six-character postcode with a house-number range (from–to, inclusive)
    - pc6: a six-character postcode ("3441AB")
    - pc4: a four-digit postcode area ("3441")
    - municipality: a whole municipality
    - circle: a point and a radius in metres
    """

    class Kind(models.TextChoices):
        STREET = "street", _("straat (postcode met huisnummers)")
        PC6 = "pc6", _("postcode (6 tekens)")
        PC4 = "pc4", _("postcodegebied (4 cijfers)")
        MUNICIPALITY = "municipality", _("gemeente")
        CIRCLE = "circle", _("cirkel op de kaart")

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="areas")
    kind = models.CharField(_("soort gebied"), max_length=12, choices=Kind.choices)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    house_number_from = models.PositiveIntegerField(_("huisnummer van"), null=True, blank=True)
    house_number_to = models.PositiveIntegerField(_("huisnummer tot en met"), null=True, blank=True)
    municipality = models.ForeignKey(
        "governance.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gemeente"),
    )
    lat = models.FloatField(_("breedtegraad"), null=True, blank=True)
    lon = models.FloatField(_("lengtegraad"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(
        _("straal (m)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(50_000)],
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("gebied")
        verbose_name_plural = _("gebieden")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(house_number_from__isnull=True)
                | models.Q(house_number_to__isnull=True)
                | models.Q(house_number_from__lte=models.F("house_number_to")),
                name="mailing_area_house_numbers_in_order",
            )
        ]

    def __str__(self):
        if self.kind == self.Kind.STREET:
            return f"{self.postcode} {self.house_number_from}–{self.house_number_to}"
        if self.kind in (self.Kind.PC6, self.Kind.PC4):
            return self.postcode
        if self.kind == self.Kind.MUNICIPALITY:
            return str(self.municipality)
        return f"{self.lat:.5f}, {self.lon:.5f} ({self.radius_m} m)"


class Response(CleanTextMixin, models.Model):
    """Reactie: one participant's answer to one buurtonderzoek, and how staff handled it.

    A participant may add to an earlier answer: each addition is a ResponseEntry. Deleting
    a registration deletes its responses too.
    """

    clean_text_fields = ("contact_name",)

    class Status(models.TextChoices):
        NEW = "new", _("nieuw")
        READ = "read", _("gelezen")
        FOLLOWED_UP = "followed_up", _("opgevolgd")

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="responses")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.CASCADE, related_name="+"
    )
    # 1, 2, 3… within the mailing, in the order the answers came in: how the inbox names
    # and addresses a response (services.response_submit gives it).
    number = models.PositiveIntegerField(_("nummer"))
    contact_name = models.CharField(_("naam"), max_length=100, blank=True)
    contact_phone = models.CharField(_("telefoonnummer"), max_length=16, blank=True)
    contact_email = models.EmailField(_("e-mailadres"), blank=True)
    may_call = models.BooleanField(_("mag gebeld worden"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.NEW
    )
    created_at = models.DateTimeField(_("ontvangen op"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("reactie")
        verbose_name_plural = _("reacties")
        constraints = [
            models.UniqueConstraint(
                fields=["mailing", "participant"], name="response_once_per_participant"
            ),
            models.UniqueConstraint(fields=["mailing", "number"], name="response_number_unique"),
        ]

    def __str__(self):
        return _("Reactie %(id)s") % {"id": self.number}

    def audit_label(self) -> str:
        return f"response {self.pk}"

    def scope(self) -> Scope:
        return self.mailing.scope()


class ResponseEntry(CleanTextMixin, models.Model):
    """One answer, or an addition to it: what was seen or heard, when, an optional photo."""

    clean_text_fields = ("observation", "observed_when")

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="entries")
    observation = models.TextField(_("wat heeft u gezien of gehoord?"), max_length=5000)
    observed_when = models.CharField(_("wanneer?"), max_length=120, blank=True)
    photo = models.ImageField(_("foto"), upload_to="mail/responses/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("ontvangen op"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("aanvulling")
        verbose_name_plural = _("aanvullingen")

    def __str__(self):
        return _("Aanvulling %(id)s") % {"id": self.pk}


@receiver(post_delete, sender=ResponseEntry)
def _response_photo_goes_with_its_row(sender, instance, **kwargs):
    """A response's photo file goes with its row, however the row goes: retention, a
    participant deleting their registration (the responses cascade), the admin. Once the
    deletion is committed: a rolled-back deletion keeps its file."""
    name = instance.photo.name
    if not name:
        return
    storage = instance.photo.storage
    transaction.on_commit(lambda: delete_stored(storage, [name]))
