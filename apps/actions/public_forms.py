"""The citizens' forms of an action: the tip form on its page (what was seen, an optional
photo, and an optional number to be called back on), and the check whether a forwarded
message is real."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.participants import phones
from apps.web.forms import (
    CitizenForm,
    CleanCharField,
    OpenForm,
    optional_phone_field,
    photo_field,
)

from .models import TIP_TEXT_MAX
from .services import MSG_VERIFY_EMPTY, MSG_VERIFY_TOO_LONG, VERIFY_TEXT_MAX

MSG_TEXT_REQUIRED = _("Beschrijf wat u zag.")


class TipForm(OpenForm):
    text = CleanCharField(
        label=_("Wat heeft u gezien?"),
        max_length=TIP_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Waar en wanneer, en wat viel u op. Hooguit %(max)s tekens.")
        % {"max": TIP_TEXT_MAX},
        error_messages={"required": MSG_TEXT_REQUIRED},
    )
    photo = photo_field()
    phone = optional_phone_field(
        help_text=_(
            "Uw tip is anoniem, tenzij u een nummer achterlaat. Dan kan de politie u terugbellen."
        ),
    )

    def clean_phone(self):
        return phones.optional_callback_number(self.cleaned_data["phone"])


class VerifyForm(CitizenForm):
    """Is dit bericht echt? A code, or a whole forwarded message or link pasted."""

    text = CleanCharField(
        label=_("Controlecode, bericht of link"),
        max_length=VERIFY_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "Bijvoorbeeld BN-7KQ4XZ. U kunt ook het hele bericht of de link plakken. "
            "Hooguit %(max)s tekens."
        )
        % {"max": VERIFY_TEXT_MAX},
        error_messages={
            "required": MSG_VERIFY_EMPTY,
            "max_length": MSG_VERIFY_TOO_LONG % {"max": VERIFY_TEXT_MAX},
        },
    )
