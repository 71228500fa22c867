"""Staff log-in with password and TOTP code, throttling by django-axes, log-out, home page."""

import json
import time

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.governance import totp
from apps.governance.models import AuditEntry, User
from apps.governance.roles import Role
from tests.conftest import TEST_PASSWORD

LOGIN_URL = reverse("governance:login")
HOME_URL = reverse("governance:home")


def device_of(user):
    return totp.confirmed_devices(user).first()


def wrong_code(device) -> str:
    """A code the device accepts at no time step within its tolerance."""
    now = time.time()
    accepted = {totp.code_at(device, now + step * device.step) for step in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in accepted)


def log_in(client, user, *, code=None, password=TEST_PASSWORD, next_url=None):
    data = {
        "username": user.get_username() if isinstance(user, User) else user,
        "password": password,
        "otp_token": code if code is not None else totp.code_at(device_of(user)),
    }
    if next_url is not None:
        data["next"] = next_url
    return client.post(LOGIN_URL, data)


def audit(verb):
    return list(AuditEntry.objects.filter(verb=verb))


def test_it_logs_in_with_password_and_code(client, operator_mn):
    response = log_in(client, operator_mn)

    assert response.status_code == 302
    assert response.url == HOME_URL
    home = client.get(HOME_URL)
    assert home.status_code == 200
    assert home.wsgi_request.user == operator_mn
    assert home.wsgi_request.user.is_verified()


def test_it_writes_the_log_in_to_the_audit_trail(client, operator_mn):
    log_in(client, operator_mn)

    [entry] = audit("login")
    assert entry.actor == operator_mn
    assert entry.organisation == operator_mn.organisation
    assert entry.ip == "127.0.0.1"
    assert entry.detail == {"second_factor": True}


def test_it_keeps_out_a_wrong_code_with_a_clear_error(client, operator_mn):
    response = log_in(client, operator_mn, code=wrong_code(device_of(operator_mn)))

    assert response.status_code == 400
    assert "De code is onjuist of verlopen" in response.text
    assert client.get(HOME_URL).status_code == 302
    [entry] = audit("login.failed")
    assert entry.actor == operator_mn
    assert entry.detail == {"username": "operator-mn", "reason": "code_wrong"}


def test_it_ties_the_code_error_to_its_field(client, operator_mn):
    response = log_in(client, operator_mn, code=wrong_code(device_of(operator_mn)))

    assert 'id="id_otp_token_error"' in response.text
    assert 'aria-describedby="id_otp_token_helptext id_otp_token_error"' in response.text
    assert 'aria-invalid="true"' in response.text


def test_it_keeps_out_a_wrong_password_without_saying_which_part(client, operator_mn):
    response = log_in(client, operator_mn, password="niet-het-wachtwoord")

    assert response.status_code == 400
    assert "Gebruikersnaam of wachtwoord is onjuist" in response.text
    assert client.get(HOME_URL).status_code == 302
    [entry] = audit("login.failed")
    assert entry.actor is None
    assert entry.detail == {"username": "operator-mn", "reason": "credentials"}


def test_it_never_writes_the_password_or_code(client, operator_mn):
    secret = "geheim-wachtwoord-123"
    code = wrong_code(device_of(operator_mn))
    log_in(client, operator_mn, password=secret, code=code)
    log_in(client, operator_mn, code=code)

    stored = json.dumps(list(AuditEntry.objects.values("detail", "target_repr")))
    attempts = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    for value in (secret, TEST_PASSWORD, code):
        assert value not in stored
        assert value not in attempts


def test_it_requires_the_code(client, operator_mn):
    response = log_in(client, operator_mn, code="")

    assert response.status_code == 400
    assert client.get(HOME_URL).status_code == 302
    assert response.context["form"].errors["otp_token"]


def test_it_refuses_a_code_used_before(client, operator_mn):
    code = totp.code_at(device_of(operator_mn))
    assert log_in(client, operator_mn, code=code).status_code == 302
    client.post(reverse("governance:logout"))

    response = log_in(client, operator_mn, code=code)

    assert response.status_code == 400
    assert client.get(HOME_URL).status_code == 302


def test_it_tells_a_user_without_authenticator_to_ask_a_manager(client, make_staff_user):
    user = make_staff_user("nieuw", None, [], device=False)

    response = log_in(client, user, code="123456")

    assert response.status_code == 400
    assert "nog geen authenticator-app ingesteld" in response.text
    assert audit("login.failed")[0].detail["reason"] == "code_no_device"


def test_it_locks_out_after_too_many_wrong_passwords(client, operator_mn):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, operator_mn, password="fout").status_code == 400

    response = log_in(client, operator_mn, password="fout")

    assert response.status_code == 429
    assert "governance/locked_out.html" in [t.name for t in response.templates]
    assert "Inloggen tijdelijk geblokkeerd" in response.text
    [entry] = audit("login.locked_out")
    assert entry.detail == {"username": "operator-mn", "reason": "credentials"}
    # The right password and code no longer help.
    assert log_in(client, operator_mn).status_code == 429
    assert client.get(HOME_URL).status_code == 302


def test_it_counts_wrong_codes_towards_the_lock_out(client, operator_mn):
    code = wrong_code(device_of(operator_mn))
    responses = [log_in(client, operator_mn, code=code) for _ in range(settings.AXES_FAILURE_LIMIT)]

    assert [r.status_code for r in responses[:-1]] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert responses[-1].status_code == 429
    assert len(audit("login.locked_out")) == 1


@pytest.mark.parametrize(
    ("remote", "appended"),
    [("203.0.113.50", ""), ("127.0.0.1", ", 198.51.100.30")],
    ids=["around the proxy", "through the proxy"],
)
def test_a_spoofed_forwarded_for_does_not_escape_the_lock_out(
    operator_mn, settings, remote, appended
):
    """Each guess names another address in X-Forwarded-For (and our proxy appends the real
    one, where the request came through it): still one client, still locked out."""
    settings.PROXY_COUNT = 1
    statuses = []
    for n in range(settings.AXES_FAILURE_LIMIT + 2):
        client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}{appended}")
        statuses.append(log_in(client, operator_mn, password="fout").status_code)

    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [400] * (limit - 1) + [429] * 3
    [attempt] = AccessAttempt.objects.all()
    assert attempt.ip_address == (remote if not appended else "198.51.100.30")


def test_it_locks_out_one_username_not_the_others(client, operator_mn, operator_ams):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, operator_mn, password="fout")

    assert log_in(client, operator_ams).status_code == 302


def test_it_goes_to_the_page_asked_for(client, manager):
    response = log_in(client, manager, next_url="/beheer/")

    assert response.status_code == 302
    assert response.url == "/beheer/"


def test_it_ignores_a_next_page_on_another_host(client, manager):
    response = log_in(client, manager, next_url="https://example.org/phish")

    assert response.url == HOME_URL


def test_it_logs_in_without_code_when_the_second_factor_is_off(client, operator_mn, settings):
    settings.STAFF_OTP_REQUIRED = False

    response = log_in(client, operator_mn, code="")

    assert response.status_code == 302
    assert client.get(HOME_URL).status_code == 200
    assert audit("login")[0].detail == {"second_factor": False}


def test_it_still_checks_a_code_given_when_the_second_factor_is_off(client, operator_mn, settings):
    settings.STAFF_OTP_REQUIRED = False

    response = log_in(client, operator_mn, code=wrong_code(device_of(operator_mn)))

    assert response.status_code == 400


def test_it_logs_out_and_writes_it_down(staff_client, operator_mn):
    client = staff_client(operator_mn)

    response = client.post(reverse("governance:logout"))

    assert response.status_code == 302
    assert response.url == LOGIN_URL
    assert client.get(HOME_URL).status_code == 302
    [entry] = audit("logout")
    assert entry.actor == operator_mn


def test_it_logs_out_only_by_post(staff_client, operator_mn):
    client = staff_client(operator_mn)

    assert client.get(reverse("governance:logout")).status_code == 405
    assert client.get(HOME_URL).status_code == 200


def test_it_logs_out_of_the_admin_through_the_same_door(staff_client, manager):
    client = staff_client(manager)

    client.post(reverse("admin:logout"))

    assert client.get(HOME_URL).status_code == 302
    assert len(audit("logout")) == 1


def test_it_shows_the_login_form_accessibly(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    text = response.text
    assert '<label for="id_username">' in text
    assert '<label for="id_password">' in text
    assert '<label for="id_otp_token">' in text
    assert 'autocomplete="one-time-code"' in text
    assert '<body class="staff">' in text


# The staff home page ---------------------------------------------------------------------


def test_it_greets_staff_with_organisation_roles_and_scope(staff_client, police_team_user):
    response = staff_client(police_team_user).get(HOME_URL)

    text = response.text
    assert "Welkom, team-woerden" in text
    assert "Politieteam Woerden-Oudewater-Montfoort" in text
    assert "Mailauteur" in text
    assert "3 gemeenten" in text
    assert "Oudewater" in text
    assert reverse("admin:index") in text


def test_it_shows_a_manager_the_whole_country(staff_client, manager):
    text = staff_client(manager).get(HOME_URL).text

    assert "Heel Nederland." in text
    assert "Naar het beheer van Burgernet" in text


def test_it_tells_a_user_without_organisation_it_can_do_nothing(staff_client, make_staff_user):
    user = make_staff_user("los", None, [Role.OPERATOR], first_name="Kim")

    text = staff_client(user).get(HOME_URL).text

    assert "Welkom, Kim" in text
    assert "U hoort nog bij geen organisatie" in text
    assert "Naar het beheer van Burgernet" not in text


def test_it_sends_an_unverified_user_to_log_in(staff_client, operator_mn):
    response = staff_client(operator_mn, verified=False).get(HOME_URL)

    assert response.status_code == 302
    assert response.url == f"{LOGIN_URL}?next={HOME_URL}"


@pytest.mark.parametrize("path", [HOME_URL, "/beheer/"])
def test_it_sends_a_visitor_to_log_in(path):
    response = Client().get(path, follow=True)

    last_url, _status = response.redirect_chain[-1]
    assert last_url.startswith(LOGIN_URL)
    assert response.status_code == 200


def test_it_slows_down_codes_tried_in_quick_succession(client, operator_mn):
    device = device_of(operator_mn)
    log_in(client, operator_mn, code=wrong_code(device))

    response = log_in(client, operator_mn, code=totp.code_at(device))

    assert response.status_code == 400
    assert "Te veel onjuiste codes achter elkaar" in response.text


def test_it_tells_a_logged_in_user_without_access_who_it_is(staff_client, woerden_author):
    client = staff_client(woerden_author)

    response = client.get(LOGIN_URL, {"next": "/beheer/governance/auditentry/"})

    assert response.status_code == 200
    assert "U bent ingelogd als mail-woerden" in response.text
