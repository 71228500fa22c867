"""What a request says about its client: the IP address (honouring only as many proxies as
PROXY_COUNT says) and the size of the body it declares."""

from django.conf import settings


def client_ip(request) -> str | None:
    count = settings.PROXY_COUNT
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR") or None


def declared_length(request) -> int:
    """The body size the client declares (Content-Length), before anything is read; 0 when
    absent or not a number. Lets a view refuse a huge upload without reading it."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def client_key(request) -> str:
    """Who to count an attempt against when nothing better is known: the client's
    address, or "unknown" (all clients without one share a count)."""
    return client_ip(request) or "unknown"
