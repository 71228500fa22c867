"""The respond form of a buurtonderzoek: what was seen or heard, when, an optional photo and
optional contact details; and the unsubscribe confirmation."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.participants.phones import optional_callback_number
from apps.web.forms import CleanCharField, OpenForm, optional_phone_field, photo_field

OBSERVATION_MAX = 5000

MSG_OBSERVATION_REQUIRED = _("Beschrijf wat u heeft gezien of gehoord.")
MSG_CALL_NEEDS_PHONE = _("Vul uw telefoonnummer in als wij u mogen bellen.")


class RespondForm(OpenForm):
    observation = CleanCharField(
        label=_("Wat heeft u gezien of gehoord?"),
        max_length=OBSERVATION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Beschrijf zo precies mogelijk wat u opviel. Hooguit %(max)s tekens.")
        % {"max": OBSERVATION_MAX},
        error_messages={"required": MSG_OBSERVATION_REQUIRED},
    )
    observed_when = CleanCharField(
        label=_("Wanneer was dat? (niet verplicht)"),
        required=False,
        max_length=120,
        help_text=_("Bijvoorbeeld: dinsdagnacht rond 3 uur."),
    )
    photo = photo_field()
    contact_name = CleanCharField(
        label=_("Uw naam (niet verplicht)"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_phone = optional_phone_field()
    contact_email = forms.EmailField(
        label=_("Uw e-mailadres (niet verplicht)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": _("Dit is geen geldig e-mailadres, zoals naam@voorbeeld.nl.")},
    )
    may_call = forms.BooleanField(label=_("U mag mij hierover bellen."), required=False)

    def __init__(self, *args, has_phone: bool = False, **kwargs):
        # `has_phone`: an earlier answer left a number, so permission to call needs no new one.
        super().__init__(*args, **kwargs)
        self.has_phone = has_phone

    def clean_contact_phone(self):
        return optional_callback_number(self.cleaned_data["contact_phone"])

    def clean(self):
        data = super().clean()
        wants_call = data.get("may_call") and not (data.get("contact_phone") or self.has_phone)
        if wants_call and "contact_phone" not in self.errors:
            self.add_error("contact_phone", ValidationError(MSG_CALL_NEEDS_PHONE, "required"))
        return data


class UnsubscribeForm(forms.Form):
    """Only the button: the token in the address says who."""
