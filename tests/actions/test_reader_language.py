"""An action's messages in the reader's language, never the operator's screen language: the
phrasebook, the texts per language, the free description per language, the operator's own
SMS text, and the preview of a step's message."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from apps.actions import services, wording
from apps.actions.models import Action, PersonDescription
from apps.channels import gsm
from apps.channels.models import OutgoingMessage
from apps.channels.senders import sms
from apps.participants.models import Language

from .conftest import action_fields, release

DUTCH_CALL = "Gezien? Bel 0800-0011 (bij spoed 112)."
GERMAN_CALL = "Etwas gesehen? Rufen Sie 0800-0011 an (im Notfall 112)."


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://burgernet.test"
    settings.SMS_MAX_PARTS = 3


def _draft(by, *, persons=({"sex": "male", "age": "82", "clothing": "grijze jas"},), **fields):
    return services.action_create(by=by, persons=list(persons), **action_fields(**fields))


def _released(by, **fields):
    """A draft released by `by` while the operator's screen is in English."""
    action = _draft(by, **fields)
    with translation.override("en"):
        return services.action_release(action=action, by=by).message


# The phrasebook ----------------------------------------------------------------------------


def test_every_phrase_exists_in_every_language():
    dutch = set(wording.PHRASES["nl"])
    for language in wording.LANGUAGES:
        assert set(wording.PHRASES[language]) == dutch, language
        assert all(wording.PHRASES[language].values()), language


def test_the_phrasebook_names_every_kind_result_and_sex_with_the_models_dutch_label():
    with translation.override("nl"):
        for choices, prefix in (
            (Action.Kind, "kind"),
            (Action.Result, "result"),
            (PersonDescription.Sex, "sex"),
        ):
            for value, label in choices.choices:
                assert wording.PHRASES["nl"][f"{prefix}.{value}"] == str(label)


def test_the_phrasebook_speaks_the_languages_participants_choose():
    assert tuple(Language.values) == wording.LANGUAGES
    assert wording.phrase("call", "xx") == DUTCH_CALL  # an unknown language reads Dutch


# The alert ------------------------------------------------------------------------------


def test_an_operator_working_in_english_sends_dutch_to_a_dutch_reader(operator_mn):
    message = _released(operator_mn)
    code = Action.objects.get(release_message=message).verification_code

    assert message.title == "Burgernet: Vermiste man (82)"
    assert message.body == (
        f"vermissing\nControlecode {code}\nman, 82 jaar, grijze jas\n"
        f"Loopt slecht, is in de war.\n{DUTCH_CALL}"
    )
    assert message.data["call"] == DUTCH_CALL
    start, end = message.data["shorten_first"]
    assert message.body[start:end] == "Loopt slecht, is in de war."
    # What a Dutch reader's SMS says today: Dutch, whatever the operator's screen said.
    text = sms.alert_text(message)
    assert "vermissing" in text and DUTCH_CALL in text and "Seen anything" not in text


def test_each_reader_language_gets_the_fixed_wording_in_that_language(operator_mn):
    message = _released(operator_mn)
    code = Action.objects.get(release_message=message).verification_code
    texts = message.data["texts"]

    assert set(texts) == {"en", "de", "fr"}
    german = texts["de"]
    assert german["title"] == "Burgernet: Vermiste man (82)"  # the operator's title
    assert german["body"] == (
        f"vermisste Person\nPrüfcode {code}\nMann, 82 Jahre, grijze jas\n"
        f"Loopt slecht, is in de war.\n{GERMAN_CALL}"
    )
    assert german["call"] == GERMAN_CALL
    assert texts["en"]["body"].startswith(
        f"missing person\nCheck code {code}\nman, 82 years old, grijze jas\n"
    )
    assert texts["en"]["call"] == "Seen anything? Call 0800-0011 (emergency: 112)."
    assert texts["fr"]["body"].startswith(
        f"personne disparue\nCode de contrôle {code}\nhomme, 82 ans, grijze jas\n"
    )
    for language, text in texts.items():
        assert text["body"].endswith(text["call"]), language
        start, end = text["shorten_first"]
        assert text["body"][start:end] == "Loopt slecht, is in de war.", language


def test_the_fixed_wording_does_not_follow_the_screen_language_in_the_console(
    staff_client, operator_mn
):
    action = _draft(operator_mn)
    client = staff_client(operator_mn)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert b'lang="en"' in client.get(reverse("console:detail", args=[action.pk])).content

    response = client.post(reverse("console:release", args=[action.pk]), {"confirm": "yes"})

    assert response.status_code == 302
    message = Action.objects.get(pk=action.pk).release_message
    assert message.body.startswith(f"vermissing\nControlecode {action.verification_code}\nman")
    assert message.body.endswith(DUTCH_CALL)
    assert message.data["texts"]["de"]["body"].endswith(GERMAN_CALL)


def test_an_exercise_says_so_in_each_language(operator_mn):
    message = _released(operator_mn, is_exercise=True)

    assert message.title.startswith("Burgernet: OEFENING – ")
    assert message.body.startswith("Dit is een oefening. vermissing")
    german = message.data["texts"]["de"]
    assert german["title"] == "Burgernet: ÜBUNG – Vermiste man (82)"
    assert german["body"].startswith("Dies ist eine Übung. vermisste Person")
    start, end = german["shorten_first"]
    assert german["body"][start:end] == "Loopt slecht, is in de war."
    assert message.data["texts"]["fr"]["body"].startswith("Ceci est un exercice.")


def test_a_long_description_is_shortened_in_every_language_and_the_call_line_stays(operator_mn):
    message = _released(operator_mn, text="x" * 1000, text_de="y" * 1000)

    for language, title, body in [
        ("nl", message.title, message.body),
        *((lang, t["title"], t["body"]) for lang, t in message.data["texts"].items()),
    ]:
        assert len(body) == services.BODY_MAX, language
        assert body.endswith(wording.phrase("call", language)), language
        assert len(title) <= services.TITLE_MAX
    assert "yyy…\n" in message.data["texts"]["de"]["body"]


# Updates, the end and the correction ---------------------------------------------------


def test_follow_ups_carry_their_fixed_wording_in_each_language(operator_mn):
    action = release(_draft(operator_mn), operator_mn)
    with translation.override("en"):
        update = services.action_update(
            action=action, by=operator_mn, text="Gezien bij het station."
        )
        end = services.action_end(
            action=action,
            by=operator_mn,
            information_contributed=True,
            result="found_safe",
            text="Hij is terecht.",
        )

    assert update.message.title == "Burgernet: Update: Vermiste man (82)"
    code = action.verification_code
    assert update.message.body == f"Gezien bij het station.\nControlecode {code}"
    assert update.message.data["texts"]["de"]["title"] == (
        "Burgernet: Aktualisierung: Vermiste man (82)"
    )
    assert end.message.title == "Burgernet: Afgelopen: Vermiste man (82)"
    assert end.message.body == f"gevonden. Hij is terecht.\nControlecode {code}"
    assert end.message.data["texts"]["en"]["title"] == "Burgernet: Ended: Vermiste man (82)"
    assert end.message.data["texts"]["de"]["body"] == (
        f"aufgefunden. Hij is terecht.\nPrüfcode {code}"
    )
    assert end.message.data["texts"]["fr"]["title"] == "Burgernet: Terminé : Vermiste man (82)"
    for message in (update.message, end.message):
        assert "call" not in message.data and "sms" not in message.data


def test_a_correction_is_named_in_each_language(operator_mn):
    action = release(_draft(operator_mn), operator_mn)
    with translation.override("en"):
        sent = services.action_cancel(action=action, by=operator_mn, text="Per vergissing.")

    assert sent.message.title == "Burgernet: Rectificatie: Vermiste man (82)"
    assert sent.message.data["texts"]["de"]["title"] == "Burgernet: Berichtigung: Vermiste man (82)"
    assert sent.message.data["texts"]["fr"]["title"].startswith("Burgernet: Rectification : ")


# The free description in other languages ------------------------------------------------


def test_a_reader_gets_the_description_in_their_language_where_it_was_written(operator_mn):
    message = _released(
        operator_mn,
        text="Loopt slecht.",
        text_en="Walks with difficulty.",
        text_fr="Marche difficilement.",
    )
    texts = message.data["texts"]

    assert "Loopt slecht." in message.body and "Walks" not in message.body
    assert "\nWalks with difficulty.\n" in texts["en"]["body"]
    assert "\nMarche difficilement.\n" in texts["fr"]["body"]
    assert "\nLoopt slecht.\n" in texts["de"]["body"]  # not written in German: Dutch
    assert texts["de"]["body"].endswith(GERMAN_CALL)  # the fixed wording still German
    start, end = texts["en"]["shorten_first"]
    assert texts["en"]["body"][start:end] == "Walks with difficulty."


def test_a_description_only_in_another_language_does_not_reach_dutch_readers(operator_mn):
    message = _released(operator_mn, text="", text_en="Walks with difficulty.")
    code = Action.objects.get(release_message=message).verification_code

    assert message.body == (
        f"vermissing\nControlecode {code}\nman, 82 jaar, grijze jas\n{DUTCH_CALL}"
    )
    assert "shorten_first" not in message.data
    assert "Walks with difficulty." in message.data["texts"]["en"]["body"]


def test_the_descriptions_in_other_languages_are_held_to_the_same_limit(operator_mn):
    before = Action.objects.count()
    with pytest.raises(ValidationError) as error:
        _draft(operator_mn, text_de="z" * 1001)
    assert "text_de" in error.value.message_dict
    assert Action.objects.count() == before


def test_the_descriptions_in_other_languages_are_stored_clean(operator_mn):
    action = _draft(operator_mn, text_en="Walks\u200b slowly\u202e.")
    assert Action.objects.get(pk=action.pk).text_en == "Walks slowly."


# The operator's own SMS text ----------------------------------------------------------------


def _link_length(action: Action) -> int:
    """The verification line and the link, each on a line of its own after the text."""
    return len(action.verification_line()) + 1 + len(action.page_url())


def test_an_own_sms_text_goes_as_the_dutch_sms(operator_mn):
    message = _released(operator_mn, sms_text="Vermist: man (82), grijze jas. Bel 0800-0011!")
    code = Action.objects.get(release_message=message).verification_code

    assert message.data["sms"] == {
        "nl": f"Vermist: man (82), grijze jas. Bel 0800-0011!\nControlecode {code}"
    }
    assert "sms" not in message.data["texts"]["de"]


def test_an_own_sms_text_is_stored_as_it_goes_out_in_gsm7(operator_mn):
    message = _released(operator_mn, sms_text="Vermist… ‘man’ – grijze jas.")
    code = Action.objects.get(release_message=message).verification_code
    assert message.data["sms"] == {"nl": f"Vermist... 'man' - grijze jas.\nControlecode {code}"}


def test_without_an_own_sms_text_the_message_names_none(operator_mn):
    assert "sms" not in _released(operator_mn).data


def test_an_own_sms_text_that_fits_exactly_is_taken(operator_mn):
    action = _draft(operator_mn)
    room = 3 * gsm.GSM7_PART - _link_length(action) - 1  # the line break before the link
    action.sms_text = "a" * room
    action.full_clean()
    counted = gsm.segments(f"{action.own_sms()}\n{action.verification_line()}\n{action.page_url()}")
    assert (counted.encoding, counted.parts, counted.units) == ("gsm7", 3, 3 * gsm.GSM7_PART)

    action.sms_text = "a" * (room + 1)
    with pytest.raises(ValidationError) as error:
        action.full_clean()
    assert error.value.message_dict["sms_text"] == [
        "Deze sms-tekst wordt met de link naar de actie 4 sms-delen; er mogen hooguit 3 zijn. "
        "Maak de tekst korter."
    ]


def test_a_too_long_sms_text_is_refused_and_nothing_is_saved(operator_mn):
    before = Action.objects.count()
    with pytest.raises(ValidationError) as error:
        _draft(operator_mn, sms_text="Let op. " * 80)
    assert [e.code for e in error.value.error_dict["sms_text"]] == ["sms_too_long"]
    assert Action.objects.count() == before


def test_an_sms_text_that_forces_ucs2_is_refused_with_the_reason(operator_mn):
    # 200 characters fit three GSM-7 parts easily; one emoji makes them UCS-2: 4 parts.
    action = _draft(operator_mn)
    action.sms_text = "Vermiste man, grijze jas, loopt slecht. " * 5 + "\U0001f6a8"
    with pytest.raises(ValidationError) as error:
        action.full_clean()
    problems = error.value.error_dict["sms_text"]
    assert [e.code for e in problems] == ["sms_too_long", "sms_unicode"]
    messages = error.value.message_dict["sms_text"]
    assert "5 sms-delen" in messages[0]
    assert "\U0001f6a8" in messages[1] and "67 tekens" in messages[1]
    # Without the emoji the same text is GSM-7 and fits.
    action.sms_text = action.sms_text[:-1]
    action.full_clean()


def test_the_sms_room_depends_on_the_configured_parts(operator_mn, settings):
    settings.SMS_MAX_PARTS = 1
    action = _draft(operator_mn)
    action.sms_text = "a" * (gsm.GSM7_SINGLE - _link_length(action) - 1)
    action.full_clean()
    action.sms_text += "a"
    with pytest.raises(ValidationError):
        action.full_clean()


# The preview --------------------------------------------------------------------------------


def test_the_preview_is_the_message_the_release_sends_and_writes_nothing(operator_mn):
    action = _draft(operator_mn, text_en="Walks with difficulty.", sms_text="Kort en goed.")
    messages_before = OutgoingMessage.objects.count()

    with translation.override("en"):
        preview = services.action_message_preview(action)

    assert preview.pk is None
    assert OutgoingMessage.objects.count() == messages_before
    assert Action.objects.get(pk=action.pk).state == Action.State.DRAFT
    sent = services.action_release(action=action, by=operator_mn).message
    for field in ("source", "title", "body", "url", "topic", "urgency", "ttl_seconds", "data"):
        assert getattr(preview, field) == getattr(sent, field), field


def test_the_preview_of_an_end_message_uses_the_result_given(operator_mn):
    action = release(_draft(operator_mn), operator_mn)
    preview = services.action_message_preview(
        action, "end", text="Hij is terecht.", result="found_safe"
    )
    assert preview.body == (f"gevonden. Hij is terecht.\nControlecode {action.verification_code}")
    assert preview.data["texts"]["fr"]["body"].startswith("personne retrouvée.")
    with pytest.raises(ValueError):
        services.action_message_preview(action, "nonsense")


# The console's form -------------------------------------------------------------------------


def _form_data(**overrides) -> dict:
    data = {
        "kind": "missing_person",
        "is_time_critical": "on",
        "title": "Vermiste vrouw (79)",
        "text": "Dementerend, loopt met rollator.",
        "lat": "52.0907",
        "lon": "5.1214",
        "radius_m": "2000",
        "person-TOTAL_FORMS": "0",
        "person-INITIAL_FORMS": "0",
        "vehicle-TOTAL_FORMS": "0",
        "vehicle-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_the_form_keeps_the_other_languages_folded_until_used(staff_client, operator_mn):
    page = staff_client(operator_mn).get(reverse("console:create")).content.decode()
    assert '<details id="other-languages">' in page
    assert '<details id="own-sms">' in page
    for name in ("text_en", "text_de", "text_fr", "sms_text"):
        assert f'name="{name}"' in page
    assert "hooguit 3 sms-delen" in page


def test_the_console_saves_the_texts_in_other_languages_and_the_own_sms(staff_client, operator_mn):
    client = staff_client(operator_mn)
    response = client.post(
        reverse("console:create"),
        _form_data(
            text_en="Walks with a rollator.",
            text_fr="Marche avec un déambulateur.",
            sms_text="Vermiste vrouw (79), rode jas.",
        ),
    )
    assert response.status_code == 302
    action = Action.objects.get()
    assert (action.text_en, action.text_de, action.text_fr) == (
        "Walks with a rollator.",
        "",
        "Marche avec un déambulateur.",
    )
    assert action.sms_text == "Vermiste vrouw (79), rode jas."
    page = client.get(reverse("console:edit", args=[action.pk])).content.decode()
    assert '<details id="other-languages" open>' in page
    assert '<details id="own-sms" open>' in page


def test_the_console_refuses_a_too_long_sms_text_and_opens_its_field(staff_client, operator_mn):
    response = staff_client(operator_mn).post(
        reverse("console:create"), _form_data(sms_text="Let op! " * 80)
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert '<details id="own-sms" open>' in page
    assert "sms-delen; er mogen hooguit 3 zijn" in page
    assert not Action.objects.exists()


def test_the_console_refuses_a_too_long_text_in_another_language(staff_client, operator_mn):
    response = staff_client(operator_mn).post(
        reverse("console:create"), _form_data(text_de="z" * 1001)
    )
    assert response.status_code == 400
    assert '<details id="other-languages" open>' in response.content.decode()
    assert not Action.objects.exists()


def test_released_by_an_operator_in_english_each_reader_hears_and_reads_their_language(
    operator_mn, make_participant, settings
):
    """The whole way: an operator whose screen is English releases; the outbox sends each
    participant the SMS and the call in their own language, German free text where the
    operator wrote one, Dutch otherwise."""
    from apps.channels import outbox
    from apps.channels.senders import voice
    from apps.participants.models import Participant

    from .conftest import UTRECHT

    settings.SMS_BACKEND = settings.VOICE_BACKEND = "locmem"
    sms.outbox.clear()
    voice.outbox.clear()
    readers = {}
    for language in ("nl", "en", "de", "fr"):
        participant = make_participant(UTRECHT, wants_voice=True)
        Participant.objects.filter(pk=participant.pk).update(language=language)
        readers[participant.phone] = language
    with translation.override("en"):
        action = services.action_create(
            by=operator_mn, **action_fields(text="Loopt slecht.", text_de="Geht schlecht.")
        )
        message = services.action_release(action=action, by=operator_mn).message
    while deliveries := outbox.claim_chunk(message_id=message.pk, limit=50):
        outbox.send_chunk(deliveries)

    texts = {m.to: m.text for m in sms.outbox}
    calls = {c.to: c for c in voice.outbox}
    for phone, language in readers.items():
        assert wording.phrase("call", language) in texts[phone], (language, texts[phone])
    german = next(phone for phone, lang in readers.items() if lang == "de")
    french = next(phone for phone, lang in readers.items() if lang == "fr")
    assert "Geht schlecht." in texts[german]
    assert "Loopt slecht." in texts[french]  # no French text written: the Dutch one
    assert calls[german].language == "de-DE"
    assert "Gezien?" not in texts[german]
