"""django-q2 tasks of governance: thin wrappers over the report and retention services."""

from . import reporting, retention


def refresh_figures() -> int:
    """Run every hour by the Schedule that migration 0004 creates."""
    return reporting.refresh()


def apply_retention() -> dict[str, int]:
    """Run every night by the Schedule that migration 0004 creates."""
    return retention.run()
