"""Forms of the managers' pages: the audit trail's filter, the contribution year and rate."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit_log, contributions, policy

_CHOICE_OUTSIDE = _("Deze keuze kent u niet, of valt buiten uw werkgebied.")


class ActorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name()
        return f"{obj.get_username()} ({name})" if name else obj.get_username()


class AuditFilterForm(forms.Form):
    """The trail's filter, its choices narrowed to what the manager may see: an organisation
    or user outside it is refused with a message, not quietly ignored."""

    organisation = forms.ModelChoiceField(
        label=_("Organisatie"),
        queryset=None,
        required=False,
        empty_label=_("Alle"),
        error_messages={"invalid_choice": _CHOICE_OUTSIDE},
    )
    actor = ActorChoiceField(
        label=_("Medewerker (wie)"),
        queryset=None,
        required=False,
        empty_label=_("Iedereen"),
        error_messages={"invalid_choice": _CHOICE_OUTSIDE},
    )
    target_type = forms.ChoiceField(label=_("Soort object"), required=False)
    target = forms.CharField(
        label=_("Object"),
        required=False,
        max_length=200,
        help_text=_("Het nummer (id) van het object, of een deel van zijn naam."),
    )
    verb = forms.CharField(
        label=_("Handeling"),
        required=False,
        max_length=60,
        help_text=_('Bijvoorbeeld user.changed; eindig op een punt voor een groep ("user.").'),
    )
    date_from = forms.DateField(
        label=_("Van (datum)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Vul een geldige datum in, bijv. 2026-01-31.")},
    )
    date_to = forms.DateField(
        label=_("Tot en met (datum)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Vul een geldige datum in, bijv. 2026-01-31.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = policy.visible_organisations(user).order_by("name")
        self.fields["actor"].queryset = policy.manageable_users(user).order_by("username")
        self.fields["target_type"].choices = [("", _("Alle"))] + [
            (t, t) for t in audit_log.target_types(user)
        ]
        self.fields["target_type"].error_messages["invalid_choice"] = _CHOICE_OUTSIDE

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("De einddatum ligt voor de begindatum."))
        return cleaned

    def filters(self) -> audit_log.AuditFilter:
        data = self.cleaned_data
        return audit_log.AuditFilter(
            organisation=data.get("organisation"),
            actor=data.get("actor"),
            target_type=data.get("target_type") or "",
            target=(data.get("target") or "").strip(),
            verb=(data.get("verb") or "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def _year_field(label):
    return forms.IntegerField(
        label=label,
        min_value=contributions.FIRST_YEAR,
        max_value=contributions.LAST_YEAR,
        error_messages={
            "invalid": _("Vul een jaartal in, bijv. 2020."),
            "required": _("Vul een jaartal in."),
        },
    )


class ContributionYearForm(forms.Form):
    year = _year_field(_("Jaar"))

    @classmethod
    def initial_year(cls) -> int:
        return timezone.localdate().year


class ContributionRateForm(forms.Form):
    year = _year_field(_("Vanaf jaar"))
    cents_per_inhabitant = forms.DecimalField(
        label=_("Cent per inwoner"),
        min_value=Decimal(0),
        max_digits=7,
        decimal_places=3,
        localize=True,
        help_text=_("Bijvoorbeeld 3 of 2,5. Geldt tot het jaar van een volgend tarief."),
        error_messages={"invalid": _("Vul een bedrag in centen in, bijv. 3 of 2,5.")},
    )
    note = forms.CharField(label=_("Toelichting"), required=False, max_length=200)
