from django.db import models


def model_update(*, instance: models.Model, fields: list[str], data: dict) -> tuple[models.Model, bool]:
    """Set `fields` from `data` where they differ and save only those columns.

    Returns the instance and whether anything changed (HackSoft's model_update, typed).
    """
    changed = [f for f in fields if f in data and getattr(instance, f) != data[f]]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        if any(f.name == "updated_at" for f in instance._meta.fields):
            changed.append("updated_at")
        instance.full_clean(exclude=[f.name for f in instance._meta.fields if f.name not in changed])
        instance.save(update_fields=changed)
    return instance, bool(changed)
