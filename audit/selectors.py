import datetime as dt
from dataclasses import dataclass

from django.db.models import Model
from pghistory.models import Events

from core.dates import SHANGHAI


@dataclass
class TrailFilter:
    username: str = ""
    model: str = ""  # e.g. "policies.Policy"
    object_id: str = ""
    action: str = ""  # the event label: create, update, reveal, access_denied, operation...
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def trail_list(*, filters: TrailFilter):
    """Every trail row across the tracked models, newest first, filtered."""
    qs = Events.objects.all()
    if filters.model:
        qs = qs.filter(pgh_obj_model=filters.model)
    if filters.object_id:
        qs = qs.filter(pgh_obj_id=filters.object_id)
    if filters.action:
        qs = qs.filter(pgh_label=filters.action)
    if filters.username:
        qs = qs.filter(pgh_context__username=filters.username)
    if filters.date_from:
        qs = qs.filter(pgh_created_at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=SHANGHAI))
    if filters.date_to:
        qs = qs.filter(
            pgh_created_at__lt=dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
        )
    return qs.order_by("-pgh_created_at", "-pgh_slug")


def trail_for(*, tracks: list[Model], references: list[Model] = ()) -> list[Events]:
    """The trail of some objects: their own rows, and rows of other models that point at them
    (a policy's status history voids). Newest first."""
    rows = {}
    # pghistory's tracks() and references() take objects of one model at a time
    for objs in _by_model(tracks):
        rows.update({e.pgh_slug: e for e in Events.objects.tracks(*objs)})
    for objs in _by_model(references):
        rows.update({e.pgh_slug: e for e in Events.objects.references(*objs)})
    return sorted(rows.values(), key=lambda e: (e.pgh_created_at, e.pgh_slug), reverse=True)


def _by_model(objs) -> list[list[Model]]:
    groups: dict[type, dict] = {}
    for obj in objs:
        if obj is not None:
            groups.setdefault(type(obj), {})[obj.pk] = obj
    return [list(group.values()) for group in groups.values()]
