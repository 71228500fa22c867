"""Web: the plumbing under every app; as an app only for its deployment checks."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "apps.web"
    label = "web"
    verbose_name = "Web"

    def ready(self):
        from django.core import checks

        from .checks import check_deployment

        checks.register(check_deployment, checks.Tags.security, deploy=True)
