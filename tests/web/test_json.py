"""web/json.py: the one reader of a JSON request body: small, shallow, an object."""

import json

import pytest
from django.test import RequestFactory

from apps.web.json import InvalidJSON, nesting_depth, read_json


def _request(body, content_type="application/json", **extra):
    return RequestFactory().post("/app/", body, content_type=content_type, **extra)


def _read(body, **kwargs):
    kwargs = {"max_bytes": 100, "max_depth": 3, **kwargs}
    return read_json(_request(body), **kwargs)


def _code(body, **kwargs) -> str:
    with pytest.raises(InvalidJSON) as error:
        _read(body, **kwargs)
    return error.value.code


def test_it_reads_a_small_object():
    assert _read(json.dumps({"a": [1, {"b": "]]]"}]})) == {"a": [1, {"b": "]]]"}]}


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": 2}]}', 3),
        ('{"a": "[[[{{{"}', 1),  # brackets in a string do not nest
        ('{"a": "\\"[[["}', 1),  # nor after an escaped quote
        ('{"a": "\\\\", "b": [[]]}', 3),  # an escaped backslash ends before the quote
        ("[" * 5000, 5000),
    ],
)
def test_it_measures_nesting_without_recursion(text, depth):
    assert nesting_depth(text) == depth


def test_it_refuses_too_deep_before_parsing(monkeypatch):
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed"))
    assert _code('{"a": [[[1]]]}') == "too_deep"


def test_it_refuses_a_body_over_the_limit_even_without_a_declared_length():
    request = _request("{}")
    request._stream = __import__("io").BytesIO(b'{"a": "' + b"x" * 200 + b'"}')
    request.META.pop("CONTENT_LENGTH", None)
    with pytest.raises(InvalidJSON) as error:
        read_json(request, max_bytes=100, max_depth=3)
    assert error.value.code == "too_large"


@pytest.mark.parametrize(
    "body", ["[1, 2]", '"tekst"', "{", b"\xff\xfe{}", '{"n": ' + "1" * 5000 + "}"]
)
def test_it_refuses_what_is_not_a_json_object(body):
    assert _code(body, max_bytes=10_000) == "invalid_json"


def test_it_refuses_another_content_type():
    with pytest.raises(InvalidJSON) as error:
        read_json(_request("{}", content_type="text/plain"), max_bytes=100, max_depth=3)
    assert error.value.code == "invalid_json"
    assert str(error.value.message) == "Het verzoek moet JSON zijn."
