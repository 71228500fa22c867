"""Template filters of the annual report (jaarverslag)."""

from django import template

from apps.governance import policy
from apps.governance.report import VERB

register = template.Library()


@register.filter
def may_view_report(user) -> bool:
    """Whether the staff home offers the annual report: a role that may see it."""
    return policy.has_role_for(user, VERB)
