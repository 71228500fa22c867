"""Kanaalinstellingen: managers set which channels are used, for which messages, and the
ceiling schedule of each (the data and the rule that reads it: apps/channels/models.py and
apps/channels/plan.py); and send a test message on a channel to themselves.

Every verb here asks the policy first — channel settings hold for the whole country, so
only a manager with a nationwide scope may change them — and leaves an audit entry.
"""

from dataclasses import dataclass
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.channels import plan
from apps.channels.models import PUBLIC_CHANNELS, CeilingStep, Channel, ChannelSetting
from apps.channels.senders import base as senders_base

from . import audit
from .policy import Scope, require

VERB = "settings.manage"


def _require_manager(by) -> None:
    require(by, VERB, Scope.nation())


@dataclass(frozen=True)
class ChannelOverview:
    """One channel as the settings screen shows it: its setting, the ceiling in force
    today and the next step of its schedule."""

    setting: ChannelSetting
    today: CeilingStep | None
    next_step: CeilingStep | None
    steps: list


def channel_overview(*, by, on: date | None = None) -> list[ChannelOverview]:
    _require_manager(by)
    on = on or plan.local_date(timezone.now())
    settings = plan.settings_by_channel()
    in_force = plan.steps_in_force(on)
    steps = list(CeilingStep.objects.order_by("channel", "starts_on"))
    rows = []
    for channel in Channel.values:
        mine = [step for step in steps if step.channel == channel]
        upcoming = [step for step in mine if step.starts_on > on]
        rows.append(
            ChannelOverview(
                setting=settings[channel],
                today=in_force.get(channel),
                next_step=upcoming[0] if upcoming else None,
                steps=mine,
            )
        )
    return rows


def channel_setting_update(
    *, by, channel: str, state: str, urgencies: list[str], kinds: list[str], note: str = ""
) -> ChannelSetting:
    """Pause, resume or retire a channel, and set what it carries. A retired channel
    stays retired: it is kept for history, never used again."""
    _require_manager(by)
    if channel not in Channel.values:
        raise ValidationError(_("Onbekend kanaal."))
    with transaction.atomic():
        setting = ChannelSetting.objects.select_for_update().filter(channel=channel).first()
        if setting is None:
            setting = ChannelSetting(channel=channel, **plan.DEFAULTS[channel])
        if setting.pk and setting.state == ChannelSetting.State.RETIRED and state != setting.state:
            raise ValidationError(
                {"state": _("Een uitgefaseerd kanaal blijft uitgefaseerd.")}, code="retired"
            )
        before = {"state": setting.state, "urgencies": setting.urgencies, "kinds": setting.kinds}
        setting.state = state
        setting.urgencies = sorted(set(urgencies))
        setting.kinds = sorted(set(kinds))
        setting.note = note.strip()
        setting.full_clean(exclude=["channel"] if setting.pk else None)
        setting.save()
        after = {"state": setting.state, "urgencies": setting.urgencies, "kinds": setting.kinds}
        audit.record(
            verb="channel.changed",
            actor=by,
            target=setting,
            detail={"before": before, "after": after},
        )
    return setting


def ceiling_add(
    *,
    by,
    channel: str,
    starts_on: date,
    max_recipients: int | None,
    amber_exempt: bool = False,
    note: str = "",
) -> CeilingStep:
    """A step in a channel's ceiling schedule, in force from `starts_on` until the next.
    A step that would change the past (a day before today) is refused: what was sent
    under a ceiling stays explained by it."""
    _require_manager(by)
    if channel in PUBLIC_CHANNELS:
        raise ValidationError(
            _("Dit kanaal bereikt niemand één voor één en heeft geen plafond."), code="public"
        )
    today = plan.local_date(timezone.now())
    if starts_on < today:
        raise ValidationError(
            {"starts_on": _("Een plafond gaat vandaag of later in, niet in het verleden.")}
        )
    step = CeilingStep(
        channel=channel,
        starts_on=starts_on,
        max_recipients=max_recipients,
        amber_exempt=amber_exempt,
        note=note.strip(),
    )
    step.full_clean()
    with transaction.atomic():
        step.save()
        audit.record(
            verb="ceiling.added",
            actor=by,
            target=step,
            detail={"max_recipients": max_recipients, "amber_exempt": amber_exempt},
        )
    return step


def ceiling_remove(*, by, step: CeilingStep) -> None:
    """Take back a step that has not yet gone in (a step in force or past is history)."""
    _require_manager(by)
    if step.starts_on <= plan.local_date(timezone.now()):
        raise ValidationError(_("Een plafond dat al geldt of gold, blijft in het schema."))
    with transaction.atomic():
        audit.record(verb="ceiling.removed", actor=by, target=step)
        step.delete()


def test_message_send(*, by, channel: str) -> str:
    """Send a test message on `channel` to the manager's own number (SMS, voice) or
    e-mail address, at once and past the outbox (a test shows the gateway's answer now);
    returns the provider's id. Raises ValidationError with the reason when it fails.
    Web push is tested on the web app of one's own device: participants' staff_device_test,
    which knows the devices."""
    _require_manager(by)
    text = _("Burgernet: testbericht op het kanaal %(channel)s. U hoeft niets te doen.") % {
        "channel": Channel(channel).label
    }
    try:
        if channel in (Channel.SMS, Channel.VOICE):
            to = _own_phone(by)
            if channel == Channel.SMS:
                from apps.channels.senders.sms import send_sms

                provider_id = send_sms(to, text)
            else:
                from apps.channels.senders.voice import call

                provider_id = call(to, text)
        elif channel == Channel.EMAIL:
            if not by.email:
                raise ValidationError(_("Uw account heeft geen e-mailadres."))
            from django.core.mail import send_mail

            try:
                send_mail(_("Burgernet: testbericht"), text, None, [by.email])
            except Exception as exc:  # the e-mail service's own errors (SMTP, anymail)
                raise senders_base.SendError(type(exc).__name__, transient=True) from None
            provider_id = "email"
        else:
            raise ValidationError(_("Test web push met de knop op het scherm van dit kanaal."))
    except senders_base.SendError as exc:
        audit.record(
            verb="channel.test_failed", actor=by, detail={"channel": channel, "error": str(exc)}
        )
        raise ValidationError(
            _("De gateway weigerde het testbericht: %(error)s") % {"error": exc}
        ) from None
    audit.record(verb="channel.tested", actor=by, detail={"channel": channel})
    return provider_id


def _own_phone(user) -> str:
    raw = (getattr(user, "phone", "") or "").strip()
    if not raw:
        raise ValidationError(
            _("Vul eerst uw eigen mobiele nummer in bij uw gegevens (Beheer → medewerkers).")
        )
    try:
        number = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Uw eigen nummer is geen geldig telefoonnummer.")) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Uw eigen nummer is geen geldig telefoonnummer."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
