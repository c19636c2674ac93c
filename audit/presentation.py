"""Trail rows for people (the ledger page, the policy page, the exports): who, when, on which
business date, what in words of the reader's language, on which object, before → after.

Personal data stays masked here whatever the reader may reveal: revealing is the audited
button on the policy page, not the trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field, ForeignKey, Model
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from pghistory.models import Event

from accounts.masking import mask_account, mask_id_no, mask_phone
from audit.selectors import tracked_label, tracked_model, trail_event_models, trail_previous

ACTIONS = {
    "create": _("Create"),
    "update": _("Update"),
    "void": _("Void"),
    "reveal": _("Reveal"),
    "access_denied": _("Refused access"),
    "operation": _("Bulk operation"),
    "money": _("Money change"),
    "result": _("Debit result"),
    "reverse": _("Reversal"),
}
# labels whose row is a change of the object's fields (the others are a creation or a fact)
CHANGE_LABELS = {"update", "void", "money", "result", "reverse"}
NOISE = {"updated_at", "created_at", "details", "search_vector"}
# the revealed field of a reveal row, as the policy page's reveal button names it
REVEALED_FIELDS = {
    "holder_id_no": (_("Policyholder"), _("ID number")),
    "holder_phone": (_("Policyholder"), _("Mobile phone")),
    "insured_id_no": (_("Insured"), _("ID number")),
    "insured_phone": (_("Insured"), _("Mobile phone")),
    "bank_account": (_("Bank account"),),
}
# the kind of a system job, from the prefix of its name ("import_policies:policies.csv")
JOB_KINDS = {
    "nightly": _("Nightly run"),
    "pipeline": _("Nightly run"),
    "import_policies": _("Policy import"),
    "statement": _("Statement import"),
    "debit_batch": _("Debit batch"),
    "debit_results": _("Debit results"),
    "outreach_receipts": _("Message receipts"),
    "demo": _("Demo data"),
    "seed": _("Demo data"),
    "schedules": _("Installment schedules"),
}
REFERENCE_FIELDS = ("policy_no", "code", "reference", "name")


@dataclass
class TrailRow:
    model: str  # the tracked model's label (data-model)
    action: str  # the event label (data-action)
    created_at: dt.datetime
    business_date: str
    user: str  # a person's name, or "" for the system
    username: str
    job: str  # the system job's kind in words
    job_name: str  # the job's own name (a tooltip, the exports)
    action_label: str
    object_label: str
    policy_no: str
    reference: str  # the object's reference when it is not a policy (masked where personal)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    revealed: str = ""  # a reveal row's field code
    revealed_label: str = ""
    reason: str = ""
    no_earlier: bool = False  # a change with no earlier row to compare with


def _verbose(model: type[Model]) -> str:
    return str(model._meta.verbose_name)


def _tracked(event: Event) -> type[Model]:
    return tracked_model(type(event))


def _model_field(model: type[Model], name: str) -> Field | None:
    try:
        found = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return found if isinstance(found, Field) else None


def _mask(name: str, value: Any) -> str | None:
    """The masked text of a personal field's value, or None when the field is not personal."""
    if "id_no" in name:
        return mask_id_no(str(value))
    if "phone" in name:
        return mask_phone(str(value))
    if ("account" in name and "name" not in name) or name == "account_no":
        return mask_account(str(value))
    return None


def _event_field_names(event_model: type[Event]) -> set[str]:
    return {f.name for f in event_model._meta.concrete_fields}


def _tracked_fields(event: Event) -> list[Field]:
    """The event row's copies of the tracked model's fields (not pghistory's own), without the
    internal ones: a field whose model gives it no label of its own (a branch's materialised path)."""
    tracked = _tracked(event)
    fields = []
    for f in type(event)._meta.concrete_fields:
        if f.name.startswith("pgh_") or f.name in NOISE:
            continue
        own = _model_field(tracked, f.name)
        if own is not None and str(own.verbose_name) == f.name.replace("_", " "):
            continue
        fields.append(f)
    return fields


class _Labels:
    """Texts for foreign keys of a page's rows, fetched once per related model."""

    def __init__(self) -> None:
        self.wanted: dict[type[Model], set] = {}
        self.found: dict[tuple[type[Model], Any], str] = {}

    def want(self, model: type[Model], value: Any) -> None:
        if value is not None:
            self.wanted.setdefault(model, set()).add(value)

    def fetch(self) -> None:
        user_model = get_user_model()
        for model, ids in self.wanted.items():
            for pk, obj in model._default_manager.in_bulk(list(ids)).items():
                if model is user_model:
                    text = str(obj)
                elif _model_field(model, "id_no") is not None:  # a person: masked
                    text = mask_id_no(cast(Any, obj).id_no)
                else:
                    text = str(obj)
                self.found[(model, pk)] = text

    def text(self, model: type[Model], value: Any) -> str:
        return self.found.get((model, value), _verbose(model))


def _display(tracked: type[Model], event_field: Field, value: Any, labels: _Labels) -> str:
    if value is None or value == "":
        return "—"
    name = event_field.name
    if isinstance(event_field, ForeignKey):
        return labels.text(event_field.related_model, value)
    masked = _mask(name, value)
    if masked is not None:
        return masked
    own = _model_field(tracked, name)
    if own is not None and own.choices:
        return str(dict(own.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | Decimal | int):
        return str(value)
    if isinstance(value, dict | list):
        return "…"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _label(tracked: type[Model], event_field: Field) -> str:
    own = _model_field(tracked, event_field.name)
    return str(own.verbose_name if own is not None else event_field.verbose_name)


def _reference(event: Event) -> str:
    for name in REFERENCE_FIELDS:
        if hasattr(event, name) and getattr(event, name):
            return str(getattr(event, name))
    if getattr(event, "id_no", None):
        return mask_id_no(cast(Any, event).id_no)
    return ""


def _job(job_name: str) -> str:
    if not job_name:
        return ""
    prefix = job_name.split(":", 1)[0]
    return str(JOB_KINDS.get(prefix, _("System job")))


def _reason(metadata: dict) -> str:
    """A stored reason in the reader's language when the catalogue has it; free text a service
    wrote in English is kept for the exports only."""
    reason = metadata.get("reason") or ""
    translated = gettext(reason) if reason else ""
    return translated if translated != reason else ""


def trail_rows(events: list[Event]) -> list[TrailRow]:
    """The rows of a page of trail events (concrete event models, as audit.selectors gives them)."""
    previous = trail_previous([e for e in events if e.pgh_label in CHANGE_LABELS])
    labels = _Labels()
    user_ids = set()
    for event in events:
        metadata = event.pgh_context.metadata if event.pgh_context_id else {}  # type: ignore[attr-defined]
        if isinstance(metadata.get("user"), int):
            user_ids.add(metadata["user"])
        for f in _tracked_fields(event):
            if isinstance(f, ForeignKey):
                labels.want(f.related_model, getattr(event, f.attname))
                before = previous.get((tracked_label(type(event)), event.pgh_id))
                if before is not None:
                    labels.want(f.related_model, getattr(before, f.attname))
    user_model = get_user_model()
    for pk in user_ids:
        labels.want(user_model, pk)
    labels.fetch()

    rows = []
    for event in events:
        tracked = _tracked(event)
        label = tracked_label(type(event))
        metadata = event.pgh_context.metadata if event.pgh_context_id else {}  # type: ignore[attr-defined]
        user_id = metadata.get("user")
        username = metadata.get("username") or ""
        user = labels.found.get((user_model, user_id), username) if user_id or username else ""
        policy = getattr(event, "policy", None) if "policy" in _event_field_names(type(event)) else None
        policy_no = getattr(event, "policy_no", "") or (policy.policy_no if policy is not None else "") \
            or metadata.get("policy_no") or ""
        row = TrailRow(
            model=label, action=event.pgh_label, created_at=timezone.localtime(event.pgh_created_at),
            business_date=metadata.get("business_date") or metadata.get("as_of") or "",
            user=str(user), username=username, job=_job(metadata.get("job") or ""),
            job_name=metadata.get("job") or "",
            action_label=str(ACTIONS.get(event.pgh_label, pgettext_lazy("trail action", "Other"))),
            object_label=_verbose(tracked), policy_no=policy_no,
            reference="" if policy_no else _reference(event), reason=_reason(metadata),
        )
        if event.pgh_label in CHANGE_LABELS:
            before = previous.get((label, event.pgh_id))
            if before is None:
                row.no_earlier = True
            else:
                for f in _tracked_fields(event):
                    old, new = getattr(before, f.attname), getattr(event, f.attname)
                    if old != new:
                        row.changes.append((_label(tracked, f), _display(tracked, f, old, labels),
                                            _display(tracked, f, new, labels)))
        revealed = metadata.get("field") or ""
        if revealed:
            row.revealed = revealed
            row.revealed_label = " · ".join(str(part) for part in REVEALED_FIELDS.get(revealed, (revealed,)))
        rows.append(row)
    return rows


def trail_object_types() -> list[tuple[str, str]]:
    """(tracked model label, its name) of every tracked model, for the filter."""
    return sorted(((tracked_label(m), _verbose(tracked_model(m))) for m in trail_event_models()), key=lambda pair: pair[1])
