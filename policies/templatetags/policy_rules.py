from django import template

from policies.rules import rule_label

register = template.Library()


@register.filter
def rule(code: str) -> str:
    """{{ change.rule|rule }}: the status rule's label in the user's language."""
    return rule_label(code) if code else ""
