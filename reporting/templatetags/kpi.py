from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """A rate (0.3438) as a percentage with two places ("34.38%"); a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.2f}%"


@register.filter
def metric_name(code: str):
    """A KPI's name in the reader's language, from its code."""
    from reporting.metrics import METRIC_BY_CODE

    metric = METRIC_BY_CODE.get(code)
    return metric.name if metric else code


@register.filter
def points(value) -> str:
    """A gap in percentage points with its sign ("+1.25", "-3.40"); a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):+.2f}"
