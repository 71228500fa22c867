"""django-q2 tasks of the participants app: thin wrappers that call a service."""

from . import devices, sms_budget


def forget_stale_cells() -> int:
    """Run hourly by the Schedule that migration 0003 creates."""
    return devices.cells_forget_stale()


def forget_service_sms_counts() -> int:
    """Run hourly by the Schedule that migration 0008 creates."""
    return sms_budget.forget_old()
