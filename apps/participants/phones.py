"""Phone numbers: participants' mobiles (Dutch, Belgian and German, in E.164), and the
numbers citizens leave to be called back on (a tip, a mailing response)."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberType

ALLOWED_REGIONS = ("NL", "BE", "DE")
DEFAULT_REGION = "NL"

MSG_INVALID = _("Dit is geen geldig telefoonnummer. Vul een mobiel nummer in, zoals 06 12345678.")
MSG_COUNTRY = _(
    "Alleen Nederlandse, Belgische en Duitse mobiele nummers kunnen zich aanmelden. "
    "Begin een Belgisch of Duits nummer met +32 of +49."
)
MSG_PREMIUM = _("Betaalnummers (zoals 0900-nummers) kunnen zich niet aanmelden.")
MSG_NOT_MOBILE = _(
    "Dit is geen mobiel nummer. Vaste nummers en servicenummers kunnen geen sms ontvangen; "
    "vul een mobiel nummer in."
)
MSG_MACHINE = _(
    "Een 097-nummer is voor apparaten (machine-to-machine) en kan zich niet aanmelden. "
    "Vul een mobiel nummer in, zoals 06 12345678."
)

# What people type around the digits of a number: spaces, dashes, dots, slashes, brackets
# and a leading plus. phonenumbers drops anything after the number ("0612345678x" would be
# +31612345678, "… ext. 12" an extension), so anything else is refused before it parses.
WRITTEN_NUMBER = re.compile(r"\+?[0-9\s().\-/]+")
# Dutch numbers for machines (097, machine-to-machine): phonenumbers calls them mobile,
# but they are data SIMs in meters and alarms, not phones of people.
MACHINE_PREFIX_NL = "97"


def parse_mobile(raw: str) -> str:
    """The number in E.164 form; ValidationError (code "invalid", "country", "premium",
    "not_mobile" or "machine") otherwise. A number without country code is read as Dutch;
    anything but digits and what people write between them (WRITTEN_NUMBER) is invalid."""
    number = _parse(raw)
    if phonenumbers.region_code_for_number(number) not in ALLOWED_REGIONS:
        raise ValidationError(MSG_COUNTRY, code="country")
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.PREMIUM_RATE:
        raise ValidationError(MSG_PREMIUM, code="premium")
    if kind != PhoneNumberType.MOBILE:
        raise ValidationError(MSG_NOT_MOBILE, code="not_mobile")
    if _is_machine(number):
        raise ValidationError(MSG_MACHINE, code="machine")
    return _e164(number)


def _parse(raw: str) -> phonenumbers.PhoneNumber:
    """A valid number, written as people write numbers; ValidationError "invalid" else."""
    text = (raw or "").strip()
    if not WRITTEN_NUMBER.fullmatch(text):
        raise ValidationError(MSG_INVALID, code="invalid")
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(MSG_INVALID, code="invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(MSG_INVALID, code="invalid")
    return number


def _is_machine(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.region_code_for_number(number) == "NL" and str(
        number.national_number
    ).startswith(MACHINE_PREFIX_NL)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The number as people write it: national form for Dutch, international otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == DEFAULT_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# Call-back numbers (tips and mailing responses) ----------------------------------------

MSG_CALLBACK_INVALID = _(
    "Dit is geen geldig telefoonnummer. Vul bijvoorbeeld 06 12345678 in, of laat het veld leeg."
)
MSG_CALLBACK_COUNTRY = _(
    "Vul een Nederlands, Belgisch of Duits nummer in. Begin een Belgisch of Duits nummer met "
    "+32 of +49."
)
MSG_CALLBACK_PREMIUM = _("Een betaalnummer (zoals een 0900-nummer) kan niet.")


def callback_number(raw: str) -> str:
    """The number in E.164 form: a Dutch, Belgian or German mobile or fixed line (the control
    room calls it back; it need not receive SMS), written as parse_mobile reads numbers."""
    try:
        return parse_mobile(raw)
    except ValidationError as exc:
        if exc.code in ("not_mobile", "machine"):
            return _e164(_parse(raw))
        message = {"country": MSG_CALLBACK_COUNTRY, "premium": MSG_CALLBACK_PREMIUM}
        raise ValidationError(message.get(exc.code, MSG_CALLBACK_INVALID), code=exc.code) from None


def optional_callback_number(raw: str) -> str:
    """A call-back number the citizen may leave out (a tip, an answer to a mailing): an
    empty field is no number (""), anything else must be a callback_number."""
    raw = (raw or "").strip()
    return callback_number(raw) if raw else ""
