"""The demo participants: confirmed, placed without the network, loaded once."""

from django.utils import timezone

from apps.participants import demo
from apps.participants.models import Address, Participant


def test_it_loads_confirmed_demo_participants_once_without_the_network(settings, nominatim):
    settings.GEOCODER_URL = "http://127.0.0.1:9"  # nothing listens: any network use would fail
    created = demo.load()
    assert created == len(demo.DEMO) >= 5
    assert Participant.objects.filter(phone_confirmed_at__isnull=True).count() == 0
    assert demo.load() == 0
    year = Participant.objects.filter(phone__startswith=demo.YEAR_PHONE_PREFIX)
    assert Participant.objects.count() == created + year.count()
    assert nominatim.requests == []


def test_the_demo_year_spreads_people_over_the_country_whom_no_action_reaches(phase_out_2023):
    """SMS and voice reach nobody after the 2023 phase-out (the demo's schedule), e-mail and
    the web app reach none of them."""
    from apps.participants.models import Device

    demo.load()
    demo.load()
    year = Participant.objects.filter(phone__startswith=demo.YEAR_PHONE_PREFIX)
    assert year.count() == demo.YEAR_PEOPLE
    assert not year.exclude(email="").exists()
    assert year.filter(wants_sms=True).count() > demo.YEAR_PEOPLE / 2
    places = Address.objects.filter(participant__in=year).values("municipality").distinct()
    assert places.count() > 150
    devices = Device.objects.filter(endpoint__startswith="https://push.demo.invalid/")
    assert devices.count() == demo.YEAR_DEVICES
    from apps.channels import plan

    released = plan.plan_for(kind="missing_person", urgent=True, at=timezone.now())
    assert "sms" not in released.channels and "voice" not in released.channels
    assert not devices.exclude(cell_updated_at=None).exists()  # no fresh cell: never reached
    assert year.order_by("created_at").first().created_at < year.latest("created_at").created_at


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
