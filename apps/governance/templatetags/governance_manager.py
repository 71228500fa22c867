"""Template tags of the managers' pages."""

from django import template

from apps.governance import policy

register = template.Library()


@register.simple_tag(takes_context=True)
def may(context, verb: str) -> bool:
    """`{% may "audit.view" as may_audit %}`: may the page's user do `verb` (policy.can)?"""
    request = context.get("request")
    return bool(request is not None and policy.can(request.user, verb))
