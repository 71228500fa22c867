"""Shared fixtures: the reference geography, the role groups, and fixed staff users per role.

The geography (12 provinces, 25 safety regions, 11 police units, 342 municipalities,
4,064 postcode areas) and the role groups are loaded once into the test database when it
is created; every test runs in a transaction on top of them. Tests on a transactional
database (which is emptied after each test) ask for `geography`, which loads what is
missing.

Staff fixtures (each creates its organisation when first asked for):

    operator_mn          operator, Meldkamer Midden-Nederland (unit Midden-Nederland)
    operator_ams         operator, Meldkamer Amsterdam
    national_operator    national operator (AMBER Alert), Landelijke Eenheid
    woerden_author       mail author, Gemeente Woerden (GM0632; mailings need approval)
    woerden_approver     mail approver, Gemeente Woerden
    utrecht_author       mail author, Gemeente Utrecht (GM0344)
    police_team_user     mail author, Politieteam Woerden-Oudewater-Montfoort
    manager              manager, Burgernet-beheer (nationwide)

Every one has the password TEST_PASSWORD, is_staff, and a confirmed TOTP device
(`totp.confirmed_devices(user).first()`, its code `totp.code_at(device)`).
`make_staff_user(...)` makes others; `staff_client(user)` gives a test client logged in
with a verified second factor.

`nominatim` is a stand-in geocoder on 127.0.0.1 (tests/fakes.py), with GEOCODER_URL
pointing at it; `vapid_keys` puts the test run's VAPID pair (tests/fakes.py) in the settings.
"""

import os

import pytest
from django.http import HttpRequest
from django.test import Client, override_settings

from tests.fakes import VAPID_PRIVATE, VAPID_PUBLIC, FakeNominatim

TEST_PASSWORD = "een-lang-testwachtwoord"  # noqa: S105


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Hashing with the production hasher costs most of a second per user."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _dutch_to_start_with():
    """Every test starts in Dutch, the site's language: a request in English (a language
    cookie) leaves English active in the thread after it, for whatever test comes next."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: what one test kept there (a unit's
    municipalities, a rate limit, live counts) must not answer for the next, whose rows
    may have the same ids."""
    from django.core.cache import cache

    from apps.governance import models

    cache.clear()
    models._units_here.clear()  # the process's own copy of the units' municipalities
    yield


def _ensure_reference_data() -> None:
    from django.contrib.auth.models import Group

    from apps.governance.geography import load_reference_geography
    from apps.governance.models import Municipality
    from apps.governance.roles import ROLE_PERMISSIONS, group_name, sync_roles

    if not Municipality.objects.exists():
        load_reference_geography()
    names = [group_name(role) for role in ROLE_PERMISSIONS]
    if Group.objects.filter(name__in=names).count() != len(names):
        sync_roles()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of its own per pytest run on PostgreSQL, so two runs on one server
    (a developer's and CI's, or two at once) never drop each other's database."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"].endswith("postgresql"):
            test = db.setdefault("TEST", {})
            base = test.get("NAME") or f"test_{db['NAME']}"
            test["NAME"] = f"{base}_{os.getpid()}"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the reference geography and role groups loaded once.

    Tests run in a deployment that uses SMS and voice without a ceiling (Burgernet before
    its 2023 phase-out): the schedule the migrations load is taken out once here (a
    transactional test's emptied database has none either). The ceilings' own tests load
    the schedule they test (`phase_out_2023`)."""
    from apps.channels.models import CeilingStep

    with django_db_blocker.unblock():
        _ensure_reference_data()
        CeilingStep.objects.all().delete()


@pytest.fixture
def phase_out_2023(db):
    """The default ceiling schedule: the 2023 phase-out of SMS and voice."""
    from apps.channels.models import CeilingStep
    from apps.channels.plan import PHASE_OUT_2023

    return [
        CeilingStep.objects.create(
            channel=channel, starts_on=starts_on, max_recipients=limit, note=note
        )
        for channel, starts_on, limit, note in PHASE_OUT_2023
    ]


@pytest.fixture
def geography(db):
    """Makes sure the reference geography and role groups are there (they are, except after
    a transactional test emptied the database)."""
    _ensure_reference_data()


@pytest.fixture
def municipality(geography):
    """Look a municipality up by CBS code: `municipality("GM0632")` is Woerden."""
    from apps.governance.models import Municipality

    return lambda code: Municipality.objects.get(code=code)


@pytest.fixture
def woerden(municipality):
    return municipality("GM0632")


@pytest.fixture
def utrecht(municipality):
    return municipality("GM0344")


@pytest.fixture
def amsterdam(municipality):
    return municipality("GM0363")


# Organisations ---------------------------------------------------------------------------


def _organisation(name, kind, **fields):
    from apps.governance import services

    return services.organisation_ensure(name=name, kind=kind, **fields)


@pytest.fixture
def org_control_room_mn(geography):
    from apps.governance.models import Organisation, PoliceUnit

    return _organisation(
        "Meldkamer Midden-Nederland",
        Organisation.Kind.CONTROL_ROOM,
        police_unit=PoliceUnit.objects.get(name="Midden-Nederland"),
    )


@pytest.fixture
def org_control_room_ams(geography):
    from apps.governance.models import Organisation, PoliceUnit

    return _organisation(
        "Meldkamer Amsterdam",
        Organisation.Kind.CONTROL_ROOM,
        police_unit=PoliceUnit.objects.get(name="Amsterdam"),
    )


@pytest.fixture
def org_national_unit(geography):
    from apps.governance.models import Organisation, PoliceUnit

    return _organisation(
        "Landelijke Eenheid",
        Organisation.Kind.NATIONAL_UNIT,
        police_unit=PoliceUnit.objects.get(is_national=True),
    )


@pytest.fixture
def org_woerden(woerden):
    from apps.governance.models import Organisation

    return _organisation(
        "Gemeente Woerden",
        Organisation.Kind.MUNICIPALITY,
        municipality=woerden,
        requires_mail_approval=True,
    )


@pytest.fixture
def org_utrecht(utrecht):
    from apps.governance.models import Organisation

    return _organisation("Gemeente Utrecht", Organisation.Kind.MUNICIPALITY, municipality=utrecht)


@pytest.fixture
def org_police_team(municipality):
    from apps.governance.models import Organisation

    return _organisation(
        "Politieteam Woerden-Oudewater-Montfoort",
        Organisation.Kind.POLICE_TEAM,
        municipalities=[municipality(c) for c in ("GM0632", "GM0589", "GM0335")],
    )


@pytest.fixture
def org_management(geography):
    from apps.governance.models import Organisation

    return _organisation("Burgernet-beheer", Organisation.Kind.MANAGEMENT)


# Staff users -----------------------------------------------------------------------------


@pytest.fixture
def make_staff_user(geography):
    """make_staff_user("naam", organisation, [Role.OPERATOR], is_superuser=False, ...)."""
    from apps.governance import services
    from apps.governance.models import User

    def make(username, organisation=None, roles=(), *, device=True, **fields):
        user = services.staff_user_ensure(
            username=username, organisation=organisation, roles=roles, password=TEST_PASSWORD
        )
        if fields:
            User.objects.filter(pk=user.pk).update(**fields)
            user.refresh_from_db()
        if device:
            services.totp_device_ensure(user=user, key=_random_key())
        return user

    return make


def _random_key() -> str:
    from django_otp.util import random_hex

    return random_hex(20)


@pytest.fixture
def operator_mn(make_staff_user, org_control_room_mn):
    from apps.governance.roles import Role

    return make_staff_user("operator-mn", org_control_room_mn, [Role.OPERATOR])


@pytest.fixture
def operator_ams(make_staff_user, org_control_room_ams):
    from apps.governance.roles import Role

    return make_staff_user("operator-ams", org_control_room_ams, [Role.OPERATOR])


@pytest.fixture
def national_operator(make_staff_user, org_national_unit):
    from apps.governance.roles import Role

    return make_staff_user("landelijk", org_national_unit, [Role.NATIONAL_OPERATOR])


@pytest.fixture
def woerden_author(make_staff_user, org_woerden):
    from apps.governance.roles import Role

    return make_staff_user("mail-woerden", org_woerden, [Role.MAIL_AUTHOR])


@pytest.fixture
def woerden_approver(make_staff_user, org_woerden):
    from apps.governance.roles import Role

    return make_staff_user("goedkeurder-woerden", org_woerden, [Role.MAIL_APPROVER])


@pytest.fixture
def utrecht_author(make_staff_user, org_utrecht):
    from apps.governance.roles import Role

    return make_staff_user("mail-utrecht", org_utrecht, [Role.MAIL_AUTHOR])


@pytest.fixture
def police_team_user(make_staff_user, org_police_team):
    from apps.governance.roles import Role

    return make_staff_user("team-woerden", org_police_team, [Role.MAIL_AUTHOR])


@pytest.fixture
def manager(make_staff_user, org_management):
    from apps.governance.roles import Role

    return make_staff_user("beheerder", org_management, [Role.MANAGER])


@pytest.fixture
def staff_client(db):
    """staff_client(user) → a Client logged in as `user`, verified by its TOTP device.

    staff_client(user, verified=False) logs in without the second factor.
    """
    import django_otp

    from apps.governance import totp

    def make(user, *, verified=True) -> Client:
        client = Client()
        client.force_login(user)
        if verified:
            device = totp.confirmed_devices(user).first()
            assert device is not None, f"{user} has no confirmed TOTP device"
            request = HttpRequest()
            request.session = client.session
            request.user = user
            django_otp.login(request, device)
            request.session.save()
        return client

    return make


# The geocoder ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _nominatim_server():
    fake = FakeNominatim()
    yield fake
    fake.close()


@pytest.fixture
def nominatim(_nominatim_server, settings):
    """The fake geocoder (tests/fakes.py), reset, and GEOCODER_URL pointing at it."""
    _nominatim_server.reset()
    settings.GEOCODER_URL = _nominatim_server.url
    settings.GEOCODER_USER_AGENT = "burgernet-tests"
    settings.GEOCODER_TIMEOUT = 1.0
    return _nominatim_server


# Web push ----------------------------------------------------------------------------------


@pytest.fixture
def vapid_keys(settings):
    """The test run's VAPID pair (tests/fakes.py) in the settings; returns the public key."""
    settings.VAPID_PRIVATE_KEY = VAPID_PRIVATE
    settings.VAPID_PUBLIC_KEY = VAPID_PUBLIC
    settings.VAPID_SUBJECT = "mailto:beheer@burgernet.test"
    return VAPID_PUBLIC


# A form with a photo ------------------------------------------------------------------------


@pytest.fixture
def huge_photo():
    """A photo one byte over what a form with a photo may declare (web/photos.py): refused
    by its Content-Length, before anything reads the body."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.web import photos

    size = photos.MAX_PHOTO_FORM_BYTES + 1
    return SimpleUploadedFile("groot.jpg", b"\xff" * size, content_type="image/jpeg")


@pytest.fixture
def bodies_read(monkeypatch):
    """The paths of the requests whose body Django read during the test."""
    read = []
    monkeypatch.setattr(
        "django.http.request.HttpRequest._load_post_and_files",
        lambda request: read.append(request.path),
    )
    return read


# PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture
def table_options(db):
    """Read a table's storage parameters (PostgreSQL's reloptions, as "name=value"
    strings); a test that asks for them is skipped on another database."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("storage parameters are PostgreSQL's")

    def read(table: str) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [table])
            (options,) = cursor.fetchone()
        return options

    return read
