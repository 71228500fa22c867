"""The staff_required decorator every staff view uses."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from apps.governance.access import is_staff_verified, staff_required


@staff_required
def plain_view(request):
    return HttpResponse("binnen")


@staff_required(verb="action.manage")
def operator_view(request, pk):
    return HttpResponse(f"actie {pk}")


def request_as(user, *, verified=True, path="/medewerkers/iets/?x=1"):
    request = RequestFactory().get(path)
    if user is not None and not isinstance(user, AnonymousUser):
        user.is_verified = lambda: verified
    request.user = user
    return request


def test_it_lets_a_verified_user_in(operator_mn):
    response = plain_view(request_as(operator_mn))

    assert response.status_code == 200
    assert response.content == b"binnen"


def test_it_sends_a_visitor_to_log_in_and_back():
    response = plain_view(request_as(AnonymousUser()))

    assert response.status_code == 302
    assert response.url == "/medewerkers/inloggen/?next=/medewerkers/iets/%3Fx%3D1"


def test_it_sends_a_user_without_second_factor_to_log_in(operator_mn):
    response = plain_view(request_as(operator_mn, verified=False))

    assert response.status_code == 302
    assert response.url.startswith("/medewerkers/inloggen/")


def test_it_lets_an_unverified_user_in_when_the_second_factor_is_off(operator_mn, settings):
    settings.STAFF_OTP_REQUIRED = False

    assert plain_view(request_as(operator_mn, verified=False)).status_code == 200


def test_it_refuses_a_user_without_the_role_for_the_verb(woerden_author):
    with pytest.raises(PermissionDenied):
        operator_view(request_as(woerden_author), pk=7)


def test_it_lets_a_user_with_the_role_for_the_verb_in(operator_mn):
    response = operator_view(request_as(operator_mn), pk=7)

    assert response.content == b"actie 7"


def test_it_asks_for_log_in_before_it_checks_the_role():
    response = operator_view(request_as(AnonymousUser()), pk=7)

    assert response.status_code == 302


def test_it_refuses_an_unknown_verb_when_the_view_is_defined():
    with pytest.raises(KeyError):
        staff_required(verb="actie.starten")


def test_it_refuses_to_be_called_with_a_verb_as_positional_argument():
    with pytest.raises(TypeError):
        staff_required("action.manage")


def test_it_keeps_the_view_name():
    assert plain_view.__name__ == "plain_view"


def test_it_does_not_count_an_inactive_user_as_verified(operator_mn):
    operator_mn.is_active = False
    operator_mn.is_verified = lambda: True

    assert not is_staff_verified(operator_mn)
