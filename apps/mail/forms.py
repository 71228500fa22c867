"""Forms of the mail screens: a mailing's text, an area, a rejection, a crisis's end."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.governance.models import Municipality
from apps.web.forms import CleanCharField, PhotoField, clean_text_formfield, counter_attrs

from . import selection, services
from .models import (
    END_TEXT_MAX,
    SUBJECT_MAX,
    Mailing,
    MailingArea,
    incident_problems,
)


class MailingForm(forms.ModelForm):
    """The text of a mailing and, for a buurtonderzoek, the incident it asks about."""

    image = PhotoField(
        label=_("Afbeelding (optioneel)"),
        required=False,
        help_text=_(
            "Alleen JPEG, PNG of WebP, hooguit 10 MB. Locatie en andere gegevens in de "
            "afbeelding worden verwijderd."
        ),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_image = forms.BooleanField(label=_("Afbeelding verwijderen"), required=False)

    class Meta:
        model = Mailing
        fields = list(services.DRAFT_FIELDS)
        formfield_callback = clean_text_formfield
        widgets = {
            "subject": forms.TextInput(attrs={"maxlength": SUBJECT_MAX}),
            "body": forms.Textarea(attrs={"rows": 14, **counter_attrs()}),
            "incident_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "instruction": forms.Textarea(attrs={"rows": 3, **counter_attrs()}),
        }
        help_texts = {
            "incident_date": _("Verplicht bij een buurtonderzoek."),
            "incident_place": _(
                "Verplicht bij een buurtonderzoek, bijvoorbeeld: Rijnstraat, Woerden."
            ),
            "response_days": _("Zo lang werkt de reageerknop in de mail (1 tot 90 dagen)."),
        }

    def clean(self):
        cleaned = super().clean()
        problems = incident_problems(
            cleaned.get("kind"), cleaned.get("incident_date"), cleaned.get("incident_place")
        )
        for field, problem in problems.items():
            if field not in self.errors:
                self.add_error(field, problem)
        return cleaned

    def _post_clean(self):
        # The form never saves: the service builds and checks the mailing (the model's
        # clean, with the same message as above, runs there), so the instance is left alone.
        pass

    def mailing_fields(self) -> dict:
        """The cleaned fields as services.mailing_create / mailing_update take them."""
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        fields["incident_place"] = (fields["incident_place"] or "").strip()
        fields["instruction"] = (fields["instruction"] or "").strip()
        if self.cleaned_data.get("image"):
            fields["image"] = self.cleaned_data["image"]
        return fields


class AreaForm(forms.Form):
    """One area to add to a mailing: the fields its kind needs, checked by the service."""

    kind = forms.ChoiceField(
        label=_("Soort gebied"),
        choices=MailingArea.Kind.choices,
        widget=forms.RadioSelect,
        initial=MailingArea.Kind.STREET,
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=10,
        help_text=_("Straat en postcode: 6 tekens (3441 AB). Postcodegebied: 4 cijfers (3441)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    house_number_from = forms.IntegerField(
        label=_("Huisnummer van"), required=False, min_value=1, max_value=99_999
    )
    house_number_to = forms.IntegerField(
        label=_("Huisnummer tot en met"), required=False, min_value=1, max_value=99_999
    )
    municipality = forms.ModelChoiceField(
        label=_("Gemeente"), required=False, queryset=Municipality.objects.none()
    )
    lat = forms.FloatField(
        label=_("Breedtegraad midden"),
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lon = forms.FloatField(
        label=_("Lengtegraad midden"),
        required=False,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    radius_m = forms.IntegerField(
        label=_("Straal (m)"),
        required=False,
        min_value=selection.MIN_RADIUS_M,
        max_value=selection.MAX_RADIUS_M,
        initial=300,
        widget=forms.NumberInput(attrs={"step": 50}),
    )

    def __init__(self, *args, mailing: Mailing, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailing = mailing
        self.fields["municipality"].queryset = mailing.scope().filter(
            Municipality.objects.all(), "pk"
        )
        self.area = None

    def area_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "postcode": (data.get("postcode") or "").strip(),
            "house_number_from": data.get("house_number_from"),
            "house_number_to": data.get("house_number_to"),
            "municipality": data.get("municipality"),
            "lat": data.get("lat"),
            "lon": data.get("lon"),
            "radius_m": data.get("radius_m"),
        }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        area = MailingArea(mailing=self.mailing, **self.area_fields())
        try:
            self.area = services.area_check(mailing=self.mailing, area=area)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned

    def clean_area_fields(self) -> dict:
        """The normalised fields of the checked area, for services.area_add."""
        area = self.area
        return {
            "kind": area.kind,
            "postcode": area.postcode,
            "house_number_from": area.house_number_from,
            "house_number_to": area.house_number_to,
            "municipality": area.municipality,
            "lat": area.lat,
            "lon": area.lon,
            "radius_m": area.radius_m,
        }


class RejectForm(forms.Form):
    reason = CleanCharField(
        label=_("Reden van afwijzing"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("De auteur ziet deze reden bij het concept."),
        error_messages={"required": services.MSG_REASON},
    )
    # The version of the mailing the approver saw (services.mailing_version), written into
    # the page as a hidden field; the service refuses to reject any other.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "reject-%s")
        super().__init__(*args, **kwargs)


class EndForm(forms.Form):
    """ "Crisis voorbij": the text of a crisis message's end message."""

    text = CleanCharField(
        label=_("Tekst van het eindbericht"),
        max_length=END_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, **counter_attrs()}),
        help_text=_(
            "Gaat naar iedereen die de crisismelding kreeg, via dezelfde kanalen. Bijvoorbeeld: "
            "De brand is geblust. U kunt ramen en deuren weer openen."
        ),
        error_messages={"required": services.MSG_END_TEXT},
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "end-%s")
        super().__init__(*args, **kwargs)
