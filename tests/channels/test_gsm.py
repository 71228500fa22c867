"""SMS texts counted as phones count them: GSM-7 and UCS-2 parts, the two-septet extension
characters and surrogate pairs never split, and GSM-7 equivalents for typography."""

import pytest

from apps.channels import gsm


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),
        ("ş" * 70, 1),  # one character outside GSM-7: the whole text is UCS-2
        ("ş" * 71, 2),
        ("ş" * 134, 2),
        ("ş" * 135, 3),
        ("a" * 69 + "😀", 2),  # an emoji is two UTF-16 units: 71 > 70
    ],
)
def test_it_counts_parts_as_phones_do(text, parts):
    assert gsm.segments(text).parts == parts


def test_an_extension_character_is_not_split_over_two_parts():
    # 152 + € (2 septets) + 152 = 306 septets, which a plain division puts in 2 parts; the
    # escape pair cannot straddle the first part's end, so it takes 3.
    text = "a" * 152 + "€" + "a" * 152
    counted = gsm.segments(text)
    assert (counted.encoding, counted.units, counted.parts) == ("gsm7", 306, 3)


def test_a_surrogate_pair_is_not_split_over_two_parts():
    text = "ş" * 66 + "😀" + "ş" * 66  # 134 units; the pair would straddle unit 67
    assert gsm.segments(text).parts == 3


def test_one_character_outside_the_alphabet_makes_the_whole_text_ucs2():
    text = "Vermist kind, meisje (8)… Bel 0800-0011"
    assert gsm.segments(text).encoding == "ucs2"
    assert gsm.segments(gsm.to_gsm7(text)).encoding == "gsm7"


@pytest.mark.parametrize(
    ("text", "gsm7"),
    [
        ("Gezien…", "Gezien..."),
        ("‘rode’ jas, “blauw”", "'rode' jas, \"blauw\""),
        ("10–12 jaar — lang", "10-12 jaar - lang"),
        ("1,80\u00a0m", "1,80 m"),
        ("België, Zoë, Fürth, Brüssel", "Belgie, Zoe, Fürth, Brüssel"),  # ü is GSM-7
        ("café, señor, à la", "café, señor, à la"),  # all GSM-7 already
        ("garçon", "garcon"),
    ],
)
def test_typography_and_foreign_accents_get_their_gsm7_equivalent(text, gsm7):
    assert gsm.to_gsm7(text) == gsm7
    assert gsm.is_gsm7(gsm.to_gsm7(text))


def test_a_script_without_equivalents_is_left_as_the_reader_wrote_it():
    text = "مفقود طفل 😀"
    assert gsm.to_gsm7(text) == text
    assert gsm.segments(text).encoding == "ucs2"


def test_fits_names_the_limit_in_parts():
    assert gsm.fits("a" * 459, 3)
    assert not gsm.fits("a" * 460, 3)
    assert not gsm.fits("a" * 201 + "…", 3)  # UCS-2: 202 units need 4 parts of 67
    assert gsm.fits(gsm.to_gsm7("a" * 201 + "…"), 3)  # GSM-7: 204 septets, 2 parts
