from contextlib import contextmanager

import pghistory
from django.db import models, transaction

from audit.models import Operation


@contextmanager
def audit_context(**context):
    """Attach context (user, job, reason...) to every trail row written inside the block."""
    with pghistory.context(**context):
        yield


def audit_event(*, obj: models.Model, label: str, actor=None, **context) -> None:
    """A trail entry about `obj` that is not a change of its row: a reveal, a refused access.
    The object's model must be tracked with pghistory.ManualEvent(label)."""
    if actor is not None and actor.is_authenticated:
        context.setdefault("user", actor.pk)
        context.setdefault("username", actor.get_username())
    with pghistory.context(**context):
        pghistory.create_event(obj, label=label)


@transaction.atomic
def operation_record(
    *, action: str, actor=None, job: str = "", object_type: str = "", object_ref: str = "", reason: str = "",
    details: dict | None = None,
) -> Operation:
    context = {"job": job} if job else {}
    if actor is not None and getattr(actor, "is_authenticated", False):
        context.update(user=actor.pk, username=actor.get_username())
    with pghistory.context(**context):
        return Operation.objects.create(
            actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            job=job, action=action, object_type=object_type, object_ref=object_ref, reason=reason,
            details=details or {},
        )
