"""The tokens of citizens' links stay out of the logs (web/logging.py): Django's CSRF
refusals and 500s, and gunicorn's access and error logs (deploy/gunicorn.conf.py)."""

import logging
import runpy
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from apps.web.logging import RedactTokens, redact_path, redact_text

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"
TOKEN = signing.dumps({"n": "een-nonce-van-een-burger"}, salt="participants.manage-link")


@pytest.mark.parametrize(
    ("path", "redacted"),
    [
        (f"/beheren/link/{TOKEN}/", "/beheren/link/[token]/"),
        (f"/burgernetmail/reageren/{TOKEN}/?next=/x", "/burgernetmail/reageren/[token]/?[token]"),
        (
            "/beheer/participants/participant/?q=%2B31612345678",
            "/beheer/participants/participant/?[token]",
        ),
        (
            "/aanmelden/code/.eJyrVkrOz0nNSy1JTQ:1u8ZAb:X-y_z/nieuwe-code/",
            "/aanmelden/code/[token]/nieuwe-code/",
        ),
        ("/app/sw.js", "/app/sw.js"),
        ("/mail/12/gebieden/3/verwijderen/", "/mail/12/gebieden/3/verwijderen/"),
        ("/", "/"),
    ],
)
def test_it_redacts_tokens_and_query_strings_in_paths(path, redacted):
    assert redact_path(path) == redacted


def test_it_redacts_paths_and_urls_in_any_text():
    text = f"GET https://burgernet.nl/beheren/link/{TOKEN}/ from /e-mail/bevestigen/{TOKEN}/"
    assert redact_text(text) == (
        "GET https://burgernet.nl/beheren/link/[token]/ from /e-mail/bevestigen/[token]/"
    )


def test_a_csrf_refusal_is_logged_without_the_token(db, caplog):
    path = reverse("participants:manage_link", args=[TOKEN])
    with caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        response = Client(enforce_csrf_checks=True).post(path + "?via=sms")
    assert response.status_code == 403
    assert "Forbidden (CSRF cookie not set.): /beheren/link/[token]/" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[0] not in caplog.text


def test_a_server_error_is_logged_without_the_token(db, caplog, monkeypatch):
    from apps.participants import services

    def fail(*, token):
        raise RuntimeError(f"while opening /beheren/link/{token}/")

    monkeypatch.setattr(services, "manage_link_check", fail)
    path = reverse("participants:manage_link", args=[TOKEN])
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).get(path + "?utm=x")
    assert response.status_code == 500
    assert "Internal Server Error: /beheren/link/[token]/" in caplog.text
    assert "RuntimeError: while opening /beheren/link/[token]/" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[0] not in caplog.text


def test_the_settings_put_the_filter_on_the_loggers_and_the_handler():
    for name in ("django.request", "django.security.csrf", "django.server"):
        assert any(isinstance(f, RedactTokens) for f in logging.getLogger(name).filters), name
    handlers = logging.getLogger().handlers
    console = [h for h in handlers if any(isinstance(f, RedactTokens) for f in h.filters)]
    assert console


# gunicorn ------------------------------------------------------------------------------------


@pytest.fixture
def gunicorn_logger(tmp_path):
    """The configured logger class, set up as gunicorn does, logging to files."""
    from gunicorn.config import Config

    namespace = runpy.run_path(str(GUNICORN_CONF))
    config = Config()
    for name in ("access_log_format", "logger_class"):
        config.set(name, namespace[name])
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    return namespace["logger_class"](config), tmp_path


def request_environ(raw_uri: str, referer: str) -> dict:
    path, _, query = raw_uri.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.10",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)",
    }


def test_the_gunicorn_access_log_leaves_the_tokens_out(gunicorn_logger):
    logger, folder = gunicorn_logger
    raw_uri = f"/burgernetmail/afmelden/{TOKEN}/?e=iemand%40example.org"
    referer = f"https://burgernet.nl/burgernetmail/reageren/{TOKEN}/"
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    request = SimpleNamespace(headers=[("REFERER", referer)])

    logger.access(response, request, request_environ(raw_uri, referer), timedelta(0, 0, 5000))

    line = (folder / "access.log").read_text()
    assert '"GET /burgernetmail/afmelden/[token]/?[token] HTTP/1.1" 200 1234' in line
    assert '"https://burgernet.nl/burgernetmail/reageren/[token]/"' in line
    assert "192.0.2.10" in line and "Mozilla/5.0" in line
    assert TOKEN.split(":")[0] not in line
    assert "example.org" not in line


def test_the_gunicorn_error_log_leaves_the_tokens_out(gunicorn_logger):
    logger, folder = gunicorn_logger
    logger.error("Error handling request %s", f"/beheren/link/{TOKEN}/?x=1")
    text = (folder / "error.log").read_text()
    assert "Error handling request /beheren/link/[token]/?[token]" in text
    assert TOKEN.split(":")[0] not in text


def test_gunicorn_accepts_the_config():
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", str(GUNICORN_CONF)],
        cwd=BASE_DIR / "deploy",  # started from anywhere
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_filter_keeps_a_mapping_of_its_own_kind():
    class Atoms(dict):
        pass

    atoms = Atoms(r=f"GET /beheren/link/{TOKEN}/ HTTP/1.1")
    record = logging.LogRecord("x", logging.INFO, "", 0, "%(r)s", (), None)
    record.args = atoms
    RedactTokens().filter(record)
    assert record.args is atoms
    assert record.getMessage() == "GET /beheren/link/[token]/ HTTP/1.1"
