"""django-q2 tasks of the participants app: thin wrappers that call a service."""

from . import devices


def forget_stale_cells() -> int:
    """Run hourly by the Schedule that migration 0003 creates."""
    return devices.cells_forget_stale()
