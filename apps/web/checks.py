"""Deployment checks of the web plumbing (`manage.py check --deploy`): the rate limits and
the client's address need a shared cache and a sound proxy configuration."""

import ipaddress

from django.conf import settings
from django.core.checks import Error, Warning


def check_deployment(app_configs=None, **kwargs) -> list:
    problems = []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if not settings.DEBUG and not settings.CACHE_IS_SHARED:
        problems.append(
            Warning(
                f"The default cache is {backend.rsplit('.', 1)[-1]}: each web process counts "
                "the rate limits alone (and DummyCache not at all), sessions stay in the "
                "database only, and a region's municipalities are asked for on every request.",
                hint="Set CACHE_URL to a cache the web processes share (Redis).",
                id="web.W001",
            )
        )
    for network in settings.PROXY_NETWORKS:
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            problems.append(
                Error(
                    f"PROXY_NETWORKS holds {network!r}, which is not a network.",
                    hint="Give addresses or networks, e.g. 10.0.0.0/8,127.0.0.1.",
                    id="web.E001",
                )
            )
    return problems
