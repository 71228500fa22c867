"""Keeping the tokens of citizens' links out of the logs.

The links sent to citizens carry signed tokens in their paths (`/beheren/link/<token>/`,
`/burgernetmail/<token>/…`): whoever reads a log line with one holds the link. Django logs
the path of a request it refuses (CSRF, `django.security.csrf`) or fails on (a 500,
`django.request`), and the web server logs every path. `redact_path` is the one rule for
both: every path segment that looks like a token, and the whole query string (a search,
a redirect target), becomes "[token]". `RedactTokens` applies it to log records (settings'
LOGGING puts it on the handler, so every record passes it); the gunicorn config
(deploy/gunicorn.conf.py) to its access log.
"""

import logging
import re

REDACTED = "[token]"

# A signed token (django.core.signing: base64url parts joined by ":"), or a long random
# handle (secrets.token_urlsafe, a hex digest): anything in a path segment of that alphabet
# with a ":" in it, or at least 20 characters long. Words and numbers in the site's own
# paths ("beheren", "link", "12") are shorter and stay.
_TOKEN = re.compile(r"\.?[A-Za-z0-9_\-]*:[A-Za-z0-9_\-:]+|[A-Za-z0-9_\-]{20,}")
# A URL or a path, as it appears in a log line: up to a space or a quote.
_PATH = re.compile(
    r"(?P<origin>https?://[^/\s\"'?]+)(?P<rest>[/?][^\s\"']*)?|(?<![\w/:.])(?P<path>/[^\s\"']*)"
)


def redact_path(path: str) -> str:
    """The path with its token-like segments and its query string replaced by "[token]"."""
    path, question, _query = path.partition("?")
    segments = [REDACTED if _TOKEN.fullmatch(s) else s for s in path.split("/")]
    return "/".join(segments) + (f"?{REDACTED}" if question else "")


def redact_text(text: str) -> str:
    """`text` with every path in it redacted (a log message, a traceback)."""

    def redact(match: re.Match) -> str:
        if match["origin"]:
            return match["origin"] + redact_path(match["rest"] or "")
        return redact_path(match["path"])

    return _PATH.sub(redact, text)


class RedactTokens(logging.Filter):
    """Redacts the paths in a record's message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):  # in place: it may be a mapping of its own kind
            for key, value in record.args.items():
                if isinstance(value, str):
                    record.args[key] = redact_text(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True
