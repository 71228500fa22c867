"""The tip form on the citizens' action page: what was seen, an optional photo, and an
optional number to be called back on."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.participants import phones

TIP_TEXT_MAX = 2000

MSG_TEXT_REQUIRED = _("Beschrijf wat u zag.")


class TipForm(forms.Form):
    # Server-side validation explains errors next to each field (as on the registration site).
    use_required_attribute = False

    text = forms.CharField(
        label=_("Wat heeft u gezien?"),
        max_length=TIP_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Waar en wanneer, en wat viel u op. Hooguit %(max)s tekens.")
        % {"max": TIP_TEXT_MAX},
        error_messages={"required": MSG_TEXT_REQUIRED},
    )
    photo = forms.FileField(
        label=_("Foto (niet verplicht)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("Een JPEG-, PNG- of WebP-foto van hooguit 10 MB."),
    )
    phone = forms.CharField(
        label=_("Uw telefoonnummer (niet verplicht)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        help_text=_(
            "Uw tip is anoniem, tenzij u een nummer achterlaat. Dan kan de politie u terugbellen."
        ),
    )
    # Left empty by people (it is hidden); bots that fill in every field give themselves away.
    website = forms.CharField(label=_("Laat dit veld leeg"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if not text:
            raise ValidationError(MSG_TEXT_REQUIRED, code="required")
        return text

    def clean_phone(self):
        raw = self.cleaned_data["phone"].strip()
        return phones.callback_number(raw) if raw else ""

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))
