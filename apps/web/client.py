"""What a request says about its client: the IP address and the size of the body it
declares.

The client's address is the one rule the rate limits, the axes lock-out
(AXES_CLIENT_IP_CALLABLE) and the audit trail share. Behind PROXY_COUNT reverse proxies
each proxy appends the address it got the request from to X-Forwarded-For, so the client
is found by walking the header from its end, one hop per proxy: everything further left
was written by the client and is never believed. A hop is taken only while the address
it comes from is one of our proxies (PROXY_NETWORKS: loopback and the private networks
unless set), so a client that reaches the site around the proxy, or a PROXY_COUNT higher
than the proxies there are, cannot name its own address; nor can a hop that is not an
address.
"""

import functools
import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address as a proxy writes it ("1.2.3.4", "1.2.3.4:5678", "[::1]:5678"), or
    None when it is not one."""
    text = (text or "").strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # an IPv4 address with its port
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_proxy(address) -> bool:
    """Is `address` one of our reverse proxies (PROXY_NETWORKS)?"""
    return any(address in network for network in _networks(tuple(settings.PROXY_NETWORKS)))


_warned = False


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind PROXY_COUNT proxies the address the
    first of them got the request from (see the module's docstring)."""
    remote = _address(request.META.get("REMOTE_ADDR"))
    if remote is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    count = settings.PROXY_COUNT
    if not count:
        if forwarded and is_proxy(remote):
            _warn_once()
        return str(remote)
    hops = [hop for hop in forwarded.split(",") if hop.strip()]
    client = remote
    for _ in range(count):
        if not hops or not is_proxy(client):
            break  # not from one of our proxies: what it says of its sender is not believed
        hop = _address(hops.pop())
        if hop is None:
            break
        client = hop
    return str(client)


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "Requests carry X-Forwarded-For but PROXY_COUNT is 0: every client counts as the "
            "proxy's address (rate limits, log-in lock-out). Set PROXY_COUNT (README)."
        )


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
