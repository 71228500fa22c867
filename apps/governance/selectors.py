"""Reads for the governance screens."""

from dataclasses import dataclass

from .models import Municipality, Organisation
from .policy import in_service, user_scope
from .roles import ROLE_LABELS, Role, roles_of


@dataclass(frozen=True)
class StaffProfile:
    """What the staff home page says about a user: organisation, roles and scope."""

    organisation: Organisation | None
    in_service: bool
    role_labels: list[str]
    nationwide: bool
    municipalities: list[Municipality]


def staff_profile(user) -> StaffProfile:
    scope = user_scope(user)
    municipalities = []
    if not scope.nationwide and scope.municipality_ids:
        municipalities = list(Municipality.objects.filter(pk__in=scope.municipality_ids))
    roles = roles_of(user)
    return StaffProfile(
        organisation=user.organisation,
        in_service=in_service(user),
        role_labels=[str(ROLE_LABELS[role]) for role in Role if role in roles],
        nationwide=scope.nationwide,
        municipalities=municipalities,
    )
