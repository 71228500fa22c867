"""Free text from staff and citizens, made to show what it says (issue 10, item 10).

Invisible characters can make a text read otherwise than it is: a right-to-left override
turns "gpj.exe" into "exe.jpg" on screen, a zero-width space splits a word a filter or a
search looks for, and the same letter can be stored in two forms (é, or e with a combining
accent). `clean_text` takes out the bidirectional embeddings, overrides and isolates
(U+202A–U+202E, U+2066–U+2069) and the zero-width characters (U+200B–U+200D, U+2060,
U+FEFF), and puts the rest in Unicode's composed form (NFC). A line break is one character,
"\n", as a maximum length counts it in the browser (which sends "\r\n").

It is applied at two depths, so that no path around a form keeps such text:

- the form field (`web.forms.CleanCharField`, and `clean_text_formfield` for the text
  fields of a ModelForm): every free-text field of the citizens' forms and the staff's
  forms, so that a length is counted, and an error shown, on the text as it will be stored;
- the model (`CleanTextMixin`): the models that hold free text clean their text fields
  when they are validated (full_clean, as the services do) and when they are saved, so
  the admin, a service called from a command and any later API store clean text too.
"""

import re
import unicodedata

INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")
LINE_BREAK = re.compile("\r\n?")


def clean_text(value: str) -> str:
    """`value` without bidirectional controls and zero-width characters, its line breaks
    "\n", in NFC."""
    return unicodedata.normalize("NFC", LINE_BREAK.sub("\n", INVISIBLE.sub("", value)))


class CleanTextMixin:
    """A model whose `clean_text_fields` hold free text: cleaned (clean_text) before its
    fields are validated and before it is saved."""

    clean_text_fields: tuple[str, ...] = ()

    def clean_text_values(self) -> None:
        for name in self.clean_text_fields:
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, clean_text(value))

    def clean_fields(self, exclude=None):
        self.clean_text_values()
        super().clean_fields(exclude=exclude)

    def save(self, *args, **kwargs):
        self.clean_text_values()
        super().save(*args, **kwargs)
