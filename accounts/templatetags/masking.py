from django import template

from accounts.masking import MASKERS

register = template.Library()


@register.filter
def mask(value, kind: str):
    """{{ customer.phone|mask:"phone" }}"""
    return MASKERS[kind](value)
