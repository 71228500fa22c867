"""Production settings: Django's deployment checks pass, and unsafe settings refuse to start."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "burgernet.example",
    "STAFF_OTP_REQUIRED": "true",
}


def run_django(args: list[str], **overrides: str) -> subprocess.CompletedProcess:
    """Run Python in a fresh process with the production environment plus `overrides`.

    An empty value stands for "not set": settings read a .env file for variables missing
    from the environment, and a developer's .env must not fill in what the test leaves out.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="burgernet.settings", **overrides)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_passes_the_deployment_checks():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        (
            {"SECRET_KEY": "insecure-development-key-never-use-in-production"},
            "development SECRET_KEY",
        ),
        ({"STAFF_OTP_REQUIRED": "false"}, "STAFF_OTP_REQUIRED cannot be off"),
    ],
)
def test_it_refuses_to_start_unsafe(overrides, message):
    result = run_django(["-c", "import django; django.setup()"], **overrides)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
