"""Mobile numbers: Dutch, Belgian and German mobiles in, everything else out."""

import pytest
from django.core.exceptions import ValidationError

from apps.participants.phones import display, parse_mobile


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("06 12345678", "+31612345678"),
        ("06-1234 5678", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("+32 470 12 34 56", "+32470123456"),
        ("+49 151 23456789", "+4915123456789"),
        ("0049 171 2345678", "+491712345678"),
        ("(06) 12.34.56.78", "+31612345678"),
        ("06/12345678", "+31612345678"),
        ("06\u00a012345678", "+31612345678"),  # a no-break space, pasted from a web page
    ],
)
def test_it_accepts_dutch_belgian_and_german_mobiles_in_e164(raw, e164):
    assert parse_mobile(raw) == e164


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid"),
        ("hallo", "invalid"),
        ("06 123", "invalid"),
        ("+31 6 1234567890123", "invalid"),
        ("030 123 4567", "not_mobile"),  # Utrecht landline
        ("+32 2 555 12 12", "not_mobile"),  # Brussels landline
        ("+49 30 1234567", "not_mobile"),  # Berlin landline
        ("0800 0011", "not_mobile"),  # toll free
        ("0900 1234567", "premium"),
        ("+49 900 1234567", "premium"),
        ("+33 6 12 34 56 78", "country"),  # French mobile
        ("+1 202 555 0143", "country"),  # United States
        ("+44 7400 123456", "country"),  # British mobile
        # Anything after (or before) the number is an error, not dropped:
        ("0612345678x", "invalid"),
        ("0612345678 x", "invalid"),
        ("06 12345678 ext. 12", "invalid"),
        ("0612345678;ext=1", "invalid"),
        ("0612345678#", "invalid"),
        ("a0612345678", "invalid"),
        ("tel:+31612345678", "invalid"),
        ("06 1234 5678 + 1", "invalid"),
        ("０６１２３４５６７８", "invalid"),  # full-width digits
        ("0612345678\u200b", "invalid"),  # a zero-width space
        # 097: Dutch machine-to-machine numbers, mobile to phonenumbers, not to Burgernet.
        ("097012345678", "machine"),
        ("+31 970 1234 5678", "machine"),
    ],
)
def test_it_refuses_other_numbers_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as caught:
        parse_mobile(raw)
    assert caught.value.code == code


def test_it_displays_dutch_numbers_nationally_and_others_internationally():
    assert display("+31612345678") == "06 12345678"
    assert display("+32470123456") == "+32 470 12 34 56"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("", ""), ("   ", ""), (" 06 12345678 ", "+31612345678"), ("030 123 4567", "+31301234567")],
)
def test_a_callback_number_may_be_left_out_or_be_a_fixed_line(raw, e164):
    from apps.participants.phones import optional_callback_number

    assert optional_callback_number(raw) == e164


def test_a_callback_number_is_not_a_premium_number():
    from apps.participants.phones import MSG_CALLBACK_PREMIUM, optional_callback_number

    with pytest.raises(ValidationError) as refused:
        optional_callback_number("0900 1234567")
    assert refused.value.messages == [str(MSG_CALLBACK_PREMIUM)]


def test_it_says_why_a_097_number_cannot_register():
    from apps.participants.phones import MSG_MACHINE

    with pytest.raises(ValidationError) as refused:
        parse_mobile("0970 1234 5678")
    assert refused.value.messages == [str(MSG_MACHINE)]
    assert "097" in str(MSG_MACHINE)


@pytest.mark.parametrize("raw", ["0612345678x", "030 123 4567 toestel 12", "030-1234567#"])
def test_a_callback_number_has_nothing_after_it_either(raw):
    from apps.participants.phones import MSG_CALLBACK_INVALID, optional_callback_number

    with pytest.raises(ValidationError) as refused:
        optional_callback_number(raw)
    assert refused.value.messages == [str(MSG_CALLBACK_INVALID)]
