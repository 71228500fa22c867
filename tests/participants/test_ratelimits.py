"""Rate limits per IP address and per number, answered in Dutch with HTTP 429."""

from django.urls import reverse

from apps.participants import views
from apps.participants.models import Participant

from .conftest import sms_sent


def test_it_limits_registrations_per_ip(register):
    limit, _window = views.LIMITS["register.ip"]
    for n in range(limit):
        response = register(phone=f"06 123456{n:02d}", remote_addr="198.51.100.7")
        assert response.status_code == 302
    response = register(phone="06 12345699", remote_addr="198.51.100.7")
    assert response.status_code == 429
    html = response.content.decode()
    assert "U heeft dit te vaak geprobeerd" in html
    assert "Probeer het over een uur opnieuw" in html
    assert Participant.objects.count() == limit
    # Another address is not affected.
    assert register(phone="06 12345699", remote_addr="198.51.100.8").status_code == 302


def test_it_counts_invalid_registrations_against_the_ip_too(register):
    limit, _window = views.LIMITS["register.ip"]
    for _ in range(limit):
        assert register(phone="onzin", remote_addr="198.51.100.9").status_code == 400
    assert register(remote_addr="198.51.100.9").status_code == 429
    assert Participant.objects.count() == 0


def test_it_limits_registrations_per_number_from_any_ip(register):
    limit, _window = views.LIMITS["register.phone"]
    for n in range(limit):
        assert register(remote_addr=f"203.0.113.{n}").status_code == 302
        sms_sent()  # each code goes out before the next registration replaces it
    response = register(phone="+31 6 1234 5678", remote_addr="203.0.113.200")
    assert response.status_code == 429
    assert len(sms_sent()) == limit


def test_it_limits_manage_link_requests_per_ip_and_per_contact(client, make_participant):
    make_participant("+31612345678")
    url = reverse("participants:manage_request")
    limit, _window = views.LIMITS["manage.contact"]
    for n in range(limit):
        assert (
            client.post(url, {"contact": "0612345678"}, REMOTE_ADDR=f"10.1.0.{n}").status_code
            == 302
        )
    response = client.post(url, {"contact": "+31612345678"}, REMOTE_ADDR="10.1.0.99")
    assert response.status_code == 429
    assert len(sms_sent()) == limit

    ip_limit, _window = views.LIMITS["manage.ip"]
    for n in range(ip_limit):
        client.post(url, {"contact": f"06 8765432{n % 10}"}, REMOTE_ADDR="10.2.0.1")
    assert client.post(url, {"contact": "06 11111111"}, REMOTE_ADDR="10.2.0.1").status_code == 429
