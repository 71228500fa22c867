"""Fixed-window rate limits in the cache (Redis in production, local memory on a laptop)."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.cache import cache


def _key(scope: str, ident: str) -> str:
    # Identifiers may be phone numbers: the cache holds a hash, never the number.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}"


def hit(scope: str, ident: str, *, limit: int, window_s: int) -> bool:
    """Count one attempt; True while the attempts in this window are within `limit`."""
    key = _key(scope, ident)
    cache.add(key, 0, timeout=window_s)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_s)
        count = 1
    return count <= limit


def reset(scope: str, ident: str) -> None:
    cache.delete(_key(scope, ident))


@dataclass(frozen=True)
class Limits:
    """The limits of one part of the site: `windows` maps a scope ("register.ip") to its
    (limit, window in seconds); the counts are kept under "<namespace>.<scope>"."""

    namespace: str
    windows: Mapping[str, tuple[int, int]]

    def exceeded(self, idents: Mapping[str, str]) -> bool:
        """Count one attempt in each scope of `idents` (scope → who: an address, a
        number, a link); True when any of them is over its limit. Every scope counts the
        attempt, even after an earlier one is over."""
        over = False
        for scope, ident in idents.items():
            limit, window_s = self.windows[scope]
            over |= not hit(f"{self.namespace}.{scope}", ident, limit=limit, window_s=window_s)
        return over

    def over(self, scope: str, ident: str) -> bool:
        """Count one attempt of `ident` in `scope`; True when it is over the limit."""
        return self.exceeded({scope: ident})
