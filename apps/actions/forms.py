"""Forms of the operator console: a new action with its signalement, and the verbs after."""

import re

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.channels import gsm
from apps.governance.geo import MAX_LAT, MAX_LON, MIN_LAT, MIN_LON, MSG_POINT_OUTSIDE
from apps.governance.widgets import CheckedFileInput
from apps.participants.geocoding import AddressQuery
from apps.web.forms import CleanCharField, PhotoField, clean_text_formfield, counter_attrs

from .models import (
    FOLLOW_UP_TEXT_MAX,
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    MSG_AMBER_PHOTO,
    Action,
    PersonDescription,
    VehicleDescription,
)

MSG_RADIUS_TEXT = _("Kies een straal tussen 100 en 50.000 meter.")
# The free description in the readers' other languages, under "Tekst in andere talen".
OTHER_LANGUAGE_FIELDS = ("text_en", "text_de", "text_fr")


def _coordinate(label, low: float, high: float) -> forms.FloatField:
    """A latitude or longitude where Burgernet works (governance.geo's bounds)."""
    return forms.FloatField(
        label=label,
        min_value=low,
        max_value=high,
        error_messages={"min_value": MSG_POINT_OUTSIDE, "max_value": MSG_POINT_OUTSIDE},
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


def _radius(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Straal (m)"),
        min_value=MIN_RADIUS_M,
        max_value=MAX_RADIUS_M,
        error_messages={"min_value": MSG_RADIUS_TEXT, "max_value": MSG_RADIUS_TEXT},
        **kwargs,
    )


def console_photo_url(action: Action) -> str:
    """The action's photo for staff, in any state: a draft's photo is not public."""
    return reverse("console:photo", kwargs={"pk": action.pk})


class PhotoInput(CheckedFileInput):
    """The photo input of a draft opened again: the current photo links to console:photo
    (no upload has a URL of its own)."""

    def __init__(self, attrs=None):
        super().__init__(attrs, url_for=console_photo_url, label=_("huidige foto"))


class ActionForm(forms.ModelForm):
    """A new action: what, where, how urgent; the signalement comes in the formsets."""

    lat = _coordinate(_("Breedtegraad"), MIN_LAT, MAX_LAT)
    lon = _coordinate(_("Lengtegraad"), MIN_LON, MAX_LON)
    photo = PhotoField(
        label=_("Foto"),
        required=False,
        widget=PhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    radius_m = _radius(initial=2000, widget=forms.NumberInput(attrs={"step": 100}))

    class Meta:
        model = Action
        fields = list(Action.DRAFT_FIELDS)
        formfield_callback = clean_text_formfield
        widgets = {
            "text": forms.Textarea(attrs={"rows": 4, **counter_attrs()}),
            "text_en": forms.Textarea(attrs={"rows": 3, "lang": "en", **counter_attrs()}),
            "text_de": forms.Textarea(attrs={"rows": 3, "lang": "de", **counter_attrs()}),
            "text_fr": forms.Textarea(attrs={"rows": 3, "lang": "fr", **counter_attrs()}),
            "sms_text": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "text_en": _("Toelichting in het Engels"),
            "text_de": _("Toelichting in het Duits"),
            "text_fr": _("Toelichting in het Frans"),
            "sms_text": _("Eigen sms-tekst"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sms_text"].help_text = _(
            "Leeg: Burgernet maakt de sms zelf van de titel, het signalement en de toelichting. "
            "Ingevuld gaat precies deze tekst als Nederlandse sms, met de link naar de actie "
            "erachter; samen hooguit %(parts)s sms-delen (ongeveer %(chars)s tekens)."
        ) % {"parts": settings.SMS_MAX_PARTS, "chars": self.sms_room()}

    def sms_room(self) -> int:
        """How many plain characters (GSM-7) the operator's SMS text has room for: the
        parts allowed, less the line break and the link."""
        parts = settings.SMS_MAX_PARTS
        room = gsm.GSM7_SINGLE if parts == 1 else gsm.GSM7_PART * parts
        return max(0, room - len(self.instance.page_url()) - 1)

    def other_language_fields(self) -> list:
        """The bound fields of the free description in other languages, for the template."""
        return [self[name] for name in OTHER_LANGUAGE_FIELDS]

    def shows_other_languages(self) -> bool:
        """Whether "Tekst in andere talen" starts open: something is written or wrong there."""
        return any(self[name].value() or self[name].errors for name in OTHER_LANGUAGE_FIELDS)

    def shows_sms_text(self) -> bool:
        return bool(self["sms_text"].value() or self["sms_text"].errors)

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Action.Kind.AMBER_ALERT and not cleaned.get("photo"):
            self.add_error("photo", MSG_AMBER_PHOTO)
        return cleaned

    def action_fields(self) -> dict:
        """The cleaned fields as services.action_create takes them."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if not fields["photo"]:
            del fields["photo"]
        return fields


class PersonForm(forms.ModelForm):
    class Meta:
        model = PersonDescription
        fields = ["sex", "age", "length", "build", "clothing", "particulars"]
        formfield_callback = clean_text_formfield


class VehicleForm(forms.ModelForm):
    class Meta:
        model = VehicleDescription
        fields = ["make", "model", "colour", "licence_plate"]
        formfield_callback = clean_text_formfield


def _follow_up_text(label, **kwargs) -> CleanCharField:
    """The text of an update, end message or correction, with its character counter."""
    return CleanCharField(
        label=label,
        max_length=FOLLOW_UP_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, **counter_attrs()}),
        **kwargs,
    )


PersonFormSet = forms.formset_factory(PersonForm, extra=1, max_num=10)
VehicleFormSet = forms.formset_factory(VehicleForm, extra=1, max_num=10)


def _is_blank(form) -> bool:
    """Nothing but defaults: an untouched extra form, or one the operator emptied."""
    model = form._meta.model
    return all(
        value in ("", None) or value == model._meta.get_field(name).get_default()
        for name, value in form.cleaned_data.items()
    )


def described(formset) -> list[dict]:
    """The signalementen filled in, in order; a form left or made empty is skipped (on a
    draft opened again, emptying a person's fields removes that person)."""
    return [
        form.cleaned_data for form in formset.forms if form.cleaned_data and not _is_blank(form)
    ]


def signalement_initial(related) -> list[dict]:
    """A draft's persons (or vehicles) as the formset's initial data, in order."""
    form_class = PersonForm if related.model is PersonDescription else VehicleForm
    return list(related.order_by("id").values(*form_class._meta.fields))


class UpdateForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "update-%s")  # three forms on one page, unique ids
        super().__init__(*args, **kwargs)

    text = _follow_up_text(_("Tekst van de update"))


# Yes / no as a select with an empty first option: the operator must choose either.
CONTRIBUTED_CHOICES = [("", _("— kies —")), ("yes", _("ja")), ("no", _("nee"))]


class OutcomeFields(forms.Form):
    """The outcome (uitkomst) of an action: at its end, and when corrected later."""

    result = forms.ChoiceField(label=_("Resultaat"), choices=Action.Result.choices)
    information_contributed = forms.TypedChoiceField(
        label=_("Heeft informatie van deelnemers bijgedragen?"),
        choices=CONTRIBUTED_CHOICES,
        coerce=lambda value: value == "yes",
        empty_value=None,
        help_text=_("Tips via de website of telefonische reacties die hebben geholpen."),
    )
    calls_registered = forms.IntegerField(
        label=_("Aantal telefonische reacties"),
        min_value=0,
        required=False,
        help_text=_("Reacties via 112 of 0900-8844 op deze actie (mag leeg blijven)."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class EndForm(OutcomeFields):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "end-%s")  # three forms on one page, unique ids
        super().__init__(*args, **kwargs)

    text = _follow_up_text(
        _("Afloopbericht"), help_text=_("Gaat naar iedereen die de actie heeft ontvangen.")
    )


class OutcomeForm(OutcomeFields):
    """Uitkomst corrigeren: the outcome of an ended action, filled with what it is now."""

    def __init__(self, *args, action: Action | None = None, **kwargs):
        kwargs.setdefault("auto_id", "outcome-%s")
        if action is not None and "initial" not in kwargs:
            contributed = action.information_contributed
            kwargs["initial"] = {
                "result": action.result,
                "information_contributed": {True: "yes", False: "no"}.get(contributed, ""),
                "calls_registered": action.calls_registered,
            }
        super().__init__(*args, **kwargs)


class CancelForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "cancel-%s")  # three forms on one page, unique ids
        super().__init__(*args, **kwargs)

    text = _follow_up_text(
        _("Rectificatie"), help_text=_("Gaat naar iedereen die de actie heeft ontvangen.")
    )


class ReachForm(forms.Form):
    """The query of the reach endpoint: a point, a radius, the urgency."""

    lat = _coordinate(_("Breedtegraad"), MIN_LAT, MAX_LAT)
    lon = _coordinate(_("Lengtegraad"), MIN_LON, MAX_LON)
    radius_m = _radius()
    time_critical = forms.BooleanField(required=False)
    exercise = forms.BooleanField(required=False)
    kind = forms.ChoiceField(choices=Action.Kind.choices, required=False)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Zoek op titel"), required=False)
    kind = forms.ChoiceField(
        label=_("Soort"), choices=[("", _("alle soorten"))] + Action.Kind.choices, required=False
    )
    date = forms.DateField(
        label=_("Datum"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


MSG_ADDRESS_REQUIRED = _(
    "Vul een adres of postcode in, bijvoorbeeld 3441 AB 12 of Stationsplein 1, Utrecht."
)
MSG_ADDRESS_TOO_LONG = _("Dit adres is te lang. Vul alleen straat, huisnummer en plaats in.")
# A Dutch postcode (1234 AB), optionally with a house number and addition (12, 12a, 12-2);
# or only the four digits of a postcode area.
DUTCH_POSTCODE = re.compile(
    r"^(?P<pc4>[1-9]\d{3}) ?(?P<letters>[A-Z]{2})"
    r"(?:[ ,]*(?P<number>\d{1,5})(?: ?-? ?(?P<addition>[A-Z0-9]{1,4}))?)?$"
)
DUTCH_PC4 = re.compile(r"^(?P<pc4>[1-9]\d{3})$")


class AddressSearchForm(forms.Form):
    """The query of the map's address search: "3441 AB 12", "3441" or "Stationsplein 1,
    Utrecht". Cleans `q` into an AddressQuery."""

    q = forms.CharField(
        max_length=200,
        error_messages={"required": MSG_ADDRESS_REQUIRED, "max_length": MSG_ADDRESS_TOO_LONG},
    )

    def clean_q(self) -> AddressQuery:
        text = " ".join(self.cleaned_data["q"].split())
        if len(text) < 3:
            raise forms.ValidationError(MSG_ADDRESS_REQUIRED, code="required")
        upper = text.upper()
        if match := DUTCH_POSTCODE.match(upper):
            number = match["number"] or ""
            if number and match["addition"]:
                number = f"{number}-{match['addition']}"
            return AddressQuery(
                text=text,
                pc4=match["pc4"],
                postcode=f"{match['pc4']} {match['letters']}",
                house_number=number,
            )
        if match := DUTCH_PC4.match(upper):
            return AddressQuery(text=text, pc4=match["pc4"])
        return AddressQuery(text=text)
