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
    # Every channel really sends, and the rate limits are counted in one shared cache.
    "CACHE_URL": "rediscache://redis.internal:6379/1",
    "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
    "ANYMAIL": '{"POSTMARK_SERVER_TOKEN": "test-token"}',
    "ANYMAIL_WEBHOOK_SECRET": "burgernet:webhook-secret",
    "EMAIL_BATCH_TEMPLATE_ID": "burgernet-batch",
    "SMS_BACKEND": "http",
    "SMS_GATEWAY_URL": "https://sms-gateway.example/v1/messages",
    "VOICE_BACKEND": "http",
    "VOICE_GATEWAY_URL": "https://voice-gateway.example/v1/calls",
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
            {
                "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                "ANYMAIL": "{}",
                "ANYMAIL_WEBHOOK_SECRET": "",
            },
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


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        ({"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}, "channels.E010"),
        ({"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}, "channels.E010"),
        ({"SMS_BACKEND": "console"}, "channels.E011"),
        ({"SMS_BACKEND": "locmem"}, "channels.E011"),
        ({"VOICE_BACKEND": "console"}, "channels.E012"),
        ({"CACHE_URL": "locmemcache://burgernet"}, "web.W001"),  # the default
        ({"CACHE_URL": "dummycache://"}, "web.W001"),
        ({"PROXY_NETWORKS": "10.0.0.0/8,the-proxy"}, "web.E001"),
        # Refused before the checks run: the settings do not start.
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "ANYMAIL_WEBHOOK_SECRET must be set"),
        ({"WEBPUSH_ALLOW_INSECURE_ENDPOINTS": "true"}, "WEBPUSH_ALLOW_INSECURE_ENDPOINTS"),
    ],
)
def test_the_deployment_checks_fail_for_each_misconfiguration(overrides, check):
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **overrides)

    assert result.returncode != 0
    assert check in result.stdout + result.stderr


def test_the_deployment_checks_refuse_what_development_allows(settings):
    """With DEBUG on (the settings refuse these with DEBUG off): no webhook secret for the
    configured service, push endpoints on loopback over http."""
    from apps.channels.checks import check_deployment

    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {}
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True

    ids = {problem.id for problem in check_deployment()}

    assert {"channels.E013", "channels.E014"} <= ids
    settings.ANYMAIL = {"WEBHOOK_SECRET": "burgernet:webhook-secret"}
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    assert {p.id for p in check_deployment()} & {"channels.E013", "channels.E014"} == set()


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


@pytest.mark.parametrize(
    ("cache_url", "engine"),
    [
        # Production: a staff request reads its session from the shared cache.
        ("rediscache://redis.internal:6379/1", "django.contrib.sessions.backends.cached_db"),
        # A cache of one process would keep a session there after logging out elsewhere.
        ("locmemcache://burgernet", "django.contrib.sessions.backends.db"),
        ("dummycache://", "django.contrib.sessions.backends.db"),
    ],
)
def test_sessions_are_kept_in_the_cache_only_when_the_web_processes_share_it(cache_url, engine):
    result = run_django(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SESSION_ENGINE)",
        ],
        CACHE_URL=cache_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == engine
