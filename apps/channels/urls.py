"""The e-mail services' tracking webhooks: anymail's URLs and names ("anymail:…"), each
answering only when its service is the configured one and the webhook secret is set
(webhooks.only_when_configured). Inbound mail is not used: its URLs are left out."""

from anymail import urls as anymail_urls
from django.urls import URLPattern

from .webhooks import only_when_configured

app_name = "anymail"


def _service(name: str) -> str:
    """The service a webhook's URL name belongs to ("postmark_tracking_webhook": postmark;
    Mandrill's combined "mandrill_webhook": mandrill)."""
    return name.removesuffix("_webhook").removesuffix("_tracking")


urlpatterns = [
    URLPattern(
        pattern.pattern,
        only_when_configured(_service(pattern.name), pattern.callback),
        pattern.default_args,
        pattern.name,
    )
    for pattern in anymail_urls.urlpatterns
    if "inbound" not in pattern.name
]
