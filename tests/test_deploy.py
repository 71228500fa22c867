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
        (
            {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend", "ANYMAIL": "{}"},
            "ANYMAIL_WEBHOOK_SECRET must be set",
        ),
        ({"VOICE_BACKEND": "http", "VOICE_GATEWAY_URL": ""}, "VOICE_GATEWAY_URL must be set"),
        ({"EMAIL_MERGE_FIELD_FORMAT": "%recipient%"}, "EMAIL_MERGE_FIELD_FORMAT"),
        ({"OUTBOX_LEASE_SECONDS": "2"}, "OUTBOX_LEASE_SECONDS must be at least 3"),
    ],
)
def test_it_refuses_to_start_unsafe(overrides, message):
    result = run_django(["-c", "import django; django.setup()"], **overrides)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_it_passes_the_checks_with_postmark_batch_sends_configured():
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL='{"POSTMARK_SERVER_TOKEN": "test-token"}',
        ANYMAIL_WEBHOOK_SECRET="burgernet:webhook-secret",
        EMAIL_BATCH_TEMPLATE_ID="burgernet-batch",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_it_reports_postmark_without_a_stored_template_for_batch_sends():
    result = run_django(
        ["manage.py", "check", "--deploy"],
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL='{"POSTMARK_SERVER_TOKEN": "test-token"}',
        ANYMAIL_WEBHOOK_SECRET="burgernet:webhook-secret",
        EMAIL_BATCH_TEMPLATE_ID="",
    )

    assert result.returncode != 0
    assert "channels.E002" in result.stdout + result.stderr
    assert "EMAIL_BATCH_TEMPLATE_ID" in result.stdout + result.stderr
