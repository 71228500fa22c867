"""Governance: geography, organisations, roles, scope policy, audit log."""

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _

# The admin shows the models of these packages to managers; their own names are English
# (or, for the TOTP devices, not translatable at all). Dutch names, with English in the
# catalogue: app label → (app name, {model name: (singular, plural)}).
THIRD_PARTY_NAMES = {
    "axes": (
        _("Inlogbeveiliging"),
        {
            "accessattempt": (_("mislukte inlogpoging"), _("mislukte inlogpogingen")),
            "accessfailurelog": (_("inlogfout"), _("inlogfouten")),
            "accesslog": (_("inlogregistratie"), _("inlogregistraties")),
            "accessattemptexpiration": (
                _("verloop van een inlogpoging"),
                _("verloop van inlogpogingen"),
            ),
        },
    ),
    "otp_totp": (
        _("Tweede factor"),
        {"totpdevice": (_("authenticator-app"), _("authenticator-apps"))},
    ),
    "django_q": (
        _("Achtergrondtaken"),
        {
            "task": (_("taak"), _("taken")),
            "success": (_("geslaagde taak"), _("geslaagde taken")),
            "failure": (_("mislukte taak"), _("mislukte taken")),
            "schedule": (_("geplande taak"), _("geplande taken")),
            "ormq": (_("taak in de wachtrij"), _("taken in de wachtrij")),
        },
    ),
}


def name_third_party_apps(names: dict = THIRD_PARTY_NAMES) -> None:
    """Give the other packages' apps and models shown in the admin their Dutch names. Only
    the names shown change: `original_attrs`, which migrations read, keep theirs."""
    for label, (app_name, models) in names.items():
        if label not in apps.app_configs:
            continue
        app_config = apps.get_app_config(label)
        app_config.verbose_name = app_name
        for model_name, (singular, plural) in models.items():
            opts = app_config.get_model(model_name)._meta
            opts.verbose_name, opts.verbose_name_plural = singular, plural


class GovernanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.governance"
    label = "governance"
    verbose_name = _("Organisaties en gebieden")

    def ready(self):
        name_third_party_apps()
        from . import report_channels, reporting, retention  # noqa: F401 (registers rules)

        reporting.register(report_channels.COLLECTOR)
