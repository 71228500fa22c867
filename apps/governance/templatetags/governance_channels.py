"""Template filters of the channel settings screen."""

from django import template

from apps.channels import kinds

register = template.Library()


@register.filter
def kind_labels(values) -> str:
    """The labels of the kinds a channel carries, in the order they were registered."""
    order = [value for value, _label in kinds.choices()]
    chosen = sorted(values, key=lambda v: order.index(v) if v in order else len(order))
    return ", ".join(kinds.label(value) for value in chosen)
