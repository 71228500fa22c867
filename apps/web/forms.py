"""What every form on the site shares: the base of the forms citizens fill in, the bot
trap of the open ones, the photo field, the free-text field (clean_text) and its character
counter, a service's ValidationError put on the form, and the links of the error summary
above a citizens' form."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import photos
from .text import clean_text


class CitizenForm(forms.Form):
    """A form a citizen fills in (registration, a tip, an answer to a mailing).

    Validation happens on the server, which explains errors next to each field and in the
    summary above the form (error_links); the browser's own bubbles would also stop hidden,
    optional blocks. Labels end without a colon.
    """

    use_required_attribute = False

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class OpenForm(CitizenForm):
    """A citizens' form that needs no log-in (a tip, an answer to a mailing): it carries a
    field that people leave empty (it is hidden); bots that fill in every field give
    themselves away, and the view then pretends all went well."""

    website = forms.CharField(label=_("Laat dit veld leeg"), required=False)

    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class CleanCharField(forms.CharField):
    """Free text from a person (web/text.py): without bidirectional controls and zero-width
    characters, in NFC, before it is stripped and its length is checked. Every free-text
    field of the citizens' and the staff's forms is one."""

    def to_python(self, value):
        if isinstance(value, str):
            value = clean_text(value)
        return super().to_python(value)


def clean_text_formfield(db_field, **kwargs):
    """The formfield_callback of a ModelForm with free text: its text fields (CharField
    and TextField without choices) become CleanCharFields."""
    if isinstance(db_field, models.CharField | models.TextField) and not db_field.choices:
        kwargs.setdefault("form_class", CleanCharField)
    return db_field.formfield(**kwargs)


def counter_attrs() -> dict:
    """The attributes of a text field whose characters static/js/char-counter.js counts
    (the field's maxlength, which Django sets from its max_length, is the maximum)."""
    return {
        "data-counter-left": _("Tekens over: {left} van {max}"),
        "data-counter-over": _("Tekens te veel: {over} (hooguit {max})"),
    }


class PhotoField(forms.FileField):
    """A photo the form refuses itself, by photos.prepare's rules and with its messages
    (the console's action, a mailing's image, the admin's action): a plain file field, so
    that photos.prepare is the one judge of what is an image. The service prepares (shrinks,
    strips) what passes; the file is handed on rewound."""

    def clean(self, data, initial=None):
        data = super().clean(data, initial)
        if isinstance(data, UploadedFile):
            photos.prepare(data)
            data.seek(0)
        return data


def photo_field() -> forms.FileField:
    """A citizen's optional photo: the file the service checks with photos.prepare (the
    view puts what it refuses on this field), so it is decoded once."""
    return forms.FileField(
        label=_("Foto (niet verplicht)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("Een JPEG-, PNG- of WebP-foto van hooguit 10 MB."),
    )


def tel_input() -> forms.TextInput:
    """A phone number's input: the phone keyboard, filled in from the address book."""
    return forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"})


def optional_phone_field(**kwargs) -> forms.CharField:
    """A number to be called back on, if the citizen wants (the form checks it)."""
    return CleanCharField(
        label=_("Uw telefoonnummer (niet verplicht)"),
        required=False,
        max_length=30,
        widget=tel_input(),
        **kwargs,
    )


def add_errors(form: forms.Form, exc: ValidationError, *, field: str | None = None) -> None:
    """Put a service's ValidationError on the form that gave the service its input.

    An error about one of the form's fields goes to that field, one about a field the form
    does not have to the form as a whole; an error about no field goes to `field` (None:
    the form as a whole).
    """
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(field, exc)


def field_error_links(form: forms.Form, title: str = "") -> list[dict]:
    """Links for the error summary: one per error, to the field it belongs to (after
    `title`, when given: which block of the page the field is in)."""
    if not form.is_bound:
        return []
    links = []
    for name, errors in form.errors.items():
        if name == forms.forms.NON_FIELD_ERRORS:
            continue
        bound = form[name]
        anchor = bound.auto_id + ("_0" if bound.use_fieldset else "")
        label = f"{title}, {bound.label}" if title else str(bound.label)
        links += [{"href": f"#{anchor}", "text": f"{label}: {error}"} for error in errors]
    return links


def error_links(*forms_: forms.Form | None) -> list[dict]:
    """The error summary of a citizens' page (participants/_error_summary.html): the
    links of each bound form, in order; an unbound form or None has none."""
    links = []
    for form in forms_:
        if form is not None:
            links += field_error_links(form)
    return links
