"""web/text.py: free text without the characters that make it read otherwise, in NFC; and
the form field every free-text field is (web/forms.CleanCharField)."""

import pytest
from django.core.exceptions import ValidationError

from apps.web.forms import CleanCharField, clean_text_formfield
from apps.web.text import clean_text

BIDI = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH, ids=lambda c: f"U+{ord(c):04X}")
def test_it_strips_bidi_controls_and_zero_width_characters(char):
    assert clean_text(f"foto{char}.jpg{char}") == "foto.jpg"


def test_it_undoes_a_right_to_left_override_that_hides_an_extension():
    # On screen "Bekijk de foto: gpj.exe" shows as "Bekijk de foto: exe.jpg".
    assert clean_text("Bekijk de foto: \u202egpj.exe") == "Bekijk de foto: gpj.exe"


def test_it_composes_to_nfc_and_keeps_what_people_write():
    assert clean_text("Cafe\u0301 De Zwaan") == "Café De Zwaan"
    text = "Man (±40), rode jas 🧥; zei: «kom hier»\n\n- fiets\tzwart"
    assert clean_text(text) == text


def test_it_makes_every_line_break_one_newline():
    assert clean_text("een\r\ntwee\rdrie\nvier") == "een\ntwee\ndrie\nvier"


def test_the_field_cleans_before_it_strips_and_counts():
    field = CleanCharField(max_length=5)
    assert field.clean("\u200b  abc \u202e ") == "abc"
    # Five letters and invisible characters: five characters once cleaned.
    assert field.clean("ab\u200bc\u2066de") == "abcde"
    with pytest.raises(ValidationError):
        field.clean("abcdef")
    with pytest.raises(ValidationError):
        CleanCharField().clean("\u200b\u200b")  # nothing left: required


def test_a_model_forms_text_fields_become_clean_char_fields():
    from apps.actions.models import Action

    assert isinstance(clean_text_formfield(Action._meta.get_field("text")), CleanCharField)
    assert isinstance(clean_text_formfield(Action._meta.get_field("title")), CleanCharField)
    kind = clean_text_formfield(Action._meta.get_field("kind"))  # choices: not free text
    assert not isinstance(kind, CleanCharField)
