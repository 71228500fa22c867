"""The one reader of a JSON request body (the web app's endpoints): a small JSON object, or
InvalidJSON with an error code and a Dutch message the view answers with a 400.

A body is refused by its declared length before it is read, read no further than the limit,
and its nesting is measured before it is parsed: Python's parser recurses once per level, and
a few KB of brackets would otherwise end in a RecursionError (a 500).
"""

import json

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .client import declared_length

MSG_TOO_LARGE = _("Het verzoek is te groot.")
MSG_NOT_JSON = _("Het verzoek moet JSON zijn.")
MSG_TOO_DEEP = _("Het verzoek is te diep genest.")


class InvalidJSON(Exception):
    """A body that is no acceptable JSON object; `code` and `message` are the answer's."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code, self.message = code, message


def read_json(request: HttpRequest, *, max_bytes: int, max_depth: int) -> dict:
    """The request's body as a JSON object of at most `max_bytes` bytes and `max_depth`
    levels of objects and arrays; InvalidJSON ("too_large", "too_deep" or "invalid_json")
    otherwise."""
    if declared_length(request) > max_bytes:
        raise InvalidJSON("too_large", MSG_TOO_LARGE)
    if request.content_type != "application/json":
        raise InvalidJSON("invalid_json", MSG_NOT_JSON)
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise InvalidJSON("too_large", MSG_TOO_LARGE)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJSON("invalid_json", MSG_NOT_JSON) from None
    if nesting_depth(text) > max_depth:
        raise InvalidJSON("too_deep", MSG_TOO_DEEP)
    try:
        data = json.loads(text)
    except ValueError:  # json.JSONDecodeError, and numbers of too many digits
        raise InvalidJSON("invalid_json", MSG_NOT_JSON) from None
    if not isinstance(data, dict):
        raise InvalidJSON("invalid_json", MSG_NOT_JSON)
    return data


def nesting_depth(text: str) -> int:
    """How deep objects and arrays nest in this JSON text (brackets inside strings do not
    count), found without recursion. Text that is no JSON gets a number too; the parser
    refuses it afterwards."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
