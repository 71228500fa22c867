"""Template filters of the staff screens."""

from datetime import timedelta

from django import template

from apps.governance.policy import shown_count as _shown_count

register = template.Library()


@register.filter
def minutes(value) -> int:
    """A duration in whole minutes, rounded up (for "try again in N minutes")."""
    if not isinstance(value, timedelta):
        return 0
    return max(0, -(-int(value.total_seconds()) // 60))


@register.filter
def shown_count(value):
    """A count of people as staff may see it (policy.shown_count: "minder dan 10")."""
    return _shown_count(int(value or 0))
