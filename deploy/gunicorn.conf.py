"""Gunicorn's configuration for Burgernet's web process:

    gunicorn -c deploy/gunicorn.conf.py burgernet.wsgi

Its access log leaves the citizens' link tokens out. A request line, a path, a query
string and a Referer (with Referrer-Policy same-origin, a page of our own with a token in
its address) all pass through apps/web/logging.py's `redact_path`: every path segment that
looks like a token, and every query string, is logged as "[token]". Gunicorn's own error
log ("Error handling request /…") passes the same filter.

Settings can be overridden on the command line (`--bind`, `--workers`) or with
GUNICORN_CMD_ARGS; GUNICORN_BIND and WEB_CONCURRENCY set the defaults below.
"""

import os
import sys
from pathlib import Path

from gunicorn import glogging

# The project (for apps.web.logging), wherever gunicorn is started from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.web.logging import RedactTokens, redact_path, redact_text  # noqa: E402

wsgi_app = "burgernet.wsgi"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Both logs to stderr, for the service manager's journal.
accesslog = "-"
errorlog = "-"
# Apache's combined format; %(r)s, %(U)s, %(q)s and %(f)s are redacted by the logger below.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

# Atoms that hold a request's address, besides r (the request line), U, q and f.
_ADDRESS_ATOMS = {"{referer}i", "{raw_uri}e", "{path_info}e", "{http_referer}e", "{request_uri}e"}
_QUERY_ATOMS = {"{query_string}e"}


class RedactingLogger(glogging.Logger):
    """Gunicorn's logger, with the tokens left out of what it logs about a request."""

    def setup(self, cfg):
        super().setup(cfg)
        if not any(isinstance(f, RedactTokens) for f in self.error_log.filters):
            self.error_log.addFilter(RedactTokens())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = " ".join(
            [
                environ["REQUEST_METHOD"],
                redact_path(environ.get("RAW_URI") or ""),
                environ["SERVER_PROTOCOL"],
            ]
        )
        atoms["U"] = redact_path(environ.get("PATH_INFO") or "")
        atoms["q"] = "[token]" if environ.get("QUERY_STRING") else ""
        atoms["f"] = redact_text(environ.get("HTTP_REFERER") or "-")
        for key in _ADDRESS_ATOMS & atoms.keys():
            atoms[key] = redact_text(str(atoms[key]))
        for key in _QUERY_ATOMS & atoms.keys():
            atoms[key] = "[token]" if atoms[key] else ""
        return atoms


logger_class = RedactingLogger
