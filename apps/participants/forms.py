"""Forms of the registration site: they parse what a citizen typed into service inputs.

The registration page is one <form> made of several Django forms: the phone number,
preferences, e-mail, and up to MAX_ADDRESSES address blocks, each with up to
MAX_WINDOWS_PER_ADDRESS time windows. Field names carry prefixes ("address-0-postcode",
"address-0-window-1-start"), so the page works without JavaScript. The page starts with
one address and one window; "Nog een adres toevoegen" and "Nog een tijdvak" post the page
back and get it with one block more, as typed and without errors (forms.js does the same
in the browser, without the round trip). Hidden counts ("address_count",
"address-0-window_count") carry how many the visitor asked for.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from apps.web.forms import CitizenForm, CleanCharField, error_links, field_error_links

from . import geocoding, schedule, services
from .models import (
    MAX_ADDRESSES,
    MAX_WINDOWS_PER_ADDRESS,
    Address,
    Country,
    Language,
    Participant,
)
from .phones import parse_mobile

TIME_FORMAT = "%H:%M"


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(format=TIME_FORMAT, attrs={"type": "time"})


class SiteForm(CitizenForm):
    """A part of the registration site's page (see CitizenForm: server-side validation,
    which the browser's bubbles would also stop in hidden, optional address blocks)."""


class PhoneField(CleanCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        kwargs.setdefault(
            "widget",
            forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return parse_mobile(value) if value else value


class PhoneForm(SiteForm):
    phone = PhoneField(
        label=_("Mobiel telefoonnummer"),
        help_text=_(
            "Een Nederlands, Belgisch of Duits mobiel nummer, bijvoorbeeld 06 12345678 of "
            "+32 470 12 34 56. U krijgt een sms met een code."
        ),
    )


class PreferencesForm(SiteForm):
    wants_sms = forms.BooleanField(label=_("Sms"), required=False, initial=True)
    wants_voice = forms.BooleanField(label=_("Gesproken bericht (u wordt gebeld)"), required=False)
    wants_email = forms.BooleanField(
        label=_("E-mail (ook Burgernetmail uit uw buurt)"), required=False
    )
    quiet_start = forms.TimeField(
        label=_("Stil vanaf"), required=False, widget=_time_input(), input_formats=[TIME_FORMAT]
    )
    quiet_end = forms.TimeField(
        label=_("Stil tot"), required=False, widget=_time_input(), input_formats=[TIME_FORMAT]
    )
    # Not sent (an old page, a script): no choice, so the language stays as it is.
    language = forms.ChoiceField(
        label=_("Taal van de berichten"),
        choices=Language.choices,
        required=False,
        error_messages={"invalid_choice": services.MSG_LANGUAGE},
        help_text=_(
            "De vaste tekst van een bericht (zoals ‘Gezien? Bel 0800-0011’) krijgt u in deze "
            "taal, de beschrijving als de politie die ook in deze taal heeft geschreven; "
            "anders in het Nederlands."
        ),
    )

    def __init__(self, *args, has_email: bool | None = None, **kwargs):
        # None: the e-mail address is on the same page and checked there.
        self.has_email = has_email
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if not (data.get("wants_sms") or data.get("wants_voice") or data.get("wants_email")):
            self.add_error("wants_sms", services.MSG_NO_CHANNEL)
        if self.has_email is False and data.get("wants_email"):
            self.add_error("wants_email", services.MSG_EMAIL_NEEDED)
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if "quiet_start" in data and "quiet_end" in data:
            if (start is None) != (end is None):
                self.add_error(
                    "quiet_start" if start is None else "quiet_end", services.MSG_QUIET_BOTH
                )
            elif start is not None and start == end:
                self.add_error("quiet_end", services.MSG_EQUAL_TIMES)
        return data

    def preferences(self) -> services.Preferences:
        return services.Preferences.from_data(self.cleaned_data)

    @staticmethod
    def initial_for(participant: Participant) -> dict:
        return services.Preferences.of(participant).as_fields()


class RegistrationPreferencesForm(PreferencesForm):
    """The preferences on the registration page: the language may be left to us."""

    language = forms.ChoiceField(
        label=_("Taal van de berichten"),
        choices=[("", _("Vanzelf (naar uw nummer en adres)")), *Language.choices],
        required=False,
        error_messages={"invalid_choice": services.MSG_LANGUAGE},
        help_text=_(
            "De vaste tekst van een bericht (zoals ‘Gezien? Bel 0800-0011’) krijgt u in deze "
            "taal, de beschrijving als de politie die ook in deze taal heeft geschreven; "
            "anders in het Nederlands. ‘Vanzelf’ kiest de taal van uw adres in Duitsland of "
            "België (in Vlaanderen Nederlands); zonder zo’n adres Duits bij een Duits nummer, "
            "Frans bij een Belgisch nummer, en anders Nederlands. U kunt de taal later wijzigen."
        ),
    )


class EmailForm(SiteForm):
    email = forms.EmailField(
        label=_("E-mailadres (optioneel)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Wij sturen u een e-mail met een link om het adres te bevestigen."),
    )
    email_postcode = forms.CharField(
        label=_("Postcode bij uw e-mailadres"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
        help_text=_(
            "Een Nederlandse postcode, bijvoorbeeld 3441 AB. Burgernetmail gaat over de buurt "
            "van deze postcode."
        ),
    )

    def clean_email(self):
        # Stored in lower case, so that a manage link can be asked for in any case.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        self.location = None
        email, postcode = data.get("email"), data.get("email_postcode")
        if "email" not in data or "email_postcode" not in data:
            return data
        if not email:
            if postcode:
                self.add_error("email", _("Vul ook uw e-mailadres in, of laat de postcode leeg."))
            return data
        if not postcode:
            self.add_error("email_postcode", _("Vul de postcode bij uw e-mailadres in."))
            return data
        try:
            data["email_postcode"] = geocoding.normalise_postcode(Country.NL, postcode)
            self.location = geocoding.geocode_dutch_postcode(data["email_postcode"])
        except ValueError as exc:
            self.add_error("email_postcode", str(exc))
        except geocoding.GeocodingError as exc:
            self.add_error("email_postcode", exc.message)
        return data

    def email_input(self) -> services.EmailInput | None:
        data = self.cleaned_data
        if not data.get("email"):
            return None
        return services.EmailInput(
            email=data["email"], postcode=data["email_postcode"], location=self.location
        )


class AddressForm(SiteForm):
    ALWAYS, CHOSEN = "always", "chosen"

    label = CleanCharField(
        label=_("Naam van dit adres"),
        max_length=40,
        help_text=_("Bijvoorbeeld Thuis of Werk."),
    )
    country = forms.ChoiceField(label=_("Land"), choices=Country.choices, initial=Country.NL)
    postcode = forms.CharField(
        label=_("Postcode"), max_length=10, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    house_number = forms.IntegerField(
        label=_("Huisnummer"),
        min_value=1,
        max_value=99999,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid": _("Vul een huisnummer in cijfers in, bijvoorbeeld 12.")},
    )
    house_number_suffix = forms.CharField(
        label=_("Toevoeging (optioneel)"),
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    schedule = forms.ChoiceField(
        label=_("Wanneer wilt u berichten over dit adres?"),
        choices=[
            (ALWAYS, _("Altijd")),
            (CHOSEN, _("Alleen op de dagen en tijden die ik hieronder kies")),
        ],
        initial=ALWAYS,
        widget=forms.RadioSelect(attrs={"class": "schedule-choice"}),
    )

    def clean_house_number_suffix(self):
        suffix = self.cleaned_data["house_number_suffix"].strip()
        if suffix and not re.fullmatch(r"[A-Za-z0-9-]{1,8}", suffix):
            raise ValidationError(_("Gebruik alleen letters en cijfers, bijvoorbeeld A of 2."))
        return suffix.upper()

    def clean(self):
        data = super().clean()
        self.location = None
        country, postcode = data.get("country"), data.get("postcode")
        if not country or not postcode:
            return data
        try:
            data["postcode"] = geocoding.normalise_postcode(country, postcode)
        except ValueError as exc:
            self.add_error("postcode", str(exc))
            return data
        if "house_number" not in data or "house_number_suffix" not in data:
            return data
        try:
            self.location = geocoding.geocode_address(
                country=country,
                postcode=data["postcode"],
                house_number=data["house_number"],
                suffix=data["house_number_suffix"],
            )
        except geocoding.GeocodingError as exc:
            self.add_error("postcode", exc.message)
        return data


class WindowForm(SiteForm):
    days = forms.TypedMultipleChoiceField(
        label=_("Dagen"),
        choices=[(i, name) for i, name in enumerate(schedule.DAY_NAMES)],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "days"}),
    )
    start = forms.TimeField(
        label=_("Van"), required=False, widget=_time_input(), input_formats=[TIME_FORMAT]
    )
    end = forms.TimeField(
        label=_("Tot"),
        required=False,
        widget=_time_input(),
        input_formats=[TIME_FORMAT],
        help_text=_("Een eindtijd vóór de begintijd loopt door na middernacht."),
    )

    def has_input(self) -> bool:
        return any(self.data.get(self.add_prefix(name)) for name in ("days", "start", "end"))

    def clean(self):
        data = super().clean()
        if not data.get("days") and "days" not in self.errors:
            self.add_error("days", _("Kies minstens één dag."))
        for name, message in (
            ("start", _("Vul de begintijd in, bijvoorbeeld 18:00.")),
            ("end", _("Vul de eindtijd in, bijvoorbeeld 23:00.")),
        ):
            if name in data and data[name] is None:
                self.add_error(name, message)
        if data.get("start") is not None and data.get("start") == data.get("end"):
            self.add_error("end", services.MSG_EQUAL_TIMES)
        return data

    def window(self) -> services.WindowInput:
        data = self.cleaned_data
        return services.WindowInput(
            days=schedule.days_to_mask(data["days"]), start=data["start"], end=data["end"]
        )


ADDRESS_INPUT_FIELDS = ("postcode", "house_number", "house_number_suffix")
WINDOW_FIELDS = ("days", "start", "end")


def _count(value, *, default: int) -> int:
    """A count the page sends back in a hidden field; `default` when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _unbound_copy(form_class, data, prefix: str, **kwargs):
    """A form showing what was typed, without validating it (for "add an address")."""
    probe = form_class(prefix=prefix, **kwargs)
    initial = {
        name: field.widget.value_from_datadict(data, {}, probe.add_prefix(name))
        for name, field in probe.fields.items()
    }
    return form_class(prefix=prefix, initial=initial, **kwargs)


class AddressBlock:
    """One address with its time windows, as it appears on the page: as many windows as
    the visitor asked for ("Nog een tijdvak", `add_window`) or filled in, at least one."""

    def __init__(self, data=None, *, index: int, instance: Address | None = None, validate=True):
        self.index = index
        self.prefix = f"address-{index}"
        self.data = data
        initial, window_initials = self._initial(instance, index)
        self.windows_shown = self._windows_count(data, len(window_initials))
        window_prefixes = [self.window_prefix(j) for j in range(self.windows_shown)]
        if data is not None and not validate:
            self.form = _unbound_copy(AddressForm, data, self.prefix)
            self.windows = [_unbound_copy(WindowForm, data, p) for p in window_prefixes]
        else:
            self.form = AddressForm(data, prefix=self.prefix, initial=initial)
            self.windows = [
                WindowForm(
                    data, prefix=p, initial=window_initials[j] if j < len(window_initials) else None
                )
                for j, p in enumerate(window_prefixes)
            ]
        self.block_errors: list[str] = []

    def window_prefix(self, j: int) -> str:
        return f"{self.prefix}-window-{j}"

    @property
    def window_count_name(self) -> str:
        return f"{self.prefix}-window_count"

    def _windows_count(self, data, stored: int) -> int:
        """Windows to show: those asked for (the hidden count), those filled in, those
        stored; at least one, at most MAX_WINDOWS_PER_ADDRESS."""
        data = data or {}
        requested = _count(data.get(self.window_count_name), default=1)
        filled = max(
            (
                j + 1
                for j in range(MAX_WINDOWS_PER_ADDRESS)
                if any(data.get(f"{self.window_prefix(j)}-{name}") for name in WINDOW_FIELDS)
            ),
            default=1,
        )
        return min(MAX_WINDOWS_PER_ADDRESS, max(1, requested, filled, stored))

    def add_window(self) -> None:
        """One more (empty) window, on request ("Nog een tijdvak")."""
        if self.windows_shown < MAX_WINDOWS_PER_ADDRESS:
            self.windows.append(WindowForm(prefix=self.window_prefix(self.windows_shown)))
            self.windows_shown += 1

    @property
    def can_add_window(self) -> bool:
        return self.windows_shown < MAX_WINDOWS_PER_ADDRESS

    @property
    def new_window_anchor(self) -> str:
        """Where the page goes after "Nog een tijdvak": the window it adds."""
        return self.window_prefix(self.windows_shown)

    @staticmethod
    def _initial(instance: Address | None, index: int) -> tuple[dict, list[dict]]:
        if instance is None:
            return {"label": _("Thuis") if index == 0 else ""}, []
        initial = {
            "label": instance.label,
            "country": instance.country,
            "postcode": instance.postcode,
            "house_number": instance.house_number,
            "house_number_suffix": instance.house_number_suffix,
            "schedule": AddressForm.ALWAYS if instance.always_active else AddressForm.CHOSEN,
        }
        windows = [
            {"days": w.day_list, "start": w.start, "end": w.end} for w in instance.windows.all()
        ]
        return initial, windows

    @property
    def windows_anchor(self) -> str:
        return f"{self.prefix}-windows"

    @property
    def number(self) -> int:
        return self.index + 1

    def has_input(self) -> bool:
        if self.data is None:
            return False
        return _address_has_input(self.data, self.index)

    def extra_window_input(self) -> bool:
        """Window fields beyond the allowed number, from a hand-made request."""
        pattern = re.compile(rf"^{re.escape(self.prefix)}-window-(\d+)-(days|start|end)$")
        for key in self.data or {}:
            match = pattern.match(key)
            if match and int(match.group(1)) >= MAX_WINDOWS_PER_ADDRESS and self.data.get(key):
                return True
        return False

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        self.block_errors = []
        if self.form.cleaned_data.get("schedule") != AddressForm.CHOSEN:
            self._show_unvalidated(self.windows)
            return valid
        if self.extra_window_input():
            self.block_errors.append(
                services.MSG_TOO_MANY_WINDOWS % {"max": MAX_WINDOWS_PER_ADDRESS}
            )
            valid = False
        used = [w for w in self.windows if w.has_input()]
        self._show_unvalidated([w for w in self.windows if not w.has_input()])
        if not used:
            self.block_errors.append(services.MSG_NO_WINDOW)
            return False
        windows_valid = all([w.is_valid() for w in used])
        if windows_valid:
            try:
                services.validate_windows([w.window() for w in used])
            except ValidationError as exc:
                self.block_errors.extend(exc.messages)
                windows_valid = False
        return valid and windows_valid

    def _show_unvalidated(self, windows: list) -> None:
        """Windows that do not count are shown as typed, without errors."""
        ignored = {id(w) for w in windows}
        self.windows = [
            _unbound_copy(WindowForm, self.data, w.prefix) if id(w) in ignored else w
            for w in self.windows
        ]

    def used_windows(self) -> list["WindowForm"]:
        return [w for w in self.windows if w.is_bound]

    def address_input(self) -> services.AddressInput:
        data = self.form.cleaned_data
        always = data["schedule"] == AddressForm.ALWAYS
        return services.AddressInput(
            label=data["label"],
            country=data["country"],
            postcode=data["postcode"],
            house_number=data["house_number"],
            house_number_suffix=data["house_number_suffix"],
            location=self.form.location,
            always_active=always,
            windows=() if always else tuple(w.window() for w in self.used_windows()),
        )

    def error_links(self) -> list[dict]:
        title = _("Adres %(number)s") % {"number": self.number}
        links = field_error_links(self.form, title)
        links += [
            {"href": f"#{self.windows_anchor}", "text": f"{title}: {e}"} for e in self.block_errors
        ]
        for j, window in enumerate(self.windows):
            if window.is_bound and window.errors:
                sub = _("%(address)s, tijdvak %(number)s") % {"address": title, "number": j + 1}
                links += field_error_links(window, sub)
        return links


def _address_has_input(data, index: int) -> bool:
    return any((data.get(f"address-{index}-{name}") or "").strip() for name in ADDRESS_INPUT_FIELDS)


class RegistrationForm:
    """The registration page: phone, addresses with windows, e-mail and preferences."""

    def __init__(self, data=None, *, validate: bool = True):
        self.data = data
        if data is not None and not validate:
            self.phone = _unbound_copy(PhoneForm, data, None)
            self.preferences = _unbound_copy(RegistrationPreferencesForm, data, None)
            self.email = _unbound_copy(EmailForm, data, None)
        else:
            self.phone = PhoneForm(data)
            self.preferences = RegistrationPreferencesForm(data)
            self.email = EmailForm(data)
        self.shown = self._shown_count()
        self.blocks = [AddressBlock(data, index=i, validate=validate) for i in range(self.shown)]
        self.form_errors: list[str] = []

    def _shown_count(self) -> int:
        """Addresses to show: those asked for (the hidden count) or filled in; at least
        one, at most MAX_ADDRESSES. Nothing is made for addresses nobody asked for."""
        data = self.data or {}
        requested = _count(data.get("address_count"), default=1)
        filled = max(
            (i + 1 for i in range(MAX_ADDRESSES) if _address_has_input(data, i)), default=1
        )
        return min(MAX_ADDRESSES, max(1, requested, filled))

    def add_address(self) -> None:
        """One more (empty) address block, on request ("Nog een adres toevoegen")."""
        if self.shown < MAX_ADDRESSES:
            self.blocks.append(AddressBlock(index=self.shown))
            self.shown += 1

    def add_window(self, index: int) -> None:
        """One more window in address `index` ("Nog een tijdvak"); nothing for a block
        that is not on the page."""
        if 0 <= index < len(self.blocks):
            self.blocks[index].add_window()

    @property
    def can_add_address(self) -> bool:
        return self.shown < MAX_ADDRESSES

    @property
    def page_blocks(self) -> list[AddressBlock]:
        return self.blocks

    def _extra_addresses(self) -> bool:
        pattern = re.compile(r"^address-(\d+)-(postcode|house_number)$")
        return any(
            (m := pattern.match(key)) and int(m.group(1)) >= MAX_ADDRESSES and self.data.get(key)
            for key in self.data
        )

    def used_blocks(self) -> list[AddressBlock]:
        return [b for b in self.blocks if b.index == 0 or b.has_input()]

    def is_valid(self) -> bool:
        results = [self.phone.is_valid(), self.preferences.is_valid(), self.email.is_valid()]
        used = self.used_blocks()
        results += [block.is_valid() for block in used]
        # Blocks left empty do not count: show them without errors.
        self.blocks = [
            b if b in used else AddressBlock(self.data, index=b.index, validate=False)
            for b in self.blocks
        ]
        self.form_errors = []
        if self._extra_addresses():
            self.form_errors.append(services.MSG_TOO_MANY_ADDRESSES % {"max": MAX_ADDRESSES})
            results.append(False)
        wants_email = self.preferences.is_valid() and self.preferences.cleaned_data["wants_email"]
        if wants_email and self.email.is_valid() and not self.email.cleaned_data["email"]:
            self.email.add_error("email", services.MSG_EMAIL_NEEDED)
            results.append(False)
        return all(results)

    def register_kwargs(self) -> dict:
        return {
            "phone": self.phone.cleaned_data["phone"],
            "addresses": [b.address_input() for b in self.used_blocks()],
            "preferences": self.preferences.preferences(),
            "email": self.email.email_input(),
        }

    def error_links(self) -> list[dict]:
        links = [{"href": "#addresses", "text": e} for e in self.form_errors]
        links += error_links(self.phone)
        for block in self.used_blocks():
            links += block.error_links()
        links += error_links(self.email, self.preferences)
        return links


class CodeForm(SiteForm):
    code = forms.CharField(
        label=_("Code uit de sms"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
        help_text=_("Zes cijfers."),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(_("Vul de zes cijfers van de code in."))
        return code


class ManageRequestForm(SiteForm):
    contact = CleanCharField(
        label=_("Uw mobiele nummer of e-mailadres"),
        max_length=254,
        help_text=_("Het nummer of e-mailadres waarmee u bent aangemeld."),
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )

    def clean_contact(self):
        value = self.cleaned_data["contact"].strip()
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError as exc:
                raise ValidationError(_("Dit is geen geldig e-mailadres.")) from exc
            return {"email": value.lower()}
        return {"phone": parse_mobile(value)}


class ConfirmForm(SiteForm):
    """A form with only a button: confirming by POST, so that link checkers that open
    links in e-mails and SMS previews do not confirm or use a link by themselves."""
