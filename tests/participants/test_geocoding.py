"""Geocoding: Dutch postcodes offline (or through Nominatim), Belgian and German ones
through the geocoder at GEOCODER_URL (here a stand-in on 127.0.0.1)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.governance import geo
from apps.participants import geocoding


def test_it_places_a_dutch_postcode_offline_with_its_municipality(nominatim):
    location = geocoding.geocode_address(country="NL", postcode="3441 AB", house_number=12)
    assert location.municipality.name == "Woerden"
    assert location.lat == pytest.approx(52.0859, abs=0.01)
    assert nominatim.requests == []


def test_it_refuses_an_unknown_dutch_postcode(nominatim):
    with pytest.raises(geocoding.AddressNotFound) as caught:
        geocoding.geocode_address(country="NL", postcode="0999 ZZ", house_number=1)
    assert "postcode kennen wij niet" in str(caught.value.message)


@pytest.mark.parametrize(
    ("country", "postcode", "lat"), [("BE", "2910", 51.4667), ("DE", "47533", 51.7886)]
)
def test_it_places_foreign_addresses_through_nominatim(nominatim, country, postcode, lat):
    location = geocoding.geocode_address(country=country, postcode=postcode, house_number=3)
    assert location.lat == pytest.approx(lat)
    assert location.municipality is None
    [request] = nominatim.requests
    assert request["path"] == "/nominatim/search"
    assert request["query"]["postalcode"] == postcode
    assert request["query"]["countrycodes"] == country.lower()
    assert request["query"]["format"] == "json"
    assert request["agent"] == "burgernet-tests"


def test_it_refuses_a_foreign_address_the_geocoder_does_not_know(nominatim):
    with pytest.raises(geocoding.AddressNotFound):
        geocoding.geocode_address(country="BE", postcode="9999", house_number=1)


def test_it_refuses_an_answer_from_another_country(nominatim):
    # A service that ignores countrycodes and answers with a Dutch place:
    nominatim.places[("be", "4711")] = (51.53, 4.46, "Roosendaal", "nl")
    with pytest.raises(geocoding.AddressNotFound):
        geocoding.geocode_address(country="BE", postcode="4711", house_number=1)


@pytest.mark.parametrize("status", [500, 503])
def test_it_reports_a_geocoder_that_is_down(nominatim, status):
    nominatim.status = status
    with pytest.raises(geocoding.GeocoderDown) as caught:
        geocoding.geocode_address(country="DE", postcode="47533", house_number=1)
    assert "niet bereikbaar" in str(caught.value.message)


def test_it_reports_a_geocoder_that_times_out(nominatim, settings):
    settings.GEOCODER_TIMEOUT = 0.2
    nominatim.delay_s = 1.0
    with pytest.raises(geocoding.GeocoderDown):
        geocoding.geocode_address(country="BE", postcode="2910", house_number=1)


def test_it_reports_a_geocoder_nobody_listens_on(settings):
    settings.GEOCODER_URL = "http://127.0.0.1:9"
    with pytest.raises(geocoding.GeocoderDown):
        geocoding.geocode_address(country="BE", postcode="2910", house_number=1)


def test_it_asks_nominatim_for_dutch_postcodes_when_so_configured(nominatim, settings):
    settings.GEOCODER_NL = "nominatim"
    location = geocoding.geocode_address(country="NL", postcode="3441 AB", house_number=12)
    assert location.lat == pytest.approx(52.0870)
    assert location.municipality.name == "Woerden"  # from the postcode table
    assert nominatim.requests[0]["query"]["countrycodes"] == "nl"


def test_it_refuses_a_geocoder_url_without_scheme(settings):
    settings.GEOCODER_URL = "nominatim.example.org"
    with pytest.raises(ImproperlyConfigured):
        geocoding.nominatim()


def test_it_reads_scheme_host_port_and_path_from_the_geocoder_url(settings):
    settings.GEOCODER_URL = "https://geo.example.org:8443/nominatim/"
    client = geocoding.nominatim()
    assert client.api == "https://geo.example.org:8443/nominatim/search"


@pytest.mark.parametrize(
    ("country", "raw", "normal"),
    [
        ("NL", "3441ab", "3441 AB"),
        ("NL", " 3441  AB ", "3441 AB"),
        ("BE", "2910", "2910"),
        ("DE", "47533", "47533"),
    ],
)
def test_it_normalises_postcodes(country, raw, normal):
    assert geocoding.normalise_postcode(country, raw) == normal


@pytest.mark.parametrize(
    ("country", "raw"),
    [
        ("NL", "0441 AB"),
        ("NL", "3441"),
        ("NL", "34411 AB"),
        ("BE", "29100"),
        ("DE", "4753"),
        ("DE", "ABCDE"),
    ],
)
def test_it_refuses_postcodes_in_the_wrong_format(country, raw):
    with pytest.raises(ValueError):
        geocoding.normalise_postcode(country, raw)


# The console's address search: the same geocoder ------------------------------------------


def test_the_address_search_asks_the_same_geocoder(nominatim):
    place = geocoding.geocode_search(geocoding.AddressQuery(text="Stationsplein 1, Utrecht"))
    assert (place.lat, place.lon, place.approximate) == (52.0894, 5.1101, False)
    [request] = nominatim.requests
    assert request["agent"] == "burgernet-tests"  # GEOCODER_USER_AGENT, as at registration
    assert request["query"]["countrycodes"] == "nl,be,de"


def test_the_address_search_places_nothing_outside_where_burgernet_works(nominatim):
    with pytest.raises(geocoding.OutsideArea) as caught:
        geocoding.geocode_search(geocoding.AddressQuery(text="Marienplatz 1, München"))
    assert caught.value.message == geo.MSG_POINT_OUTSIDE


@pytest.mark.parametrize("how", ["down", "slow"])
def test_the_address_search_says_the_geocoder_is_down_in_its_own_words(nominatim, settings, how):
    settings.GEOCODER_TIMEOUT = 0.2
    if how == "down":
        nominatim.status = 503
    else:
        nominatim.delay_s = 1.0
    with pytest.raises(geocoding.GeocoderDown) as caught:
        geocoding.geocode_search(geocoding.AddressQuery(text="Stationsplein 1, Utrecht"))
    assert "klik het punt aan op de kaart" in str(caught.value.message)
