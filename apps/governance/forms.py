"""Forms of the staff screens: log-in with password and authenticator code."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services, totp


class StaffLoginForm(AuthenticationForm):
    """Username, password and the code from the authenticator app, in one form.

    The password is checked first (through authenticate() with the request, so
    django-axes counts failures); then the code against the user's TOTP devices. After a
    failed validation `failure_reason` says why, for the audit trail, and `user_for_audit`
    names the user when the password was right.
    """

    otp_token = forms.CharField(
        label=_("Code uit de authenticator-app"),
        help_text=_("De zescijferige code die de app nu toont."),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )

    error_messages = {
        "invalid_login": _(
            "Gebruikersnaam of wachtwoord is onjuist. Let op hoofdletters en kleine letters."
        ),
        "inactive": _("Dit account is niet actief."),
        "wrong_code": _("De code is onjuist of verlopen. Vul de code in die de app nu toont."),
        "throttled": _("Te veel onjuiste codes achter elkaar. Wacht even en probeer het opnieuw."),
        "no_device": _(
            "Voor dit account is nog geen authenticator-app ingesteld. "
            "Vraag een beheerder om die in te stellen."
        ),
        "not_digits": _("De code bestaat alleen uit cijfers."),
    }

    def __init__(self, request=None, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("Gebruikersnaam")
        self.fields["password"].label = _("Wachtwoord")
        self.fields["otp_token"].required = settings.STAFF_OTP_REQUIRED
        if not settings.STAFF_OTP_REQUIRED:
            self.fields["otp_token"].help_text = _(
                "Niet verplicht: de tweede stap staat uit (alleen bij ontwikkeling)."
            )
        self.device = None
        self.failure_reason = ""
        self.user_for_audit = None

    def clean_otp_token(self):
        token = "".join(self.cleaned_data["otp_token"].split())
        if token and not token.isdigit():
            raise ValidationError(self.error_messages["not_digits"], code="not_digits")
        return token

    def clean(self):
        try:
            cleaned = super().clean()
        except ValidationError:
            self.failure_reason = "credentials"
            raise
        user = self.user_cache
        if user is None or "otp_token" not in cleaned:
            # A field is missing or invalid; its own error says so.
            self.failure_reason = self.failure_reason or "incomplete"
            return cleaned
        token = cleaned["otp_token"]
        if not token and not settings.STAFF_OTP_REQUIRED:
            return cleaned
        result, self.device = totp.verify(user, token)
        if result != totp.VerifyResult.OK:
            self.failure_reason = f"code_{result}"
            self.user_for_audit = user
            if result in (totp.VerifyResult.WRONG, totp.VerifyResult.THROTTLED):
                services.second_factor_failed(request=self.request, username=user.get_username())
            code = "wrong_code" if result == totp.VerifyResult.WRONG else result
            self.add_error("otp_token", ValidationError(self.error_messages[code], code=code))
        return cleaned
