from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """A rate (0.3438) as a percentage with two places ("34.38%"); a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.2f}%"
