"""Trail rows for people: model and field names in the user's language, noise left out."""

from django import template
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

register = template.Library()
NOISE = {"updated_at", "created_at", "pgh_created_at", "details"}


def _model(label: str):
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


@register.filter
def model_label(label: str) -> str:
    model = _model(label or "")
    return str(model._meta.verbose_name) if model is not None else label


@register.filter
def trail_changes(event) -> list[tuple[str, str, str]]:
    """[(field label, before, after)] of an event's diff, without timestamps and raw blobs."""
    model = _model(event.pgh_obj_model or "")
    rows = []
    for field, change in (event.pgh_diff or {}).items():
        if field in NOISE:
            continue
        name = field[:-3] if field.endswith("_id") else field
        label = name
        if model is not None:
            try:
                label = str(model._meta.get_field(name).verbose_name)
            except FieldDoesNotExist:
                pass
        before, after = (change + [None, None])[:2] if isinstance(change, list) else (None, change)
        rows.append((label, _short(before), _short(after)))
    return rows


def _short(value) -> str:
    if value in (None, ""):
        return "—"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"
