"""SMS text as phones count it: the GSM 03.38 alphabet, its segments, and GSM-7 equivalents.

An SMS of GSM-7 characters holds 160 of them in one part and 153 per part once it needs
more (7 septets go to the header that joins the parts). One character outside that
alphabet turns the whole message into UCS-2: 70 characters in one part, 67 per part. The
extension characters (€, [, ], {, }, |, ^, ~, \\ and form feed) take two septets, an
escape and the character, and phones never split such a pair over two parts; nor do they
split a UTF-16 surrogate pair. `segments()` counts as they do.

`to_gsm7()` replaces what would force UCS-2 where the alphabet has an equivalent that
reads the same: typographic quotes and dashes, the ellipsis, non-breaking and other
spaces, and accented Latin letters the alphabet lacks (België → Belgie, as phones that
cannot show ë write it). A text that still holds other characters (Arabic, Chinese,
emoji) stays UCS-2: it is the reader's language, not a typo.
"""

import unicodedata
from dataclasses import dataclass

# The GSM 03.38 default alphabet (one septet each), without the escape itself.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: an escape septet and the character.
EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(BASIC)
_EXTENSION = frozenset(EXTENSION)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Typographic characters and their GSM-7 equivalents.
_REPLACEMENTS = {
    "\u2026": "...",  # …
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2022": "-",
    "\u00a0": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
    "\u00b7": ".",
    "\u00d7": "x",
}


@dataclass(frozen=True)
class Segments:
    """How a text goes out: `encoding` "gsm7" or "ucs2", `units` (septets or UTF-16 code
    units), `parts` (SMS segments), and how many units each part holds."""

    encoding: str
    units: int
    parts: int
    per_part: int


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def to_gsm7(text: str) -> str:
    """`text` with what forces UCS-2 replaced by its GSM-7 equivalent where one exists."""
    out = []
    for ch in text:
        if ch in _BASIC or ch in _EXTENSION:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        else:
            out.append(_fold(ch))
    return "".join(out)


def _fold(ch: str) -> str:
    """A Latin letter with a mark the alphabet lacks, as its base letter (ë → e); any other
    character as it is."""
    base = unicodedata.normalize("NFD", ch)[0]
    if base != ch and base.isascii() and base.isalpha():
        return base
    return ch


def segments(text: str) -> Segments:
    """The parts `text` takes as an SMS, counted as phones count them."""
    if is_gsm7(text):
        units = [2 if ch in _EXTENSION else 1 for ch in text]
        return _pack(units, "gsm7", GSM7_SINGLE, GSM7_PART)
    # UTF-16: a character beyond the basic plane (an emoji) is a surrogate pair.
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return _pack(units, "ucs2", UCS2_SINGLE, UCS2_PART)


def _pack(units: list[int], encoding: str, single: int, per_part: int) -> Segments:
    total = sum(units)
    if total <= single:
        return Segments(encoding, total, 1 if total else 0, single)
    parts, used = 1, 0
    for size in units:  # a pair that does not fit starts the next part whole
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return Segments(encoding, total, parts, per_part)


def fits(text: str, max_parts: int) -> bool:
    return segments(text).parts <= max_parts
