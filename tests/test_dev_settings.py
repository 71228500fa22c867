"""Development: the site's URL in the links it prints and sends (log-in URLs of load_demo,
SMS, e-mail and push links) follows the address `make run` serves on (RUNSERVER_ADDRESS),
unless SITE_URL is set; production never guesses it from there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.RUNSERVER_ADDRESS, s.SITE_URL)"
)


def settings_with(**variables: str) -> list[str]:
    # An empty value stands for "not set" (a developer's .env must not fill it in).
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"SITE_URL": "", "RUNSERVER_ADDRESS": ""}, **variables)
    env["DJANGO_SETTINGS_MODULE"] = "burgernet.settings"
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize(
    ("address", "site_url"),
    [
        ("", "http://127.0.0.1:8000"),
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("8124", "http://127.0.0.1:8124"),
        ("0.0.0.0:8125", "http://127.0.0.1:8125"),
        ("localhost:8126", "http://localhost:8126"),
        ("[::]:8127", "http://[::1]:8127"),
    ],
)
def test_the_site_url_follows_the_development_server(address, site_url):
    assert settings_with(DEBUG="true", RUNSERVER_ADDRESS=address)[1] == site_url


def test_a_site_url_that_is_set_wins():
    values = settings_with(
        DEBUG="true", RUNSERVER_ADDRESS="127.0.0.1:8123", SITE_URL="https://dev.example/"
    )
    assert values == ["127.0.0.1:8123", "https://dev.example"]


def test_load_demo_prints_log_in_urls_at_the_site_url(db, settings, capsys):
    from django.core.management import call_command

    settings.SITE_URL = "http://127.0.0.1:8123"
    settings.DEBUG = True
    call_command("load_demo")
    assert "Demo log-ins at http://127.0.0.1:8123/medewerkers/" in capsys.readouterr().out
