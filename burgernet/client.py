"""The client's IP address, honouring only as many proxies as PROXY_COUNT says."""

from django.conf import settings


def client_ip(request) -> str | None:
    count = getattr(settings, "PROXY_COUNT", 0)
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR") or None
