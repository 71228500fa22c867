"""bench_web at a tiny size: the production server (gunicorn, DEBUG off, compressed static
files) on loopback with a SQLite database of its own. Correctness only (no timing): every
page answers as it should, and each registration POST made a registration whose code SMS
waits in the outbox (queued, not sent inside the request)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

ENDPOINTS = {
    "home page",
    "registration page",
    "registration POST",
    "action page",
    "web app page",
    "console live panel",
    "console live panel, unchanged",
}


def test_every_page_answers_under_load_and_registrations_queue_their_code(tmp_path):
    out = StringIO()
    result_file = tmp_path / "result.json"

    call_command("bench_web", size="tiny", json=str(result_file), stdout=out)

    result = json.loads(result_file.read_text())
    text = out.getvalue()
    figures = {f["name"]: f for f in result["figures"]}
    assert set(figures) == ENDPOINTS, text
    for name, figure in figures.items():
        assert figure["requests"] == 6, (name, text)
        assert figure["errors"] == 0, (name, figure["statuses"], text)
    # The registration page is the one asked for: one address, one window.
    assert figures["registration page"]["statuses"] == {"200": 6}
    assert figures["registration POST"]["statuses"] == {"302": 6}
    assert figures["console live panel"]["statuses"] == {"200": 6}  # logged in, verified
    # Polled with the ETag it gave: nothing changed, nothing sent again.
    assert figures["console live panel, unchanged"]["statuses"] == {"304": 6}
    assert result["posts_ok"] == 6
    assert result["registered"] == 6
    assert result["codes_queued"] == 6
    assert result["codes_sent"] == 0
    assert "errors (an answer other than the expected one): 0" in text


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"clients": 0}, "--clients and --workers must be at least 1"),
        ({"workers": 0}, "--clients and --workers must be at least 1"),
        ({"seconds": -1}, "cannot be negative"),
        ({"seconds": 0, "requests": 0}, "give --seconds or --requests"),
    ],
)
def test_it_refuses_nonsense_options_before_starting_anything(options, error):
    with pytest.raises(CommandError, match=error):
        call_command("bench_web", size="tiny", stdout=StringIO(), **options)
