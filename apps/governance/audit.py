"""The audit trail: every later service records what it did through `record`."""

from apps.web.client import client_ip

from .models import AuditEntry


def record(*, verb: str, actor=None, target=None, request=None, detail: dict | None = None):
    """Write one audit entry. `target` is named by type and id; `detail` must hold no
    personal data of citizens (no phone numbers, addresses, e-mail addresses)."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    entry = AuditEntry(
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        organisation_id=getattr(actor, "organisation_id", None) if actor else None,
        verb=verb,
        ip=client_ip(request) if request is not None else None,
        detail=detail or {},
    )
    if target is not None:
        entry.target_type = target._meta.label_lower
        entry.target_id = str(target.pk)
        entry.target_repr = target.audit_label() if hasattr(target, "audit_label") else str(target)
    entry.save()
    return entry
