"""The kinds of message a channel may carry: registered by the domains that send them.

The channels app knows no action or mailing; a channel setting names kinds by their
value ("missing_child", "crisis"). The domains register theirs when Django starts
(AppConfig.ready), so the settings screen offers exactly the kinds there are.
"""

from collections.abc import Iterable

_KINDS: dict[str, object] = {}


def register(choices: Iterable[tuple[str, object]]) -> None:
    """Register (value, label) pairs; the label may be lazy (translated when shown)."""
    for value, label in choices:
        _KINDS[str(value)] = label


def choices() -> list[tuple[str, object]]:
    return list(_KINDS.items())


def values() -> set[str]:
    return set(_KINDS)


def label(value: str) -> str:
    return str(_KINDS.get(value, value))
