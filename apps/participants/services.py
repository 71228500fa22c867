"""Verbs on participants: register, confirm, manage, delete.

Views, the admin and the demo call these; each validates before it writes, writes in one
transaction, and records an audit entry that names the participant by id only. A citizen's
own actions are recorded without its IP address (that, too, is personal data).
A code or link goes by SMS through the outbox: its SMS is queued in the transaction that
makes it, and sent by the outbox workers once that has committed, not inside the request.
E-mail is sent after the transaction that made its link has committed. Service SMS
count against budgets (`sms_budget`): registering and asking for a new code raise
SmsBudgetExceeded when the number or the site has had its share, and nothing is written.
"""

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import time, timedelta
from enum import StrEnum

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from apps.governance import audit

from . import notices, schedule, tokens
from .geocoding import Location
from .models import (
    CODE_MAX_ATTEMPTS,
    CODE_VALID_FOR,
    MAX_ADDRESSES,
    MAX_WINDOWS_PER_ADDRESS,
    ActiveWindow,
    Address,
    Country,
    Language,
    ManageLink,
    Participant,
    PhoneCode,
)
from .sms_budget import SmsBudgetExceeded

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowInput:
    days: int  # bitmask, see schedule.py
    start: time
    end: time


@dataclass(frozen=True)
class AddressInput:
    label: str
    country: str
    postcode: str
    house_number: int
    location: Location
    house_number_suffix: str = ""
    always_active: bool = True
    windows: tuple[WindowInput, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EmailInput:
    email: str
    postcode: str
    location: Location


@dataclass(frozen=True)
class Preferences:
    """How a participant wants to be reached: its channels, its quiet hours and the
    language it reads. Each is a field of the participant by the same name. An empty
    `language` is no choice: registering chooses it by the number and the addresses
    (language_for), changing the preferences keeps the one the participant has."""

    wants_sms: bool = True
    wants_voice: bool = False
    wants_email: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None
    language: str = ""

    @classmethod
    def of(cls, participant: Participant) -> "Preferences":
        """The preferences a participant has now."""
        return cls(**{f.name: getattr(participant, f.name) for f in fields(cls)})

    @classmethod
    def from_data(cls, data: Mapping) -> "Preferences":
        """The preferences in a form's cleaned data (a key per field)."""
        return cls(**{f.name: data[f.name] for f in fields(cls)})

    def as_fields(self) -> dict:
        """The participant's fields and their values."""
        return asdict(self)


class LinkUsed(tokens.InvalidToken):
    """A manage link that was already opened once."""


class CodeResult(StrEnum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    LOCKED = "locked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class CodeCheck:
    result: CodeResult
    attempts_left: int = 0
    participant: Participant | None = None


# --- validation shared with the forms ---------------------------------------------------

MSG_TOO_MANY_ADDRESSES = _("U kunt hoogstens %(max)s adressen opgeven.")
MSG_NO_ADDRESS = _("Vul minstens één adres in.")
MSG_TOO_MANY_WINDOWS = _("Per adres kunt u hoogstens %(max)s tijdvakken kiezen.")
MSG_NO_WINDOW = _("Kies minstens één tijdvak, of kies ‘altijd actief’.")
MSG_OVERLAP = _("Tijdvak %(first)s en tijdvak %(second)s overlappen elkaar. Pas een van beide aan.")
MSG_EQUAL_TIMES = _("Het begin en het einde mogen niet hetzelfde zijn.")
MSG_NO_CHANNEL = _("Kies minstens één manier om berichten te ontvangen.")
MSG_EMAIL_NEEDED = _("Vul uw e-mailadres in om berichten per e-mail te krijgen.")
MSG_QUIET_BOTH = _("Vul bij stille uren zowel het begin als het einde in.")
MSG_LANGUAGE = _("Kies een van de talen uit de lijst.")
MSG_LAST_ADDRESS = _("U moet minstens één adres houden. Wilt u geen berichten meer? Meld u dan af.")


def validate_windows(windows: Sequence[WindowInput]) -> None:
    if len(windows) > MAX_WINDOWS_PER_ADDRESS:
        raise ValidationError(
            MSG_TOO_MANY_WINDOWS, code="too_many_windows", params={"max": MAX_WINDOWS_PER_ADDRESS}
        )
    for window in windows:
        if not 1 <= window.days <= schedule.ALL_DAYS:
            raise ValidationError(_("Kies minstens één dag."), code="no_days")
        if window.start == window.end:
            raise ValidationError(MSG_EQUAL_TIMES, code="equal_times")
    overlap = schedule.first_overlap([(w.days, w.start, w.end) for w in windows])
    if overlap:
        raise ValidationError(
            MSG_OVERLAP, code="overlap", params={"first": overlap[0] + 1, "second": overlap[1] + 1}
        )


def validate_address(address: AddressInput) -> None:
    if not address.always_active and not address.windows:
        raise ValidationError(MSG_NO_WINDOW, code="no_window")
    validate_windows(address.windows if not address.always_active else ())


def validate_preferences(preferences: Preferences, *, has_email: bool) -> None:
    if not (preferences.wants_sms or preferences.wants_voice or preferences.wants_email):
        raise ValidationError(MSG_NO_CHANNEL, code="no_channel")
    if preferences.wants_email and not has_email:
        raise ValidationError(MSG_EMAIL_NEEDED, code="email_needed")
    if (preferences.quiet_start is None) != (preferences.quiet_end is None):
        raise ValidationError(MSG_QUIET_BOTH, code="quiet_both")
    if preferences.quiet_start is not None and preferences.quiet_start == preferences.quiet_end:
        raise ValidationError(MSG_EQUAL_TIMES, code="equal_times")
    if preferences.language and preferences.language not in Language.values:
        raise ValidationError(MSG_LANGUAGE, code="language")


# Belgian postcodes by the language spoken there: Brussels, Walloon Brabant and Wallonia
# French; the German-speaking Community (Eupen, Kelmis, Raeren, Sankt Vith …) German;
# Flanders (1500–3999, 8000–9999) Dutch.
BELGIAN_POSTCODE_LANGUAGES = (
    (1000, 1499, Language.FR),
    (4700, 4799, Language.DE),
    (4000, 7999, Language.FR),
)


def _place_language(country: str, postcode: str) -> str:
    """The language spoken at an address: German in Germany, by the postcode in Belgium,
    Dutch in the Netherlands."""
    if country == Country.DE:
        return Language.DE
    if country == Country.BE:
        digits = "".join(ch for ch in postcode if ch.isdigit())
        number = int(digits) if digits else 0
        for low, high, language in BELGIAN_POSTCODE_LANGUAGES:
            if low <= number <= high:
                return language
    return Language.NL


def language_for(*, phone: str, addresses: Sequence[AddressInput] = ()) -> str:
    """The language a new participant reads, when it chose none (its choice always wins):

    1. an address abroad speaks for itself: the language of its place (the first one
       given) — German in Germany; in Belgium French in Wallonia and Brussels, German in
       the German-speaking Community (postcodes 4700–4799), Dutch in Flanders;
    2. otherwise the number: a German number (+49) German, a Belgian one (+32) French;
    3. otherwise Dutch.

    The participant sees the language on its preferences page and may change it there.
    """
    for address in addresses:
        if address.country != Country.NL:
            return _place_language(address.country, address.postcode)
    if phone.startswith("+49"):
        return Language.DE
    if phone.startswith("+32"):
        return Language.FR
    return Language.NL


# --- registration -------------------------------------------------------------------------


def participant_register(
    *,
    phone: str,
    addresses: Sequence[AddressInput],
    preferences: Preferences,
    email: EmailInput | None = None,
) -> str:
    """Register a number and send it a code; return the token of the code-entry page.

    A number that is already registered and confirmed is left as it is: it is sent a
    manage link instead, and the visitor gets a code page like any other, so the answer
    does not tell whether the number was known (within the SMS budgets: SmsBudgetExceeded
    otherwise, for a known number as for a new one). An earlier registration that was never
    confirmed is replaced (only whoever holds the phone can confirm either).
    """
    if not addresses:
        raise ValidationError(MSG_NO_ADDRESS, code="no_address")
    if len(addresses) > MAX_ADDRESSES:
        raise ValidationError(
            MSG_TOO_MANY_ADDRESSES, code="too_many_addresses", params={"max": MAX_ADDRESSES}
        )
    for address in addresses:
        validate_address(address)
    validate_preferences(preferences, has_email=email is not None)

    try:
        with transaction.atomic():
            existing = Participant.objects.select_for_update().filter(phone=phone).first()
            if existing is not None and existing.is_confirmed:
                notices.send_already_registered(
                    participant=existing, token=_new_manage_link(existing)
                )
                return tokens.make_phone_token(uuid.uuid4())
            if existing is not None:
                existing.delete()
            chosen = preferences.as_fields()
            chosen["language"] = preferences.language or language_for(
                phone=phone, addresses=addresses
            )
            participant = Participant.objects.create(phone=phone, **chosen, **_email_fields(email))
            for address in addresses:
                _create_address(participant, address)
            _send_new_code(participant, new=True)
    except IntegrityError:
        # The same number registered at the same moment by another request: that one
        # proceeds; this one ends on a code page that can confirm nothing.
        return tokens.make_phone_token(uuid.uuid4())
    return tokens.make_phone_token(participant.ref)


def _email_fields(email: EmailInput | None) -> dict:
    if email is None:
        return {
            "email": "",
            "email_postcode": "",
            "email_lat": None,
            "email_lon": None,
            "email_municipality": None,
            "email_confirmed_at": None,
            "email_suppressed_at": None,
            "email_suppressed_reason": "",
        }
    return {
        "email": email.email,
        "email_postcode": email.postcode,
        "email_lat": email.location.lat,
        "email_lon": email.location.lon,
        "email_municipality": email.location.municipality,
    }


def _create_address(participant: Participant, data: AddressInput) -> Address:
    address = Address.objects.create(participant=participant, **_address_fields(data))
    _replace_windows(address, data, new=True)
    return address


def _address_fields(data: AddressInput) -> dict:
    return {
        "label": data.label,
        "country": data.country,
        "postcode": data.postcode,
        "house_number": data.house_number,
        "house_number_suffix": data.house_number_suffix,
        "lat": data.location.lat,
        "lon": data.location.lon,
        "municipality": data.location.municipality,
        "always_active": data.always_active,
    }


def _replace_windows(address: Address, data: AddressInput, *, new: bool = False) -> None:
    """The address's windows become `data`'s (a `new` address has none to delete)."""
    if not new:
        address.windows.all().delete()
    if not data.always_active:
        ActiveWindow.objects.bulk_create(
            ActiveWindow(address=address, days=w.days, start=w.start, end=w.end)
            for w in data.windows
        )


def _send_new_code(participant: Participant, *, new: bool = False) -> None:
    """Replace the participant's code by a new one and queue its SMS, to go before the
    code expires or not at all (in the caller's transaction). A `new` participant has no
    code to replace."""
    if not new:
        PhoneCode.objects.filter(participant=participant).delete()
    code = PhoneCode.new_code()
    phone_code = PhoneCode.for_participant(participant, code)
    phone_code.save()
    notices.send_code(participant=participant, code=code, expires_at=phone_code.expires_at)


# --- the SMS code -------------------------------------------------------------------------


def _pending(ref: uuid.UUID, *, lock: bool = False) -> Participant | None:
    """The registration `ref` that waits for its code, if any (locked, with `lock`)."""
    found = Participant.objects.filter(ref=ref, phone_confirmed_at__isnull=True)
    return (found.select_for_update() if lock else found).first()


def phone_for_ref(ref: uuid.UUID) -> str | None:
    """The number a pending registration waits on (for rate limits), or None."""
    participant = _pending(ref)
    return participant.phone if participant else None


def is_confirmed_ref(ref: uuid.UUID) -> bool:
    return Participant.objects.filter(ref=ref, phone_confirmed_at__isnull=False).exists()


def phone_confirm(*, ref: uuid.UUID, code: str) -> CodeCheck:
    """Check a code for the registration `ref`; confirm the number when it matches."""
    code = "".join(code.split())
    with transaction.atomic():
        participant = _pending(ref, lock=True)
        if participant is None:
            return _decoy_check(ref)
        phone_code = PhoneCode.objects.select_for_update().filter(participant=participant).first()
        if phone_code is None or phone_code.is_expired:
            return CodeCheck(CodeResult.EXPIRED)
        if phone_code.is_locked:
            return CodeCheck(CodeResult.LOCKED)
        if not phone_code.matches(code):
            phone_code.failed_attempts += 1
            phone_code.save(update_fields=["failed_attempts"])
            if phone_code.is_locked:
                return CodeCheck(CodeResult.LOCKED)
            return CodeCheck(CodeResult.WRONG, attempts_left=phone_code.attempts_left)
        participant.phone_confirmed_at = timezone.now()
        participant.save(update_fields=["phone_confirmed_at", "updated_at"])
        PhoneCode.objects.filter(participant=participant).delete()
        audit.record(verb="participant.confirmed", target=participant)
    if participant.email:
        notices.send_email_confirmation(participant=participant)
    return CodeCheck(CodeResult.CONFIRMED, participant=participant)


def _decoy_check(ref: uuid.UUID) -> CodeCheck:
    """The answer for a code page that belongs to no pending registration (a number that
    was already registered): wrong, then locked after as many tries as a real code."""
    key = f"participants:decoy-code:{ref}"
    cache.add(key, 0, timeout=int(CODE_VALID_FOR.total_seconds()))
    try:
        tries = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=int(CODE_VALID_FOR.total_seconds()))
        tries = 1
    if tries >= CODE_MAX_ATTEMPTS:
        return CodeCheck(CodeResult.LOCKED)
    return CodeCheck(CodeResult.WRONG, attempts_left=CODE_MAX_ATTEMPTS - tries)


def code_resend(*, ref: uuid.UUID) -> None:
    """Send a new code to a pending registration (the old one stops working).

    For a page that belongs to no pending registration nothing is sent, and the caller
    answers the same. Raises SmsBudgetExceeded when the number or the site has had its
    share of service SMS."""
    with transaction.atomic():
        participant = _pending(ref, lock=True)
        if participant is None:
            return
        _send_new_code(participant)


def _email_link_participant(token: str, *, lock: bool = False) -> Participant:
    ref, digest = tokens.read_email_token(token)
    found = Participant.objects.filter(ref=ref, phone_confirmed_at__isnull=False).exclude(email="")
    participant = (found.select_for_update() if lock else found).first()
    if participant is None or not constant_time_compare(
        tokens.email_digest(participant.email), digest
    ):
        raise tokens.InvalidToken
    return participant


def email_link_check(*, token: str) -> None:
    """Raise InvalidToken or ExpiredToken unless the e-mail link can be confirmed: also
    for a link to an address the participant has since changed or removed."""
    _email_link_participant(token)


def email_confirm(*, token: str) -> Participant:
    """Confirm the e-mail address a link was sent to (double opt-in); idempotent."""
    with transaction.atomic():
        participant = _email_link_participant(token, lock=True)
        if participant.email_confirmed_at is None or participant.email_suppressed_at:
            # Confirming again also lifts a block after a bounce, complaint or unsubscribe.
            participant.email_confirmed_at = timezone.now()
            participant.email_suppressed_at = None
            participant.email_suppressed_reason = ""
            participant.save(
                update_fields=[
                    "email_confirmed_at",
                    "email_suppressed_at",
                    "email_suppressed_reason",
                    "updated_at",
                ]
            )
            audit.record(
                verb="participant.changed", target=participant, detail={"part": "email_confirmed"}
            )
    return participant


# --- manage links -------------------------------------------------------------------------


def _new_manage_link(participant: Participant) -> str:
    cutoff = timezone.now() - timedelta(seconds=tokens.MANAGE_MAX_AGE_S)
    ManageLink.objects.filter(participant=participant, created_at__lt=cutoff).delete()
    ManageLink.objects.filter(participant=participant, used_at__isnull=False).delete()
    nonce = tokens.new_nonce()
    ManageLink.objects.create(participant=participant, nonce_hash=ManageLink.hash_nonce(nonce))
    return tokens.make_manage_token(nonce)


def manage_link_request(*, phone: str = "", email: str = "") -> None:
    """Send a manage link to a confirmed number, or to every registration whose confirmed
    e-mail address this is. Unknown or unconfirmed: nothing happens, silently."""
    if phone:
        with transaction.atomic():
            participant = Participant.objects.filter(
                phone=phone, phone_confirmed_at__isnull=False
            ).first()
            if participant:
                try:
                    with transaction.atomic():
                        notices.send_manage_link_sms(
                            participant=participant, token=_new_manage_link(participant)
                        )
                except SmsBudgetExceeded:
                    # Silently, like an unknown number: the answer must not tell.
                    logger.warning("manage link: no SMS, the service SMS budget is spent")
    if email:
        with transaction.atomic():
            found = list(
                Participant.objects.filter(
                    email=email.strip().lower(),
                    email_confirmed_at__isnull=False,
                    phone_confirmed_at__isnull=False,
                )
            )
            links = [(p.email, _new_manage_link(p)) for p in found]
        for address, token in links:
            notices.send_manage_link_email(email=address, token=token)


def _link_for(token: str) -> ManageLink:
    nonce = tokens.read_manage_token(token)
    link = (
        ManageLink.objects.select_related("participant")
        .filter(nonce_hash=ManageLink.hash_nonce(nonce))
        .first()
    )
    if link is None:
        raise tokens.InvalidToken
    return link


def manage_link_check(*, token: str) -> None:
    """Raise InvalidToken, ExpiredToken or LinkUsed unless the link can still be opened."""
    if _link_for(token).used_at is not None:
        raise LinkUsed


def manage_link_open(*, token: str) -> Participant:
    """Use a manage link (once); return its participant."""
    link = _link_for(token)
    used = ManageLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not used:
        raise LinkUsed
    return link.participant


# --- changes by the participant -----------------------------------------------------------


def _changed(participant: Participant, part: str) -> None:
    Participant.objects.filter(pk=participant.pk).update(updated_at=timezone.now())
    audit.record(verb="participant.changed", target=participant, detail={"part": part})


@transaction.atomic
def preferences_update(*, participant: Participant, preferences: Preferences) -> Participant:
    validate_preferences(preferences, has_email=bool(participant.email))
    for name, value in preferences.as_fields().items():
        if name == "language" and not value:
            continue  # no choice made: the language stays
        setattr(participant, name, value)
    participant.save()
    _changed(participant, "preferences")
    return participant


def email_suppress(
    *,
    participant_id: int,
    reason: str,
    address: str | None = None,
    verb: str = "participant.email_suppressed",
    detail: dict | None = None,
) -> bool:
    """Stop e-mail to a participant's address until they confirm it again: after a hard
    bounce, a complaint or an unsubscribe ("bounced", "complained", "unsubscribed").

    The one writer of the block: the e-mail services' webhooks (through the hook channels
    calls, see apps.py) and Burgernetmail's unsubscribe link come here. `address` is the
    address the report was about: when the participant has another address by now, that
    one is not blocked. An address already blocked keeps its first reason. Audited with
    the reason (and `detail`), never the address. True when this call blocked it.
    """
    now = timezone.now()
    with transaction.atomic():
        participant = Participant.objects.select_for_update().filter(pk=participant_id).first()
        if participant is None or not participant.email:
            return False
        if address is not None and participant.email.lower() != address.strip().lower():
            return False  # changed since: the new address is not the one reported
        changed = Participant.objects.filter(
            pk=participant.pk, email=participant.email, email_suppressed_at__isnull=True
        ).update(email_suppressed_at=now, email_suppressed_reason=reason, updated_at=now)
        if changed:
            audit.record(verb=verb, target=participant, detail={"reason": reason, **(detail or {})})
    return bool(changed)


def email_change(*, participant: Participant, email: EmailInput | None) -> Participant:
    """Set, change or remove the e-mail address; a new address is confirmed by a link
    first. Removing it also stops e-mail messages."""
    with transaction.atomic():
        same = email is not None and email.email.lower() == participant.email.lower()
        # A blocked address (bounce, complaint, unsubscribe) is confirmed again by a link.
        blocked = participant.email_suppressed_at is not None
        confirmed_at = participant.email_confirmed_at if same and not blocked else None
        for name, value in _email_fields(email).items():
            setattr(participant, name, value)
        participant.email_confirmed_at = confirmed_at
        if email is None:
            participant.wants_email = False
        participant.save()
        _changed(participant, "email")
    if email is not None and (not same or blocked):
        notices.send_email_confirmation(participant=participant)
    return participant


@transaction.atomic
def address_add(*, participant: Participant, data: AddressInput) -> Address:
    validate_address(data)
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    if participant.addresses.count() >= MAX_ADDRESSES:
        raise ValidationError(
            MSG_TOO_MANY_ADDRESSES, code="too_many_addresses", params={"max": MAX_ADDRESSES}
        )
    address = _create_address(participant, data)
    _changed(participant, "address_added")
    return address


@transaction.atomic
def address_update(*, address: Address, data: AddressInput) -> Address:
    validate_address(data)
    for name, value in _address_fields(data).items():
        setattr(address, name, value)
    address.save()
    _replace_windows(address, data)
    _changed(address.participant, "address_changed")
    return address


@transaction.atomic
def address_remove(*, address: Address) -> None:
    participant = address.participant
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    if participant.addresses.count() <= 1:
        raise ValidationError(MSG_LAST_ADDRESS, code="last_address")
    address.delete()
    _changed(participant, "address_removed")


@transaction.atomic
def participant_delete(*, participant: Participant, by=None, request=None) -> None:
    """Delete a registration with every row that belongs to it (addresses, windows, codes,
    links), at once. `by` is a staff user deleting through the admin; the audit entry
    names the participant by id only."""
    audit.record(
        verb="participant.deleted",
        actor=by,
        target=participant,
        request=request if by is not None else None,
        detail={"by": "staff" if by is not None else "participant"},
    )
    participant.delete()
