"""Languages: the public site is Dutch by default and English after choosing it, and the
English catalogue (locale/en/LC_MESSAGES) is complete and compiled.

The msgids are Dutch; English lives in django.po/django.mo, which are committed so the site
works without gettext installed.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from apps.channels.senders import sms

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"

# (path, a Dutch string on the page, its English translation)
PAGES = [
    (
        "/",
        "Burgernet: samen zorgen voor een veilige buurt",
        "Burgernet: working together for a safe neighbourhood",
    ),
    ("/aanmelden/", "Aanmelden voor Burgernet", "Sign up for Burgernet"),
]
ESCAPES = {"n": "\n", "t": "\t"}
PHONE_ERROR_NL = "Dit is geen geldig telefoonnummer."
PHONE_ERROR_EN = "This is not a valid phone number."


@pytest.fixture(autouse=True)
def _site(settings, geography):
    settings.SMS_BACKEND = "locmem"
    settings.GEOCODER_NL = "offline"
    cache.clear()  # the registration page rate-limits per IP
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


def choose_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return unescape(response.content.decode())


def invalid_registration(client) -> str:
    data = {
        "phone": "12345",
        "address_count": "1",
        "wants_sms": "on",
        "address-0-label": "Thuis",
        "address-0-country": "NL",
        "address-0-postcode": "3441 AB",
        "address-0-house_number": "12",
        "address-0-schedule": "always",
    }
    response = client.post(reverse("participants:register"), data)
    assert response.status_code == 400
    return unescape(response.content.decode())


@pytest.mark.parametrize(("path", "dutch", "english"), PAGES)
def test_it_shows_public_pages_in_dutch_by_default(client, path, dutch, english):
    html = page(client, path)
    assert '<html lang="nl">' in html
    assert dutch in html
    assert english not in html


@pytest.mark.parametrize(("path", "dutch", "english"), PAGES)
def test_it_shows_public_pages_in_english_after_choosing_english(client, path, dutch, english):
    choose_english(client)
    html = page(client, path)
    assert '<html lang="en">' in html
    assert english in html
    assert dutch not in html


def test_it_shows_form_errors_in_dutch_by_default(client):
    html = invalid_registration(client)
    assert PHONE_ERROR_NL in html
    assert PHONE_ERROR_EN not in html


def test_it_shows_form_errors_in_english_after_choosing_english(client):
    choose_english(client)
    html = invalid_registration(client)
    assert PHONE_ERROR_EN in html
    assert "Check what you entered" in html
    assert PHONE_ERROR_NL not in html


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgid", "msgid_plural", "msgstr", "msgstr[0]"…}."""
    entries, entry, field = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line:
            if "msgid" in entry:
                entries.append(entry)
            entry, field = {}, None
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        else:
            if not line.startswith('"'):
                field, line = line.split(" ", 1)
            value = re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[1]), line[1:-1])
            entry[field] = entry.get(field, "") + value
    return entries


def test_it_has_a_complete_english_catalogue():
    entries = read_po(CATALOGUE / "django.po")
    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry.get("flags", set()), entry["msgid"]
        translations = [v for k, v in entry.items() if k.startswith("msgstr")]
        assert translations, entry["msgid"]
        assert all(t.strip() for t in translations), entry["msgid"]


# What makemessages reads: the project's code and templates, not the tests.
SOURCES = ("apps", "burgernet", "templates", "locale", "manage.py")


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext (CI installs it)")
def test_every_text_of_the_code_and_templates_is_translated_in_the_catalogue(tmp_path):
    """makemessages, run on a copy of the project, finds no text that the committed
    catalogue lacks: a new or changed Dutch text shows in English too."""
    base = Path(settings.BASE_DIR)
    for name in SOURCES:
        source = base / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "burgernet.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    untranslated = [
        entry["msgid"]
        for entry in read_po(tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po")
        if entry["msgid"]
        and (
            "fuzzy" in entry.get("flags", set())
            or not all(v.strip() for k, v in entry.items() if k.startswith("msgstr"))
        )
    ]
    assert untranslated == []


def test_it_has_a_compiled_catalogue_matching_the_po_file():
    with (CATALOGUE / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in read_po(CATALOGUE / "django.po"):
        if not entry["msgid"]:
            continue  # the header
        if "msgid_plural" in entry:
            for n, index in ((1, 0), (2, 1)):
                found = compiled.ngettext(entry["msgid"], entry["msgid_plural"], n)
                assert found == entry[f"msgstr[{index}]"], entry["msgid"]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


def test_it_stays_dutch_for_an_english_browser_until_english_is_chosen(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert '<html lang="nl">' in response.content.decode()
