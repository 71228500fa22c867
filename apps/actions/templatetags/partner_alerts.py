"""The console overview's list of the partners' alerts near the border, rendered in place
(the overview's view stays as it is; the list refreshes from console:partner_alerts)."""

from django import template

from apps.actions.console import partner_alerts_context

register = template.Library()


@register.inclusion_tag("actions/console/_partner_alerts.html", takes_context=True)
def partner_alerts(context):
    return partner_alerts_context(context["request"].user)
