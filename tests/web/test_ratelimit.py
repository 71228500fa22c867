"""Rate limits (web/ratelimit.py): one count per scope, under the part of the site's name."""

import pytest
from django.core.cache import cache

from apps.web import ratelimit


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


LIMITS = ratelimit.Limits("tests", {"form.link_ip": (2, 60), "form.ip": (3, 60)})


def test_it_lets_through_up_to_the_limit():
    assert [LIMITS.over("form.link_ip", "1.2.3.4") for _ in range(3)] == [False, False, True]


def test_it_counts_every_scope_even_when_an_earlier_one_is_over():
    idents = {"form.link_ip": "link:1.2.3.4", "form.ip": "1.2.3.4"}
    assert [LIMITS.exceeded(idents) for _ in range(3)] == [False, False, True]
    # The third attempt counted for the client as well: one more from it is its fourth.
    assert LIMITS.exceeded({"form.ip": "1.2.3.4"})


def test_it_keeps_the_count_under_the_namespace_and_scope():
    LIMITS.over("form.ip", "1.2.3.4")
    assert cache.get(ratelimit._key("tests.form.ip", "1.2.3.4")) == 1
    other = ratelimit.Limits("elsewhere", {"form.ip": (3, 60)})
    assert [other.over("form.ip", "1.2.3.4") for _ in range(3)] == [False, False, False]


def test_it_reads_the_limits_when_it_counts():
    windows = {"form.ip": (5, 60)}
    limits = ratelimit.Limits("tests.live", windows)
    windows["form.ip"] = (1, 60)  # as a test's monkeypatch.setitem does
    assert [limits.over("form.ip", "x") for _ in range(2)] == [False, True]
