"""Is this message genuine? The verification code every action's texts carry, and the
public page that finds a code or an action link in what a citizen pasted and says whether
it is a real Burgernet action, in which state, with its official page."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.actions import public, services
from apps.actions.email import ActionEmailComposer
from apps.actions.models import (
    VERIFICATION_ALPHABET,
    VERIFICATION_PATTERN,
    Action,
    new_verification_code,
)
from apps.channels import gsm
from apps.channels.senders import sms, webpush

from .conftest import action_fields, release

SITE = "https://www.burgernet.example"
URL = reverse("alerts:verify")
CALL = "Gezien? Bel 0800-0011 (bij spoed 112)."


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SMS_MAX_PARTS = 3
    cache.clear()  # the check is rate limited per IP
    yield
    cache.clear()


@pytest.fixture
def released(draft_mn, operator_mn):
    return release(draft_mn, operator_mn)


def check(client, text):
    return client.post(URL, {"text": text})


# The code -------------------------------------------------------------------------------


def test_every_action_gets_a_short_unambiguous_code_of_its_own(operator_mn):
    actions = [services.action_create(by=operator_mn, **action_fields()) for _ in range(20)]
    codes = [action.verification_code for action in actions]

    assert len(set(codes)) == len(codes)
    for action, code in zip(actions, codes, strict=True):
        assert code.startswith("BN-") and len(code) == 9
        assert set(code[3:]) <= set(VERIFICATION_ALPHABET)
        assert not set(code[3:]) & set("0O1I")
        assert str(action.pk) != code[3:]
        assert Action.objects.get(pk=action.pk).verification_code == code  # stored


def test_a_new_code_is_never_one_in_use(operator_mn, monkeypatch):
    taken = services.action_create(by=operator_mn, **action_fields()).verification_code
    picks = iter(taken[3:] + "ABCDEF")
    monkeypatch.setattr("apps.actions.models.secrets.choice", lambda _alphabet: next(picks))
    assert new_verification_code() == "BN-ABCDEF"


def test_the_code_is_found_in_any_case_and_spelling():
    for text in ("BN-7KQ4XZ", "bn-7kq4xz", "code: bn 7KQ4XZ.", "(BN7KQ4XZ)"):
        assert VERIFICATION_PATTERN.search(text).group(1).upper() == "7KQ4XZ", text
    for text in ("XBN-7KQ4XZ", "BN-7KQ4XZA", "BN-7KQ0XZ", "BN-7KQ"):
        assert VERIFICATION_PATTERN.search(text) is None, text


# The code in every text ---------------------------------------------------------------------


def test_the_code_is_in_the_sms_push_and_email_of_each_message(released, operator_mn):
    code = released.verification_code
    update = services.action_update(action=released, by=operator_mn, text="Gezien bij het station.")
    end = services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Hij is terecht.",
    )
    for message in (released.release_message, update.message, end.message):
        assert f"Controlecode {code}" in sms.alert_text(message), message.source
        assert f"Controlecode {code}" in webpush.payload_base(message)["body"], message.source
        assert f"Controlecode {code}" in ActionEmailComposer().content(message).text
        for language, label in (("en", "Check code"), ("de", "Prüfcode"), ("fr", "Code de")):
            assert f"{code}" in message.data["texts"][language]["body"]
            assert label in message.data["texts"][language]["body"]


def test_the_code_and_the_call_line_survive_a_long_text_in_the_sms(operator_mn):
    draft = services.action_create(
        by=operator_mn,
        persons=[{"sex": "male", "age": "82", "clothing": "grijze jas " * 25}],
        **action_fields(text="Loopt slecht en is in de war. " * 30),
    )
    message = services.action_release(action=draft, by=operator_mn).message

    text = sms.alert_text(message)
    assert gsm.segments(text).parts <= 3
    assert f"Controlecode {draft.verification_code}\n" in text
    assert f"{CALL}\n" in text and text.endswith(message.url)


def test_the_code_survives_a_long_follow_up_in_the_sms(released, operator_mn):
    end = services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Hij is terecht. " * 55,
    )
    text = sms.alert_text(end.message)
    assert gsm.segments(text).parts <= 3
    assert f"...\nControlecode {released.verification_code}\n" in text


def test_an_own_sms_text_carries_the_code_and_still_fits(operator_mn):
    action = services.action_create(by=operator_mn, **action_fields(sms_text="Vermist: man."))
    message = services.action_release(action=action, by=operator_mn).message
    text = sms.alert_text(message)
    assert text == f"Vermist: man.\nControlecode {action.verification_code}\n{message.url}"


# The service --------------------------------------------------------------------------------


def test_a_real_code_is_found(released):
    found = services.action_verify(released.verification_code.lower())
    assert found.is_genuine and found.action == released


def test_a_pasted_sms_with_the_code_is_found(released):
    text = sms.alert_text(released.release_message).replace(released.release_message.url, "")
    found = services.action_verify(f"Doorsturen!! {text}")
    assert found.action == released


def test_a_link_to_the_action_page_is_found(released):
    found = services.action_verify(f"Kijk hier {released.page_url()} en deel het")
    assert found.action == released
    assert services.action_verify(f"/actie/{released.ref}/").action == released


def test_a_link_on_another_site_is_not_vouched_for(released):
    found = services.action_verify(f"https://burgernet-alert.example.com/actie/{released.ref}/")
    assert not found.is_genuine and found.foreign_link


@pytest.mark.parametrize("text", ["BN-ZZZZZZ", "Vermist kind! Deel dit! BN-22XY3Z", "hallo"])
def test_a_made_up_code_or_text_is_not_genuine(released, text):
    assert not services.action_verify(text).is_genuine


def test_a_draft_and_an_exercise_count_as_unknown(draft_mn, operator_mn):
    assert not services.action_verify(draft_mn.verification_code).is_genuine
    assert not services.action_verify(draft_mn.page_url()).is_genuine
    exercise = release(
        services.action_create(by=operator_mn, **action_fields(is_exercise=True)), operator_mn
    )
    assert not services.action_verify(exercise.verification_code).is_genuine


@pytest.mark.parametrize(
    ("text", "code"), [("", "required"), ("   ", "required"), ("x" * 5001, "max_length")]
)
def test_empty_or_overlong_input_is_refused(text, code):
    with pytest.raises(ValidationError) as refused:
        services.action_verify(text)
    assert refused.value.code == code


# The page -----------------------------------------------------------------------------------


def test_the_page_shows_the_form_with_its_label(client):
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Is dit bericht echt?</h1>" in html
    assert '<label for="id_text">Controlecode, bericht of link</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_real_running_action_is_confirmed_with_its_official_page(client, released):
    response = check(client, f"Wat is dit? {released.verification_code}")
    html = response.content.decode()

    assert response.status_code == 200
    assert "Dit is een echte Burgernetactie" in html
    assert "Vermiste man (82)" in html and "Vermissing" in html
    assert "Deze actie loopt nog." in html
    assert f'href="{SITE}/actie/{released.ref}/"' in html


def test_an_ended_action_is_confirmed_with_its_outcome(client, released, operator_mn):
    services.action_end(
        action=released,
        by=operator_mn,
        information_contributed=True,
        result="found_safe",
        text="Thuis.",
    )
    html = check(client, released.page_url()).content.decode()

    assert "Dit is een echte Burgernetactie" in html
    assert "Deze actie is afgelopen: gevonden." in html


def test_a_withdrawn_action_is_named_withdrawn(client, released, operator_mn):
    services.action_cancel(action=released, by=operator_mn, text="Per vergissing.")
    html = check(client, released.verification_code).content.decode()

    assert "Dit is een echte Burgernetactie" in html
    assert "Deze actie is ingetrokken" in html


def test_a_fake_code_gets_the_warning_and_the_advice(client, released):
    html = check(client, "Vermist kind! Deel dit! BN-22XY3Z").content.decode()

    assert "Dit is geen echte Burgernet-actie" in html
    assert "Stuur het bericht niet door." in html and "0800-0011" in html
    assert "Dit is een echte" not in html


def test_a_drafts_code_on_the_page_is_not_found(client, draft_mn):
    html = check(client, draft_mn.verification_code).content.decode()
    assert "Dit is geen echte Burgernet-actie" in html
    assert draft_mn.title not in html


def test_too_long_input_gets_a_clear_error_in_the_summary(client):
    response = check(client, "x" * 5001)
    html = response.content.decode()

    assert response.status_code == 400
    assert 'id="error-summary"' in html and 'href="#id_text"' in html
    assert "Plak hooguit 5000 tekens." in html
    assert "Dit is geen echte" not in html


def test_empty_input_gets_a_clear_error(client):
    response = check(client, "")
    assert response.status_code == 400
    assert "Vul een controlecode in" in response.content.decode()


def test_the_check_is_rate_limited_per_ip(client, released):
    limit, _window = public.VERIFY_LIMITS["verify.ip"]
    for _ in range(limit):
        assert check(client, "BN-ZZZZZZ").status_code == 200
    response = check(client, released.verification_code)

    assert response.status_code == 429
    html = response.content.decode()
    assert "te veel berichten" in html
    assert "Dit is een echte" not in html  # nothing checked beyond the limit
    other = client.post(URL, {"text": "BN-ZZZZZZ"}, REMOTE_ADDR="192.0.2.77")
    assert other.status_code == 200


def test_the_check_needs_the_csrf_token(released):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(URL, {"text": released.verification_code}).status_code == 403


def test_the_action_page_names_its_code_and_links_to_the_check(client, released):
    html = client.get(reverse("alerts:action", kwargs={"ref": released.ref})).content.decode()
    assert released.verification_code in html
    assert f'href="{URL}"' in html


# The migration ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_actions_a_code_each(operator_mn):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("actions", "0009_feed_and_display_indexes")]
    after = [("actions", "0011_action_verification_code_unique")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    unit = old_apps.get_model("governance", "PoliceUnit").objects.first()  # operator_mn's
    for _ in range(3):
        old_apps.get_model("actions", "Action").objects.create(
            police_unit_id=unit.pk, **action_fields()
        )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    try:
        codes = list(Action.objects.values_list("verification_code", flat=True))
        assert len(codes) == 3 and len(set(codes)) == 3
        assert all(VERIFICATION_PATTERN.fullmatch(code) for code in codes)
    finally:
        # Back to the latest state, so the tests after this one find every column.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_operator_sees_the_action_s_code_in_the_console(staff_client, operator_mn):
    action = services.action_create(by=operator_mn, **action_fields())
    page = staff_client(operator_mn).get(reverse("console:detail", args=[action.pk]))
    assert f'id="verification-code">{action.verification_code}<' in page.content.decode()
