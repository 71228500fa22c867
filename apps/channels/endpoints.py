"""Where the server may send a web push: the one rule for a push endpoint's host, asked when
a device subscribes (participants.devices.validate_endpoint) and again when a push is sent
(senders/webpush.py), since a name's address can change after subscribing.

A push endpoint is a URL the browser hands us and the server POSTs to: aimed at our own
network it would make the outbox worker a proxy into it (SSRF). So an endpoint must be an
https URL on a public host: not an address of our own or of anyone's private network
(loopback, private, link-local, CGNAT, multicast, reserved), not a name that only a local
resolver knows (a single label, localhost, .local, .internal …). WEBPUSH_ALLOWED_HOSTS,
when set, narrows that to the push services named there. Development and the tests' local
push service (WEBPUSH_ALLOW_INSECURE_ENDPOINTS) may use http and loopback only.
"""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

# Names that only a local resolver answers, or that name our own machine.
LOCAL_SUFFIXES = (
    ".localhost",
    ".local",
    ".localdomain",
    ".internal",
    ".intranet",
    ".private",
    ".corp",
    ".home",
    ".lan",
    ".arpa",  # reverse zones and home.arpa
)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def insecure_allowed() -> bool:
    """Development and tests: http and loopback push services are allowed."""
    return bool(settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address anyone on the internet reaches: not loopback, private, link-local, CGNAT
    (shared), multicast, reserved or unspecified; an IPv4 address inside IPv6 (mapped,
    NAT64) is judged as itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if address in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def address_allowed(address: str) -> bool:
    """May a push be sent to the resolved `address` (an IP address as text, an IPv6 scope
    left out)? Public addresses always; loopback only while insecure endpoints are
    allowed (the local push service of tests and benchmarks)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if is_public_address(ip):
        return True
    return ip.is_loopback and insecure_allowed()


def _listed(host: str, patterns) -> bool:
    """Is `host` one of `patterns` ("push.example.com" that host, "*.example.com" any
    name under example.com)?"""
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


def host_problem(scheme: str, host: str) -> str:
    """Why a push may not go to `scheme`://`host` ("" when it may). `host` lower-case,
    without brackets; its addresses are checked when connecting (address_allowed)."""
    host = host.rstrip(".")
    if insecure_allowed() and host in LOOPBACK_NAMES:
        return ""  # the local push service of development, tests and benchmarks
    problem = public_host_problem(scheme, host)
    if problem:
        return problem
    allowed = settings.WEBPUSH_ALLOWED_HOSTS
    if allowed and not _listed(host, allowed):
        return "not an allowed push service"
    return ""


def public_host_problem(scheme: str, host: str) -> str:
    """Why `scheme`://`host` is not an https URL on a public host ("" when it is): the
    rule web pushes and webhooks share. `host` lower-case, without brackets."""
    host = host.rstrip(".")
    if scheme != "https":
        return "not https"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if not is_public_address(ip):
            return "not a public address"
    elif "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        return "not a public host name"
    return ""


def endpoint_problem(endpoint: str) -> str:
    """Why `endpoint` is not a URL a push may be sent to ("" when it is)."""
    parts, problem = _split(endpoint)
    return problem or host_problem(parts.scheme, (parts.hostname or "").lower())


def webhook_url_problem(url: str) -> str:
    """Why a partner's webhook may not be posted to `url` ("" when it may): asked when a
    manager saves the subscription (WebhookSubscription.clean) and again when sending
    (senders/webhook.py), whose connection also checks each address the name resolves to
    (address_allowed). Any public https host will do (WEBPUSH_ALLOWED_HOSTS names push
    services, not partners); http and loopback only where insecure endpoints are allowed
    (development, tests)."""
    return public_url_problem(url, loopback=insecure_allowed())


def public_url_problem(url: str, *, loopback: bool = False) -> str:
    """Why the server may not send to or fetch `url` ("" when it may): an https URL on a
    public host without credentials in it (webhooks, partners' feeds); with `loopback`,
    http or https on a loopback name too (development and tests)."""
    parts, problem = _split(url)
    if problem:
        return problem
    host = (parts.hostname or "").lower()
    if loopback and host.rstrip(".") in LOOPBACK_NAMES:
        return "" if parts.scheme in ("http", "https") else "not http(s)"
    return public_host_problem(parts.scheme, host)


def _split(url: str):
    """The URL's parts, and what makes it no URL to send to at all ("" when nothing):
    not a URL, a bad port, credentials in it, no host."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a bad port raises here
    except ValueError:
        return None, "not a URL"
    if parts.username or parts.password:
        return parts, "credentials in the URL"
    if not parts.hostname:
        return parts, "no host"
    return parts, ""
