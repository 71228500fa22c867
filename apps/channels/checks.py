"""Deployment checks of the channels (`manage.py check --deploy`): with DEBUG off every
channel must really send, the e-mail service's tracking webhook must have its secret, and
push endpoints in our own network (the local push service of development) must be off."""

from django.conf import settings
from django.core.checks import Error

from .webhooks import configured_service, webhook_secret

# E-mail backends that send nothing anywhere (they print, keep or drop the mail).
DEV_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "anymail.backends.test.EmailBackend",
}
DEV_PHONE_BACKENDS = {"console", "locmem"}


def check_deployment(app_configs=None, **kwargs) -> list:
    problems = []
    if not settings.DEBUG:
        if settings.EMAIL_BACKEND in DEV_EMAIL_BACKENDS:
            problems.append(
                Error(
                    f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: no mail leaves the site.",
                    hint="Set EMAIL_BACKEND to an anymail service (README, E-mail).",
                    id="channels.E010",
                )
            )
        for setting in ("SMS_BACKEND", "VOICE_BACKEND"):
            if getattr(settings, setting) in DEV_PHONE_BACKENDS:
                problems.append(
                    Error(
                        f"{setting} is {getattr(settings, setting)!r}: nothing reaches a phone.",
                        hint=f"Set {setting}=http and its gateway (README).",
                        id="channels.E011" if setting == "SMS_BACKEND" else "channels.E012",
                    )
                )
    if configured_service() and not webhook_secret():
        problems.append(
            Error(
                f"The {configured_service()} tracking webhook has no secret: it answers no "
                "one, so bounces and complaints go unrecorded.",
                hint="Set ANYMAIL_WEBHOOK_SECRET (README, E-mail).",
                id="channels.E013",
            )
        )
    if settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS:
        problems.append(
            Error(
                "WEBPUSH_ALLOW_INSECURE_ENDPOINTS is on: pushes may go over http to loopback "
                "addresses (development and tests only).",
                hint="Leave WEBPUSH_ALLOW_INSECURE_ENDPOINTS unset in production.",
                id="channels.E014",
            )
        )
    return problems
