"""Where a web push may go (channels/endpoints.py): the one rule that subscribing and
sending both ask, so that the outbox worker never POSTs into our own network (SSRF)."""

import ipaddress

import pytest

from apps.channels import endpoints


@pytest.fixture(autouse=True)
def _production(settings):
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    settings.WEBPUSH_ALLOWED_HOSTS = []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://wns2-am3p.notify.windows.com/w/?token=abc",
        "https://push.example.net:8443/push/abc",
        "https://8.8.8.8/push/abc",  # a public address
        "https://[2001:4860:4860::8888]/push/abc",
    ],
)
def test_a_push_service_on_a_public_host_is_allowed(endpoint):
    assert endpoints.endpoint_problem(endpoint) == ""


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.net/push/abc",  # not https
        "https://user:secret@push.example.net/push/abc",
        "https://127.0.0.1/push/abc",  # loopback
        "https://127.1.2.3/push/abc",
        "https://[::1]/push/abc",
        "https://localhost/push/abc",
        "https://push.localhost/push/abc",
        "https://10.1.2.3/push/abc",  # private
        "https://172.16.0.1/push/abc",
        "https://192.168.1.1/push/abc",
        "https://[fd00::1]/push/abc",
        "https://169.254.169.254/latest/meta-data/",  # link-local: the cloud's metadata
        "https://[fe80::1]/push/abc",
        "https://100.64.0.1/push/abc",  # CGNAT (shared address space)
        "https://224.0.0.1/push/abc",  # multicast
        "https://240.0.0.1/push/abc",  # reserved
        "https://0.0.0.0/push/abc",  # unspecified
        "https://[::ffff:127.0.0.1]/push/abc",  # loopback inside IPv6
        "https://[64:ff9b::a00:1]/push/abc",  # 10.0.0.1 through NAT64
        "https://redis/push/abc",  # a single label: only a local resolver knows it
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://printer.local/push/abc",
        "https://nas.home.arpa/push/abc",
        "https://1.0.0.10.in-addr.arpa/push/abc",
        "https://push.example.net:99999/push/abc",  # no such port
        "https:///push/abc",
    ],
)
def test_a_host_in_our_own_network_is_refused(endpoint):
    assert endpoints.endpoint_problem(endpoint) != ""


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("142.250.179.170", True),
        ("2a00:1450:400e:80e::200a", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.100.100.200", False),
        ("169.254.169.254", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),  # 8.8.8.8 through NAT64
        ("64:ff9b::7f00:1", False),  # 127.0.0.1 through NAT64
    ],
)
def test_only_public_addresses_are_public(address, public):
    assert endpoints.is_public_address(ipaddress.ip_address(address)) is public
    assert endpoints.address_allowed(address) is public


def test_the_local_push_service_is_allowed_only_while_insecure_endpoints_are(settings):
    assert endpoints.endpoint_problem("http://127.0.0.1:8765/push/a1") != ""
    assert not endpoints.address_allowed("127.0.0.1")

    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    assert endpoints.endpoint_problem("http://127.0.0.1:8765/push/a1") == ""
    assert endpoints.endpoint_problem("http://localhost:8765/push/a1") == ""
    assert endpoints.endpoint_problem("https://[::1]:8765/push/a1") == ""
    assert endpoints.address_allowed("127.0.0.1") and endpoints.address_allowed("::1")
    # Loopback only: neither the rest of our network nor plain http elsewhere.
    assert endpoints.endpoint_problem("http://10.1.2.3/push/a3") != ""
    assert endpoints.endpoint_problem("https://10.1.2.3/push/a3") != ""
    assert endpoints.endpoint_problem("http://push.example.net/push/a4") != ""
    assert not endpoints.address_allowed("10.1.2.3")


def test_the_allowed_push_services_narrow_it_to_their_hosts(settings):
    settings.WEBPUSH_ALLOWED_HOSTS = [
        "fcm.googleapis.com",
        "*.push.services.mozilla.com",
        "*.notify.windows.com",
        "web.push.apple.com",
    ]
    for allowed in [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://wns2-am3p.notify.windows.com/w/?token=abc",
        "https://web.push.apple.com/QGx",
    ]:
        assert endpoints.endpoint_problem(allowed) == "", allowed
    for refused in [
        "https://push.example.net/push/abc",
        "https://evilfcm.googleapis.com/fcm/send/abc",
        "https://fcm.googleapis.com.evil.example/abc",
        "https://push.services.mozilla.com.evil.example/abc",
        "https://notify.windows.com.example/abc",
        "https://evilnotify.windows.com/abc",
    ]:
        assert endpoints.endpoint_problem(refused) == "not an allowed push service", refused
