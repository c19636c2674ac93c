"""Presentation helpers for the workbench's templates: what a row of the case queue shows, computed
once per row in Python (a template's lookups and filters cost the queue page more than its query:
bench/RESULTS.md part 13)."""

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from renewals.models import Case

PRIORITY_PARTS = ("deadline", "amount", "policies", "risk", "reason", "escalation")


@dataclass(frozen=True)
class QueueRow:
    pk: int
    url: str
    priority: int
    priority_title: str
    type_label: str
    policy_no: str
    holder: str
    branch: str
    status_label: str
    next_action: str
    deadline: str
    overdue: bool
    escalated: bool
    at_stake: str
    assignee: str
    held_by: str


def queue_rows(rows, *, as_of: dt.date) -> list[QueueRow]:
    """The queue page's rows (Case objects with policy, holder, branch, assignee and claimed_by
    selected, and `held` set by case_queue)."""
    types = {value: str(label) for value, label in Case.Type.choices}
    statuses = {value: str(label) for value, label in Case.Status.choices}
    names = {"deadline": _("Deadline"), "amount": _("Amount"), "policies": _("Policies"), "risk": _("Risk"),
             "reason": _("Reason"), "escalation": _("Escalation")}
    # the case page's address, reversed once: /renewals/cases/<pk>/
    url = reverse("renewals:case", args=[0]).removesuffix("0/")
    out = []
    for case in rows:
        parts = case.priority_parts or {}
        title = " · ".join(f"{names[key]} {parts.get(key) or 0}" for key in PRIORITY_PARTS)
        out.append(QueueRow(
            pk=case.pk, url=f"{url}{case.pk}/", priority=case.priority, priority_title=title,
            type_label=types.get(case.type, case.type),
            policy_no=case.policy.policy_no, holder=case.policy.holder.name, branch=case.policy.branch.name,
            status_label=statuses.get(case.status, case.status),
            next_action=case.next_action_on.strftime("%m-%d") if case.next_action_on else "",
            deadline=case.deadline.isoformat() if case.deadline else "—",
            overdue=bool(case.deadline and case.deadline < as_of), escalated=case.status == Case.Status.ESCALATED,
            at_stake=str(parts.get("at_stake") or "—"),
            assignee=str(case.assignee) if case.assignee_id else "—",
            held_by=str(case.claimed_by) if case.held and case.claimed_by_id else "—"))
    return out
