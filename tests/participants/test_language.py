"""The language a participant reads: chosen at registration or found from the number and
the addresses, shown and changed on the preferences page; bad input changes nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.participants import services
from apps.participants.geocoding import Location
from apps.participants.models import Participant

from .conftest import HOME

ESSEN = {"label": "Thuis", "country": "BE", "postcode": "2910", "house_number": "8"}  # Flanders
VISE = {"label": "Thuis", "country": "BE", "postcode": "4600", "house_number": "2"}  # Wallonia
KELMIS = {"label": "Werk", "country": "BE", "postcode": "4720", "house_number": "5"}  # German
KLEVE = {"label": "Werk", "country": "DE", "postcode": "47533", "house_number": "3"}

GERMAN_MOBILE = "+49 151 23456789"
BELGIAN_MOBILE = "+32 470 12 34 56"


@pytest.fixture(autouse=True)
def _border_places(nominatim):
    nominatim.places[("be", "4600")] = (50.7369, 5.6961, "Visé")
    nominatim.places[("be", "4720")] = (50.7167, 6.0167, "Kelmis")


def _address(country: str, postcode: str) -> services.AddressInput:
    return services.AddressInput(
        label="Adres",
        country=country,
        postcode=postcode,
        house_number=1,
        location=Location(51.0, 5.0, None),
    )


# The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "places", "language"),
    [
        ("+31612345678", [("NL", "3441 AB")], "nl"),
        ("+4915123456789", [("NL", "3441 AB")], "de"),
        ("+32470123456", [("NL", "3441 AB")], "fr"),
        ("+31612345678", [("NL", "3441 AB"), ("DE", "47533")], "de"),
        ("+31612345678", [("BE", "4600")], "fr"),  # Visé, Wallonia
        ("+31612345678", [("BE", "1000")], "fr"),  # Brussels
        ("+31612345678", [("BE", "4720")], "de"),  # Kelmis, German-speaking Community
        ("+32470123456", [("BE", "2910")], "nl"),  # Essen, Flanders: the place speaks
        ("+32470123456", [("BE", "3990")], "nl"),  # Peer, Limburg
        ("+4915123456789", [("BE", "2910")], "nl"),  # the address before the number
        ("+31612345678", [("BE", "2910"), ("DE", "47533")], "nl"),  # the first abroad
    ],
)
def test_the_language_follows_an_address_abroad_then_the_number(phone, places, language):
    addresses = [_address(country, postcode) for country, postcode in places]
    assert services.language_for(phone=phone, addresses=addresses) == language


# Registering ------------------------------------------------------------------------------


def test_the_registration_page_offers_the_languages_and_leaves_the_choice_to_us(client):
    page = client.get(reverse("participants:register")).content.decode()
    assert 'name="language"' in page
    assert '<option value="" selected>Vanzelf (naar uw nummer en adres)</option>' in page
    for label in ("Nederlands", "English", "Deutsch", "Français"):
        assert f">{label}</option>" in page


@pytest.mark.parametrize(
    ("phone", "addresses", "language"),
    [
        ("06 12345678", (HOME,), "nl"),
        (GERMAN_MOBILE, (HOME,), "de"),
        (BELGIAN_MOBILE, (HOME,), "fr"),
        ("06 12345678", (HOME, KLEVE), "de"),
        ("06 12345678", (VISE,), "fr"),
        ("06 12345678", (KELMIS,), "de"),
        (BELGIAN_MOBILE, (ESSEN,), "nl"),
    ],
)
def test_a_visitor_who_leaves_the_language_gets_that_of_the_number_or_address(
    register, phone, addresses, language
):
    response = register(phone=phone, addresses=addresses)
    assert response.status_code == 302, response.content.decode()
    assert Participant.objects.get().language == language


@pytest.mark.parametrize("chosen", ["nl", "en", "fr"])
def test_the_visitors_own_choice_wins(register, chosen):
    response = register(phone=GERMAN_MOBILE, addresses=(HOME, KLEVE), language=chosen)
    assert response.status_code == 302
    assert Participant.objects.get().language == chosen


def test_an_unknown_language_is_refused_and_nothing_is_saved(register):
    response = register(language="xx")
    assert response.status_code == 400
    assert "Kies een van de talen uit de lijst." in response.content.decode()
    assert not Participant.objects.exists()


def test_the_service_refuses_an_unknown_language_too(db):
    with pytest.raises(ValidationError) as error:
        services.participant_register(
            phone="+31612345678",
            addresses=[_address("NL", "3441 AB")],
            preferences=services.Preferences(language="klingon"),
        )
    assert error.value.code == "language"
    assert not Participant.objects.exists()


# Changing it --------------------------------------------------------------------------------


def test_the_preferences_page_shows_and_changes_the_language(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    page = client.get(reverse("participants:manage_preferences")).content.decode()
    assert '<option value="nl" selected>Nederlands</option>' in page
    assert "Vanzelf" not in page

    response = client.post(
        reverse("participants:manage_preferences"), {"wants_sms": "on", "language": "de"}
    )

    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.language == "de"


def test_preferences_sent_without_a_language_keep_it(manage_client, make_participant):
    participant = make_participant()
    Participant.objects.filter(pk=participant.pk).update(language="en")
    client = manage_client(participant)

    response = client.post(reverse("participants:manage_preferences"), {"wants_voice": "on"})

    assert response.status_code == 302
    participant.refresh_from_db()
    assert (participant.language, participant.wants_voice) == ("en", True)


def test_an_unknown_language_on_the_preferences_page_changes_nothing(
    manage_client, make_participant
):
    participant = make_participant()
    client = manage_client(participant)

    response = client.post(
        reverse("participants:manage_preferences"),
        {"wants_sms": "on", "wants_voice": "on", "language": "xx"},
    )

    assert response.status_code == 400
    assert "Kies een van de talen uit de lijst." in response.content.decode()
    participant.refresh_from_db()
    assert (participant.language, participant.wants_voice) == ("nl", False)


def test_the_service_refuses_an_unknown_language_on_update(make_participant):
    participant = make_participant()
    with pytest.raises(ValidationError):
        services.preferences_update(
            participant=participant, preferences=services.Preferences(language="xx")
        )
    participant.refresh_from_db()
    assert participant.language == "nl"
