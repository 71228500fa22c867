"""The demo participants: confirmed, placed without the network, loaded once."""

from apps.participants import demo
from apps.participants.models import Address, Participant


def test_it_loads_confirmed_demo_participants_once_without_the_network(settings, nominatim):
    settings.GEOCODER_URL = "http://127.0.0.1:9"  # nothing listens: any network use would fail
    created = demo.load()
    assert created == len(demo.DEMO) >= 5
    assert Participant.objects.filter(phone_confirmed_at__isnull=True).count() == 0
    assert demo.load() == 0
    assert Participant.objects.count() == created
    assert nominatim.requests == []


def test_it_places_dutch_demo_addresses_in_their_municipality_and_one_in_belgium():
    demo.load()
    municipalities = set(
        Address.objects.filter(country="NL").values_list("municipality__name", flat=True)
    )
    assert {"Woerden", "Utrecht", "Amsterdam"} <= municipalities
    belgian = Address.objects.get(country="BE")
    assert belgian.municipality is None
    assert 51.3 < belgian.lat < 51.6
    assert Address.objects.filter(always_active=False, windows__isnull=False).exists()


def test_it_uses_valid_mobile_numbers():
    from apps.participants.phones import parse_mobile

    for phone, *_rest in demo.DEMO:
        assert parse_mobile(phone) == phone
