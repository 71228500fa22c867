"""What forms share (web/forms.py): a service's ValidationError on the form, the links of
the error summary, the citizens' form base and its bot trap."""

import io

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.web import photos
from apps.web.forms import (
    CitizenForm,
    OpenForm,
    PhotoField,
    add_errors,
    error_links,
    field_error_links,
)
from tests import hostile_photos


class _Form(OpenForm):
    name = forms.CharField(label="Naam")
    choice = forms.ChoiceField(
        label="Keuze", choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect
    )
    photo = forms.FileField(label="Foto", required=False)


def _valid_form() -> _Form:
    form = _Form({"name": "Jan", "choice": "a"})
    assert form.is_valid()
    return form


def test_a_field_error_goes_to_its_field_and_an_unknown_fields_to_the_form():
    form = _valid_form()
    add_errors(form, ValidationError({"name": "Te kort.", "elsewhere": "Niet hier."}))
    assert form.errors["name"] == ["Te kort."]
    assert form.non_field_errors() == ["Niet hier."]


def test_an_error_about_no_field_goes_to_the_form_or_where_the_view_says():
    form = _valid_form()
    add_errors(form, ValidationError("Dat lukte niet."))
    assert form.non_field_errors() == ["Dat lukte niet."]
    form = _valid_form()
    add_errors(form, ValidationError("Geen foto."), field="photo")
    assert form.errors["photo"] == ["Geen foto."]
    assert not form.non_field_errors()


def test_messages_with_params_read_as_one_text():
    form = _valid_form()
    add_errors(
        form, ValidationError({"name": ValidationError("%(n)s is te kort.", params={"n": "Jan"})})
    )
    assert form.errors["name"] == ["Jan is te kort."]


def test_the_summary_links_each_field_error_to_its_field():
    form = _Form({"name": "", "choice": ""})
    assert not form.is_valid()
    form.add_error(None, "Over het geheel.")
    assert error_links(form) == [
        {"href": "#id_name", "text": "Naam: Dit veld is verplicht."},
        # A field drawn as a fieldset of inputs: the link goes to its first input.
        {"href": "#id_choice_0", "text": "Keuze: Dit veld is verplicht."},
    ]
    assert field_error_links(form, "Adres 1")[0]["text"] == "Adres 1, Naam: Dit veld is verplicht."


def test_an_unbound_form_or_none_has_no_summary():
    assert error_links(_Form(), None) == []


def test_a_citizens_form_asks_nothing_of_the_browser():
    class Form(CitizenForm):
        name = forms.CharField(label="Naam")

    html = str(Form()["name"].label_tag()) + str(Form()["name"])
    assert "required" not in html
    assert "Naam:" not in html


@pytest.mark.parametrize(("website", "bot"), [("", False), ("https://spam.example", True)])
def test_the_hidden_field_gives_a_bot_away(website, bot):
    assert _Form({"name": "Jan", "website": website}).is_bot() is bot


def test_the_photo_field_refuses_by_the_gates_rules_and_rewinds_what_passes():
    field = PhotoField(required=False)
    with pytest.raises(ValidationError) as error:
        field.clean(hostile_photos.header_truncated_jpeg())
    assert error.value.messages == [str(photos.MSG_BROKEN)]

    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="PNG")
    upload = SimpleUploadedFile("foto.png", buffer.getvalue(), content_type="image/png")
    assert field.clean(upload).tell() == 0  # the service reads it from the start
