"""Forms of the channel settings screen (kanaalinstellingen)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.channels import kinds
from apps.channels.models import CeilingStep, ChannelSetting, OutgoingMessage


class ChannelSettingForm(forms.Form):
    state = forms.ChoiceField(
        label=_("Status"), choices=ChannelSetting.State.choices, widget=forms.RadioSelect
    )
    urgencies = forms.MultipleChoiceField(
        label=_("Urgenties"),
        choices=OutgoingMessage.Urgency.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    kinds = forms.MultipleChoiceField(
        label=_("Soorten"),
        help_text=_("Geen soort gekozen: het kanaal draagt alle soorten."),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    note = forms.CharField(label=_("Toelichting"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = kinds.choices()


class CeilingForm(forms.Form):
    starts_on = forms.DateField(
        label=_("Vanaf"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    max_recipients = forms.IntegerField(
        label=CeilingStep._meta.get_field("max_recipients").verbose_name.capitalize(),
        help_text=CeilingStep._meta.get_field("max_recipients").help_text,
        min_value=0,
        max_value=10_000_000,
        required=False,
    )
    amber_exempt = forms.BooleanField(
        label=_("Geldt niet voor AMBER Alerts"),
        help_text=_("Een AMBER Alert gaat dan naar iedereen op dit kanaal."),
        required=False,
    )
    note = forms.CharField(label=_("Toelichting"), max_length=200, required=False)
