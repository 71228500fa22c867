"""Registering on the public site: validation, nothing saved on errors, the code sent."""

import re

import pytest
from django.conf import settings
from django.core import mail, signing
from django.urls import reverse

from apps.participants import tokens
from apps.participants.models import ActiveWindow, Address, Participant, PhoneCode

from .conftest import HOME, form_data, sent_code, sms_sent

WORK = {"label": "Werk", "country": "NL", "postcode": "3511 AA", "house_number": "1"}
ESSEN = {"label": "Thuis", "country": "BE", "postcode": "2910", "house_number": "8"}
KLEVE = {"label": "Werk", "country": "DE", "postcode": "47533", "house_number": "3"}


def assert_nothing_saved():
    assert Participant.objects.count() == 0
    assert Address.objects.count() == 0
    assert ActiveWindow.objects.count() == 0
    assert PhoneCode.objects.count() == 0
    assert sms_sent() == []
    assert mail.outbox == []


def test_it_shows_the_registration_page_in_dutch(client):
    response = client.get(reverse("participants:register"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="nl">' in html
    assert "Aanmelden voor Burgernet" in html
    for field_id in ("id_phone", "id_address-0-postcode", "id_address-0-window-0-end", "id_email"):
        assert f'id="{field_id}"' in html
        assert f'for="{field_id}"' in html


def test_the_page_starts_with_one_address_and_one_window_and_nothing_more(client):
    html = client.get(reverse("participants:register")).content.decode()
    assert html.count('class="address-block"') == 1
    assert html.count('class="window"') == 1
    assert "address-1-" not in html and "window-1-" not in html
    assert 'name="address_count" id="address_count" value="1"' in html
    assert 'name="address-0-window_count" value="1"' in html
    assert 'value="add_address"' in html and 'value="add_window-0"' in html
    assert len(html) < 25_000  # was 51 KB with every block rendered up front


def test_it_loads_nothing_from_other_hosts(client):
    html = client.get(reverse("participants:register")).content.decode()
    addresses = re.findall(r'(?:src|href|action)="([^"]*)"', html)
    assert addresses
    assert all(a.startswith(("/", "#")) for a in addresses), addresses
    assert "<script>" not in html  # no inline scripts


def test_it_registers_two_addresses_with_windows_and_sends_one_code(register):
    response = register(
        addresses=(
            dict(
                HOME,
                windows=[
                    {"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "23:00"},
                    {"days": [5, 6], "start": "09:00", "end": "23:00"},
                ],
            ),
            dict(WORK, windows=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"}]),
        ),
        wants_voice="on",
        quiet_start="23:30",
        quiet_end="06:30",
    )
    assert response.status_code == 302
    participant = Participant.objects.get()
    assert participant.phone == "+31612345678"
    assert participant.phone_confirmed_at is None
    assert (participant.wants_sms, participant.wants_voice, participant.wants_email) == (
        True,
        True,
        False,
    )
    assert participant.quiet_start.hour == 23
    home, work = participant.addresses.order_by("id")
    assert (home.label, home.postcode, home.municipality.name) == ("Thuis", "3441 AB", "Woerden")
    assert (work.label, work.municipality.name) == ("Werk", "Utrecht")
    assert not home.always_active
    assert [(w.days, str(w.start), str(w.end)) for w in home.windows.all()] == [
        (0b0011111, "18:00:00", "23:00:00"),
        (0b1100000, "09:00:00", "23:00:00"),
    ]
    assert work.windows.count() == 1
    # One SMS, to the number, with a six-digit code; nothing else.
    [message] = sms_sent()
    assert message.to == "+31612345678"
    assert re.search(r"\b\d{6}\b", message.text)
    assert mail.outbox == []
    # The code page's link carries a signed token, not the participant's id.
    token = response.url.rstrip("/").split("/")[-1]
    assert tokens.read_phone_token(token) == participant.ref
    assert signing.loads(token, salt=tokens.PHONE_SALT) == {"r": str(participant.ref)}


def test_it_stores_the_code_only_as_a_hash(register):
    register()
    sms_sent()
    code = sent_code()
    stored = PhoneCode.objects.get()
    assert code not in stored.code_hash
    assert stored.matches(code)


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("hallo", "geen geldig telefoonnummer"),
        ("06 123", "geen geldig telefoonnummer"),
        ("+33 6 12 34 56 78", "Alleen Nederlandse, Belgische en Duitse"),
        ("+1 202 555 0143", "Alleen Nederlandse, Belgische en Duitse"),
        ("030 123 4567", "geen mobiel nummer"),
        ("0900 1234567", "Betaalnummers"),
        ("", "verplicht"),
        ("0612345678x", "geen geldig telefoonnummer"),  # not +31612345678
        ("0970 1234 5678", "Een 097-nummer is voor apparaten"),
    ],
)
def test_it_refuses_numbers_that_are_not_our_mobiles_and_saves_nothing(register, phone, message):
    response = register(phone=phone)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    # The error is tied to the field and summarised with a link to it.
    assert 'aria-invalid="true"' in html
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_phone_error', html)
    assert 'id="id_phone_error"' in html
    assert 'href="#id_phone"' in html
    assert_nothing_saved()


@pytest.mark.parametrize("phone", ["+32 470 12 34 56", "+49 151 23456789"])
def test_it_accepts_belgian_and_german_mobiles(register, phone):
    response = register(phone=phone)
    assert response.status_code == 302
    assert Participant.objects.get().phone.startswith(phone[:3])


def test_it_refuses_an_unknown_postcode_and_saves_nothing(register):
    response = register(addresses=(dict(HOME, postcode="0999 ZZ"),))
    assert response.status_code == 400
    assert "Vul een geldige postcode in" in response.content.decode()
    response = register(addresses=(dict(HOME, postcode="1000 AA"),))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Deze postcode kennen wij niet" in html
    assert 'href="#id_address-0-postcode"' in html
    assert_nothing_saved()


def test_it_geocodes_belgian_and_german_addresses_through_the_geocoder(register, nominatim):
    response = register(addresses=(ESSEN, KLEVE))
    assert response.status_code == 302
    essen, kleve = Address.objects.order_by("id")
    assert (essen.country, essen.postcode, essen.municipality) == ("BE", "2910", None)
    assert essen.lat == pytest.approx(51.4667)
    assert (kleve.country, kleve.lat) == ("DE", pytest.approx(51.7886))
    assert len(nominatim.requests) == 2


def test_it_refuses_a_foreign_address_the_geocoder_cannot_find(register):
    response = register(addresses=(dict(ESSEN, postcode="9999"),))
    assert response.status_code == 400
    assert "Dit adres kunnen wij niet vinden" in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_to_register_while_the_geocoder_is_down(register, nominatim):
    nominatim.status = 503
    response = register(addresses=(HOME, KLEVE))
    assert response.status_code == 400
    assert "De adreszoekdienst is nu niet bereikbaar" in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_overlapping_windows_on_one_address(register):
    response = register(
        addresses=(
            dict(
                HOME,
                windows=[
                    {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"},
                    {"days": [4], "start": "17:00", "end": "20:00"},
                ],
            ),
        )
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Tijdvak 1 en tijdvak 2 overlappen elkaar" in html
    assert 'href="#address-0-windows"' in html
    assert 'aria-describedby="address-0-windows-error"' in html
    assert_nothing_saved()


def test_it_refuses_a_window_over_midnight_that_runs_into_the_next(register):
    response = register(
        addresses=(
            dict(
                HOME,
                windows=[
                    {"days": [0], "start": "22:00", "end": "07:00"},
                    {"days": [1], "start": "06:00", "end": "09:00"},
                ],
            ),
        )
    )
    assert response.status_code == 400
    assert "overlappen" in response.content.decode()
    assert_nothing_saved()


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"days": [], "start": "08:00", "end": "18:00"}, "Kies minstens één dag"),
        ({"days": [0], "start": "", "end": "18:00"}, "Vul de begintijd in"),
        ({"days": [0], "start": "08:00", "end": "08:00"}, "niet hetzelfde zijn"),
        ({"days": [0], "start": "8 uur", "end": "18:00"}, "geldige tijd"),
    ],
)
def test_it_refuses_incomplete_windows(register, window, message):
    response = register(addresses=(dict(HOME, windows=[window]),))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert_nothing_saved()


def test_it_asks_for_a_window_when_the_address_is_not_always_active(client):
    data = form_data()
    data["address-0-schedule"] = "chosen"
    response = client.post(reverse("participants:register"), data)
    assert response.status_code == 400
    assert "Kies minstens één tijdvak" in response.content.decode()
    assert_nothing_saved()


def test_it_ignores_windows_of_an_address_that_is_always_active(register):
    data = dict(HOME, windows=[{"days": [0], "start": "08:00", "end": "08:00"}])
    response = register(addresses=(data,), **{"address-0-schedule": "always"})
    assert response.status_code == 302
    address = Address.objects.get()
    assert address.always_active
    assert address.windows.count() == 0


def test_it_refuses_more_than_five_addresses(register):
    addresses = tuple(dict(HOME, house_number=str(n), label=f"Adres {n}") for n in range(1, 7))
    response = register(addresses=addresses)
    assert response.status_code == 400
    assert "U kunt hoogstens 5 adressen opgeven" in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_more_than_three_windows_per_address(register):
    windows = [{"days": [d], "start": "08:00", "end": "09:00"} for d in range(4)]
    response = register(addresses=(dict(HOME, windows=windows),))
    assert response.status_code == 400
    assert "hoogstens 3 tijdvakken" in response.content.decode()
    assert_nothing_saved()


def test_it_needs_at_least_one_address(register):
    response = register(addresses=({"label": "Thuis", "country": "NL"},))
    assert response.status_code == 400
    assert 'href="#id_address-0-postcode"' in response.content.decode()
    assert_nothing_saved()


def test_it_needs_at_least_one_channel(client):
    data = form_data()
    del data["wants_sms"]
    response = client.post(reverse("participants:register"), data)
    assert response.status_code == 400
    assert "Kies minstens één manier" in response.content.decode()
    assert_nothing_saved()


def test_it_needs_an_email_address_for_email_messages(register):
    response = register(wants_email="on")
    assert response.status_code == 400
    assert "Vul uw e-mailadres in om berichten per e-mail te krijgen" in response.content.decode()
    assert_nothing_saved()


def test_it_needs_a_known_postcode_with_the_email_address(register):
    response = register(email="iemand@example.org", email_postcode="1000 AA")
    assert response.status_code == 400
    assert "Deze postcode kennen wij niet" in response.content.decode()
    response = register(email="iemand@example.org")
    assert "Vul de postcode bij uw e-mailadres in" in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_half_quiet_hours(register):
    response = register(quiet_start="22:00")
    assert response.status_code == 400
    assert "zowel het begin als het einde" in response.content.decode()
    assert_nothing_saved()


def test_it_keeps_the_email_unconfirmed_and_unmailed_until_the_phone_is_confirmed(register):
    response = register(email="iemand@example.org", email_postcode="3511AA", wants_email="on")
    assert response.status_code == 302
    participant = Participant.objects.get()
    assert participant.email == "iemand@example.org"
    assert participant.email_postcode == "3511 AA"
    assert participant.email_municipality.name == "Utrecht"
    assert participant.email_confirmed_at is None
    assert mail.outbox == []


def test_it_shows_one_more_address_block_without_javascript(client):
    data = form_data(phone="06 1234")
    data["action"] = "add_address"
    response = client.post(reverse("participants:register"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="address-block"') == 2
    assert 'name="address_count" id="address_count" value="2"' in html
    # The new block is empty, with its defaults: "always", the Netherlands, one window.
    assert 'id="id_address-1-postcode"' in html
    assert re.search(r'name="address-1-schedule" value="always"[^>]*checked', html)
    assert 'name="address-1-window_count" value="1"' in html
    # What was typed stays, and nothing is validated yet.
    assert 'value="06 1234"' in html
    assert 'value="3441 AB"' in html
    assert "aria-invalid" not in html
    assert_nothing_saved()


def test_it_shows_one_more_window_without_javascript_and_keeps_what_was_typed(client):
    home = dict(HOME, windows=[{"days": [0, 1], "start": "18:00", "end": "23:00"}])
    data = form_data(phone="06 1234", addresses=(home,))
    data["action"] = "add_window-0"
    response = client.post(reverse("participants:register"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="window"') == 2
    assert 'name="address-0-window_count" value="2"' in html
    assert 'id="id_address-0-window-1-start"' in html
    assert 'value="18:00"' in html and 'value="23:00"' in html
    assert "aria-invalid" not in html
    # The page goes to the new window.
    assert 'formaction="#address-0-window-2"' in html
    assert_nothing_saved()


def test_it_offers_no_more_than_three_windows_and_five_addresses(client):
    data = form_data(phone="06 1234", address_count="5")
    data["address-0-window_count"] = "3"
    data["action"] = "add_window-0"
    html = client.post(reverse("participants:register"), data).content.decode()
    assert html.count('class="address-block"') == 5
    assert html.count('id="address-0-window-') == 3
    # The first address has its three windows: its button is hidden; the second has one.
    assert re.search(r'<p class="add-window" hidden><button[^>]*value="add_window-0"', html)
    assert re.search(r'<p class="add-window"><button[^>]*value="add_window-1"', html)
    assert 'value="add_address"' not in html  # five addresses: no button for a sixth
    data["action"] = "add_address"
    html = client.post(reverse("participants:register"), data).content.decode()
    assert html.count('class="address-block"') == 5


def test_a_window_filled_in_beyond_the_count_is_shown_and_registered(register):
    """A page whose count was lost (an old page, a script) still keeps what was filled in."""
    home = dict(
        HOME,
        windows=[
            {"days": [0], "start": "18:00", "end": "23:00"},
            {"days": [5, 6], "start": "09:00", "end": "23:00"},
        ],
    )
    response = register(addresses=(home,), **{"address-0-window_count": "1"})
    assert response.status_code == 302
    assert ActiveWindow.objects.count() == 2


def test_it_does_not_reveal_or_change_an_existing_registration(client, register, make_participant):
    existing = make_participant("+31612345678")
    before = (existing.updated_at, list(existing.addresses.values_list("postcode", "house_number")))

    response = register(addresses=(WORK,), wants_voice="on")

    # The visitor sees what every registrant sees: a redirect to a code page.
    assert response.status_code == 302
    assert response.url.startswith("/aanmelden/code/")
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Vul de code uit de sms in" in page.content.decode()
    # Nothing changed, no code was made; the owner got a manage link instead of a code.
    existing.refresh_from_db()
    assert Participant.objects.count() == 1
    assert (
        existing.updated_at,
        list(existing.addresses.values_list("postcode", "house_number")),
    ) == before
    assert not existing.wants_voice
    assert PhoneCode.objects.count() == 0
    [message] = sms_sent()
    assert message.to == "+31612345678"
    assert "al aangemeld" in message.text
    assert "http://testserver/beheren/link/" in message.text
    assert not re.search(r"\b\d{6}\b", message.text)


def test_it_answers_a_code_page_of_an_existing_number_like_any_other(
    client, register, make_participant
):
    make_participant("+31612345678")
    url = register().url
    for attempt in range(1, 6):
        response = client.post(url, {"code": "123456"})
        assert response.status_code == 400
        text = response.content.decode()
        if attempt < 5:
            assert f"U kunt het nog {5 - attempt} keer proberen" in text
        else:
            assert "geblokkeerd na vijf onjuiste pogingen" in text
    assert (
        client.post(reverse("participants:resend_code", args=[url.split("/")[-2]])).status_code
        == 302
    )
    assert len(sms_sent()) == 1  # only the manage link to the owner


def test_it_replaces_a_registration_that_was_never_confirmed(register, make_participant):
    stale = make_participant("+31612345678", confirmed=False)
    response = register(addresses=(WORK,))
    assert response.status_code == 302
    participant = Participant.objects.get()
    assert participant.pk != stale.pk
    assert list(participant.addresses.values_list("postcode", flat=True)) == ["3511 AA"]
    assert "code" in sms_sent()[0].text


def test_it_stores_an_address_label_clean(register):
    response = register(addresses=(dict(HOME, label="Thuis\u202e\u200b"),))
    assert response.status_code == 302
    assert Participant.objects.get().addresses.get().label == "Thuis"


def test_an_address_page_shows_one_more_window_without_javascript(manage_client, make_participant):
    participant = make_participant()
    client = manage_client(participant)
    address = participant.addresses.first()
    before = (address.always_active, list(address.windows.values_list("days", "start", "end")))
    data = {
        "address-0-label": "Thuis",
        "address-0-country": "NL",
        "address-0-postcode": "3441 AB",
        "address-0-house_number": "12",
        "address-0-schedule": "chosen",
        "address-0-window-0-days": ["0"],
        "address-0-window-0-start": "18:00",
        "address-0-window-0-end": "23:00",
        "address-0-window_count": "1",
        "action": "add_window-0",
    }
    response = client.post(reverse("participants:address_edit", args=[address.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="window"') == 2
    assert 'value="18:00"' in html and "aria-invalid" not in html
    # Nothing was changed by asking for a window.
    address.refresh_from_db()
    after = (address.always_active, list(address.windows.values_list("days", "start", "end")))
    assert after == before


def test_the_empty_form_rendered_once_still_follows_the_visitors_language(client):
    """The empty form's fields are rendered once per language and process: a Dutch
    visitor first must not give an English visitor the Dutch fields, nor the other way."""
    url = reverse("participants:register")
    dutch = client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "nl"
    again = client.get(url).content.decode()
    assert "Nog een adres toevoegen" in dutch and "Nog een adres toevoegen" in again
    assert "Add another address" in english and "Nog een adres toevoegen" not in english
    # Each page has its own CSRF token, outside the shared fields.
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    assert token.search(dutch) and token.search(again)
