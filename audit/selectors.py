"""Reads of the trail.

The auditor's ledger (trail_page) reads the event table of each tracked model on its own,
newest first along its (pgh_created_at, pgh_id) index (audit.events.trail_meta) with a LIMIT,
and merges the heads: at millions of rows a page is one short index scan per table. The union
view of django-pghistory (pghistory.models.Events), ordered by time, reads every table whole and
computes every row's diff first: it did not answer within minutes at 1,000,000 policies.
The policy page shows the same ledger filtered by its policy number.

Pages are keyset ("after this row"), never OFFSET: the cursor is the last row's (time, model
label, pgh_id), an order every table can continue from.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from django.apps import apps
from django.db.models import Model, Q, QuerySet
from django.db.models.functions import Coalesce
from pghistory.models import Context, Event

from core.dates import SHANGHAI

PAGE_SIZE = 50


@dataclass
class TrailFilter:
    username: str = ""
    model: str = ""  # the tracked model's label, e.g. "policies.Policy"
    action: str = ""  # the event label: create, update, reveal, access_denied, operation...
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    policy_no: str = ""
    business_date: dt.date | None = None


@dataclass(frozen=True)
class TrailCursor:
    """Where a page ends: rows strictly older in (time, model label, pgh_id) order come next."""

    created_at: dt.datetime
    model: str
    pgh_id: int

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.model}|{self.pgh_id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> TrailCursor | None:
        """None for a missing or malformed cursor (the first page)."""
        if not text:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            created_at, model, pgh_id = raw.split("|")
            moment = dt.datetime.fromisoformat(created_at)
            if moment.tzinfo is None:
                return None
            return cls(moment, model, int(pgh_id))
        except (ValueError, UnicodeDecodeError):
            return None


# How the rows of a tracked model are found by policy number, for models that neither carry a
# `policy` foreign key nor are the policy itself (policies registers its customers).
_POLICY_LINKS: dict[str, Callable[[str], Q]] = {}


def trail_policy_link_register(model_label: str, link: Callable[[str], Q]) -> None:
    """link(policy_no) -> a Q on the model's event rows, e.g. the policy's customers."""
    _POLICY_LINKS[model_label] = link


def trail_event_models() -> list[type[Event]]:
    """The event model of every tracked model, in the order of the tracked model's label."""
    found = [
        model for model in apps.get_models()
        if issubclass(model, Event) and model._meta.managed and not model._meta.proxy
        and getattr(model, "pgh_tracked_model", None) is not None
    ]
    return sorted(found, key=lambda model: tracked_label(model))


def tracked_model(event_model: type[Event]) -> type[Model]:
    """The model whose rows an event model records (pghistory sets it on each event model)."""
    return cast(type[Model], event_model.pgh_tracked_model)


def tracked_label(event_model: type[Event]) -> str:
    return tracked_model(event_model)._meta.label


def _field_names(model: type[Model]) -> set[str]:
    return {field.name for field in model._meta.get_fields()}


def _policy_id(policy_no: str) -> int | None:
    """The id of the policy with this number: the tracked model with a policy_no (audit imports
    no app to its right). Each table is then searched by a literal id, so that the planner uses
    its policy (or pgh_obj) index, not a walk along the time index joined to the policy."""
    for event_model in trail_event_models():
        tracked = tracked_model(event_model)
        if "policy_no" in _field_names(tracked):
            return tracked._default_manager.filter(policy_no=policy_no).values_list("pk", flat=True).first()
    return None


def _policy_q(event_model: type[Event], policy_no: str, policy_id: int) -> Q | None:
    """How this model's rows are found by policy, or None when they are not."""
    label = tracked_label(event_model)
    if label in _POLICY_LINKS:
        return _POLICY_LINKS[label](policy_no)
    if "policy" in _field_names(event_model):
        return Q(policy_id=policy_id)
    if "policy_no" in _field_names(tracked_model(event_model)):
        return Q(pgh_obj_id=policy_id)  # the policy's own rows
    return None


CONTEXTS_LISTED = 2000


def _context_ids(filters: TrailFilter) -> QuerySet | list | None:
    """The contexts (requests, jobs) the user and business-date filters keep; None: no such filter.
    Found by the expression indexes of audit migration 0005. A few are listed, so that each table
    finds its rows by its pgh_context index; many (a busy user's year of requests) stay a subquery,
    and the newest-first scan meets that user's rows soon enough."""
    if not (filters.username or filters.business_date):
        return None
    contexts = Context.objects.all()
    if filters.username:
        contexts = contexts.filter(metadata__username=filters.username)
    if filters.business_date:
        day = filters.business_date.isoformat()
        contexts = contexts.filter(Q(metadata__business_date=day) | Q(metadata__as_of=day))
    listed = list(contexts.values_list("id", flat=True)[: CONTEXTS_LISTED + 1])
    return listed if len(listed) <= CONTEXTS_LISTED else contexts.values("id")


def _after_q(event_model: type[Event], after: TrailCursor) -> Q:
    """Rows of this table older than the cursor in (time, model label, pgh_id) order."""
    label = tracked_label(event_model)
    if label < after.model:
        return Q(pgh_created_at__lte=after.created_at)
    if label > after.model:
        return Q(pgh_created_at__lt=after.created_at)
    # the first term is the index scan's start; the OR alone is only a filter along the scan
    return Q(pgh_created_at__lte=after.created_at) & (
        Q(pgh_created_at__lt=after.created_at) | Q(pgh_id__lt=after.pgh_id))


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def _table_rows(event_model: type[Event], filters: TrailFilter, contexts: QuerySet | list | None,
                policy_id: int | None = None) -> QuerySet | None:
    """One table's rows under the filters, newest first; None when the filters exclude the table."""
    if filters.model and tracked_label(event_model) != filters.model:
        return None
    rows: QuerySet[Any] = event_model.objects.all()
    if filters.policy_no:
        link = _policy_q(event_model, filters.policy_no, policy_id) if policy_id is not None else None
        if link is None:
            return None
        rows = rows.filter(link)
    if filters.action:
        rows = rows.filter(pgh_label=filters.action)
    if contexts is not None:
        rows = rows.filter(pgh_context__in=contexts)
    if filters.date_from:
        rows = rows.filter(pgh_created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        rows = rows.filter(pgh_created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    if isinstance(contexts, list):
        # a few contexts: their rows by the pgh_context index, then sorted; ordering by the time
        # index instead would walk back through every newer row when the contexts are old ones
        return rows.order_by(Coalesce("pgh_created_at", "pgh_created_at").desc(), "-pgh_id")
    return rows.order_by("-pgh_created_at", "-pgh_id")


def _page_rows(keys: list[tuple[dt.datetime, str, int, type[Event]]]) -> list[Event]:
    """The page's rows by their keys, one query per table, with pgh_context and, where the model
    has one, policy loaded; in the keys' order."""
    wanted: dict[type[Event], list[int]] = {}
    for _moment, _label, pgh_id, event_model in keys:
        wanted.setdefault(event_model, []).append(pgh_id)
    found: dict[tuple[str, int], Event] = {}
    for event_model, ids in wanted.items():
        related = ["pgh_context"] + (["policy"] if "policy" in _field_names(event_model) else [])
        label = tracked_label(event_model)
        for row in event_model.objects.filter(pgh_id__in=ids).select_related(*related):
            found[(label, row.pgh_id)] = row
    return [found[(label, pgh_id)] for _moment, label, pgh_id, _model in keys]


def trail_page(*, filters: TrailFilter, after: TrailCursor | None = None,
               size: int = PAGE_SIZE) -> tuple[list[Event], TrailCursor | None]:
    """One page of the ledger, newest first: the rows (concrete event model instances, with
    pgh_context and, where the model has one, policy loaded) and the cursor of the next page
    (None on the last page).

    Each table gives its newest keys (time, pgh_id) first, without joins: joined to the policy, the
    planner sorted a table's every row (a case table of 307,307 events took 0.9 s, bench/RESULTS.md
    part 15). The merged page's rows are then loaded by key."""
    contexts = _context_ids(filters)
    policy_id = _policy_id(filters.policy_no) if filters.policy_no else None
    heads: list[tuple[dt.datetime, str, int, type[Event]]] = []
    for event_model in trail_event_models():
        rows = _table_rows(event_model, filters, contexts, policy_id)
        if rows is None:
            continue
        if after is not None:
            rows = rows.filter(_after_q(event_model, after))
        label = tracked_label(event_model)
        heads.extend((moment, label, pgh_id, event_model)
                     for moment, pgh_id in rows.values_list("pgh_created_at", "pgh_id")[: size + 1])
    heads.sort(key=lambda head: head[:3], reverse=True)
    page = _page_rows(heads[:size])
    if len(heads) <= size or not page:
        return page, None
    moment, label, pgh_id, _model = heads[size - 1]
    return page, TrailCursor(moment, label, pgh_id)


def trail_iter(*, filters: TrailFilter, chunk: int = 1000) -> Iterator[Event]:
    """Every row under the filters, newest first, page by page (for the exports)."""
    after = None
    while True:
        rows, after = trail_page(filters=filters, after=after, size=chunk)
        yield from rows
        if after is None:
            return


def trail_previous(rows: list[Event]) -> dict[tuple[str, int], Event]:
    """For each row, the same object's row before it in its table (to show before → after),
    one query per table: {(model label, pgh_id): previous row}."""
    wanted: dict[type[Event], list[int]] = {}
    for row in rows:
        wanted.setdefault(type(row), []).append(row.pgh_id)
    found: dict[tuple[str, int], Event] = {}
    for event_model, ids in wanted.items():
        table = event_model._meta.db_table
        previous = event_model.objects.raw(
            f"""SELECT p.*, c.pgh_id AS next_pgh_id FROM "{table}" c
                CROSS JOIN LATERAL (SELECT * FROM "{table}" p WHERE p.pgh_obj_id = c.pgh_obj_id
                                    AND p.pgh_id < c.pgh_id ORDER BY p.pgh_id DESC LIMIT 1) p
                WHERE c.pgh_id = ANY(%s)""",
            [ids],
        )
        label = tracked_label(event_model)
        for row in previous:
            found[(label, cast(Any, row).next_pgh_id)] = row
    return found
