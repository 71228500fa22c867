"""Fixed-window rate limits in the cache (Redis in production, local memory on a laptop)."""

import hashlib

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
