"""Template filters of the staff screens."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def minutes(value) -> int:
    """A duration in whole minutes, rounded up (for "try again in N minutes")."""
    if not isinstance(value, timedelta):
        return 0
    return max(0, -(-int(value.total_seconds()) // 60))
