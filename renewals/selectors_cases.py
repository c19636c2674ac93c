"""The workbench's reads (issue 14): the queues, scoped to the user's branches and kinds of case,
most urgent first, keyset-paginated on (priority DESC, id) over the partial indexes case_queue_*;
the tabs' counts capped ("99+") and cached a minute per user so they stay cheap; the case page's panels; the lead's figures."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from billing.models import DebitLine, Installment
from renewals.models import Case, CaseHistory, ClerkAway, ContactAttempt, WorkTeam
from renewals.services.calendar import calendar_last_year, working_calendar
from renewals.services.cases import case_types_for, cases_workable, claim_idle, teams_led_by

QUEUES = ("mine", "team", "unassigned", "near_breach", "breached", "handoffs")
COUNT_CAP = 1000
# near breach: the deadline within this many working days
NEAR_BREACH_WORKING_DAYS = 2


def near_breach_until(as_of: dt.date) -> dt.date:
    return working_calendar(around=as_of, before_days=7, after_days=30).plus_working_days(
        as_of, NEAR_BREACH_WORKING_DAYS)


def calendar_warning(as_of: dt.date) -> bool:
    """Deadlines past the calendar's data are counted on weekdays: the pages say so."""
    last = calendar_last_year()
    return last is None or as_of.year + 1 > last


def _queue_filter(qs: QuerySet[Case], *, user, queue: str, as_of: dt.date) -> QuerySet[Case]:
    if queue == "mine":
        return qs.filter(Q(assignee=user) | Q(claimed_by=user))
    if queue == "team":
        # the user's teams first (a handful of ids): the case_queue_team index, no join, no DISTINCT
        teams = list(WorkTeam.objects.filter(Q(team__members=user) | Q(team__lead=user))
                     .values_list("pk", flat=True).distinct())
        return qs.filter(team_id__in=teams)
    if queue == "unassigned":
        return qs.filter(assignee__isnull=True)
    if queue == "near_breach":
        return qs.filter(deadline__isnull=False, deadline__gte=as_of, deadline__lte=near_breach_until(as_of))
    if queue == "breached":
        return qs.filter(deadline__lt=as_of)
    if queue == "handoffs":
        # the user's hand-off kinds, spelled out: none (a clerk) is no query at all, where a
        # prefix filter would scan every open case to count zero
        return qs.filter(type__in=[t for t in case_types_for(user) if t.startswith("handoff_")])
    return qs


def case_queue_qs(*, user, queue: str, as_of: dt.date, filters: dict | None = None) -> QuerySet[Case]:
    """The open cases of one queue, filtered: branch, type, overdue days (at least), amount at
    stake (at least), payment method, last debit failure reason, last contact outcome, segment."""
    filters = filters or {}
    qs = cases_workable(user=user).filter(status__in=Case.OPEN_STATUSES)
    qs = _queue_filter(qs, user=user, queue=queue, as_of=as_of)
    if filters.get("branch"):
        branch = filters["branch"]
        qs = qs.filter(policy__branch__path__startswith=branch.path)
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("overdue_days"):
        qs = qs.filter(Exists(Installment.objects.filter(
            policy=OuterRef("policy"), status__in=Installment.OPEN_STATUSES,
            due_date__lte=as_of - dt.timedelta(days=int(filters["overdue_days"])))))
    if filters.get("amount"):
        qs = qs.annotate(stake=Cast(KT("priority_parts__at_stake"), DecimalField(max_digits=14, decimal_places=2))
                         ).filter(stake__gte=filters["amount"])
    if filters.get("payment_method"):
        qs = qs.filter(policy__payment_method=filters["payment_method"])
    if filters.get("debit_reason"):
        qs = qs.filter(Exists(DebitLine.objects.filter(installment__policy=OuterRef("policy"),
                                                       reason=filters["debit_reason"])))
    if filters.get("outcome"):
        qs = qs.filter(outcome=filters["outcome"])
    if filters.get("segment"):
        qs = qs.filter(policy__segment=filters["segment"])
    return qs


@dataclass
class QueuePage:
    rows: list
    next_cursor: str | None
    cursor: str | None


def _cursor_parse(cursor: str | None) -> tuple[int, int] | None:
    try:
        priority, pk = (cursor or "").split("_")
        return int(priority), int(pk)
    except ValueError:
        return None


def case_queue(*, user, queue: str, as_of: dt.date, filters: dict | None = None, cursor: str | None = None,
               limit: int = 50) -> QueuePage:
    """One page of a queue after `cursor` ("<priority>_<id>" of the last row seen)."""
    qs = case_queue_qs(user=user, queue=queue, as_of=as_of, filters=filters)
    after = _cursor_parse(cursor)
    if after is not None:
        priority, pk = after
        qs = qs.filter(Q(priority__lt=priority) | Q(priority=priority, id__gt=pk))
    rows = list(qs.select_related("policy__holder", "policy__branch", "assignee", "claimed_by", "team__team")
                .order_by("-priority", "id")[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    now = timezone.now()
    for row in rows:
        row.held = bool(row.claimed_by_id and row.claimed_at and row.claimed_at >= now - claim_idle())  # type: ignore[attr-defined]  # ad-hoc, read by the template
    next_cursor = f"{rows[-1].priority}_{rows[-1].pk}" if more and rows else None
    return QueuePage(rows=rows, next_cursor=next_cursor, cursor=cursor)


COUNTS_SECONDS = 60
# a tab's badge says "99+" past this: the count walks at most this many index entries (bench/RESULTS.md
# part 10: the counts to 1,000 cost more than the page itself at 100,000 open cases)
TAB_COUNT_CAP = 99


def case_queue_counts(*, user, as_of: dt.date, fresh: bool = False) -> dict[str, str]:
    """Each queue's size, capped at TAB_COUNT_CAP ("99+"): a count over a LIMITed subquery, kept
    COUNTS_SECONDS per user in the cache (a clerk reloading the queue does not count again)."""
    from django.core.cache import cache

    # the user's join time too: a test database reuses ids
    key = f"workbench:counts:{user.pk}:{user.date_joined.timestamp()}:{as_of.isoformat()}"
    counts = None if fresh else cache.get(key)
    if counts is None:
        counts = {}
        for queue in QUEUES:
            n = case_queue_qs(user=user, queue=queue, as_of=as_of).values("pk")[:TAB_COUNT_CAP + 1].count()
            counts[queue] = f"{TAB_COUNT_CAP}+" if n > TAB_COUNT_CAP else str(n)
        cache.set(key, counts, COUNTS_SECONDS)
    return counts


def _channel_labelled(contacts) -> list:
    """The contacts, each with its channel's name in the reader's language (channel_label)."""
    from outreach.selectors import CHANNEL_LABELS
    from renewals.forms_cases import CHANNELS

    labels = {**CHANNEL_LABELS, **dict(CHANNELS)}
    rows = list(contacts)
    for row in rows:
        row.channel_label = labels.get(row.channel, row.channel)
    return rows


def case_page(*, case: Case, user, as_of: dt.date) -> dict:
    """The case at a glance: its policy's installments (what is due, the grace end), payments,
    applications, the contact timeline, the policy's other cases, the call script."""
    from billing.models import Allocation
    from outreach.models import ContactLog
    from renewals.models import Application

    policy = case.policy
    installments = list(Installment.objects.filter(policy=policy).exclude(status="cancelled")
                        .filter(due_date__lte=as_of + dt.timedelta(days=120)).order_by("-sequence")[:8])
    allocations = list(Allocation.objects.filter(installment__policy=policy).select_related("installment")
                       .order_by("-id")[:8])
    return {
        "installments": installments,
        "allocations": allocations,
        "applications": list(Application.objects.filter(policy=policy).order_by("-id")[:5]),
        "contacts": _channel_labelled(ContactLog.objects.filter(policy=policy).select_related("actor")
                                      .order_by("-occurred_at")[:10]),
        "attempts": list(ContactAttempt.objects.filter(case__policy=policy).select_related("actor")
                         .order_by("-occurred_at")[:10]),
        "others": list(Case.objects.filter(policy=policy).exclude(pk=case.pk).order_by("-id")[:10]),
        "history": list(CaseHistory.objects.filter(case=case).select_related("actor").order_by("-created_at", "-id")),
        "notes": list(case.notes.select_related("author").order_by("-created_at")),
        "script": call_script_for(case=case, language=getattr(user, "language", "zh-hans"), as_of=as_of),
        "children": list(case.children.filter(type__startswith="handoff_").order_by("-id")),
    }


def script_audience(*, case: Case, as_of: dt.date) -> str:
    """Hardship when the recorded reason says so, else by the policyholder's age (under 50:
    younger, with the online payment link; 50 and over: older, the counter and bank safety)."""
    policy = case.policy
    if policy.overdue_reason == "financial_difficulty" or case.attempts.filter(reason="hardship").exists():
        return "hardship"
    birth = getattr(policy.holder, "birth_date", None)
    if birth and (as_of.year - birth.year) < 50:
        return "younger"
    return "older" if birth else "younger"


def call_script_for(*, case: Case, language: str, as_of: dt.date):
    from renewals.models import CallScript

    audience = script_audience(case=case, as_of=as_of)
    scripts = {s.language: s for s in CallScript.objects.filter(audience=audience)}
    return scripts.get(language) or scripts.get("zh-hans") or next(iter(scripts.values()), None)


def lead_figures(*, user, as_of: dt.date) -> dict:
    """A lead's day over their branches: load per clerk, breaches, today's outcomes, and each
    clerk's figures (cases worked, reached, promises, promises kept)."""
    open_cases = cases_workable(user=user).filter(status__in=Case.OPEN_STATUSES)
    today = ContactAttempt.objects.filter(case__in=cases_workable(user=user), occurred_at__date=as_of)
    per_clerk = {}
    row: Mapping[str, Any]  # the three values() rows below
    for row in (open_cases.exclude(assignee__isnull=True).values("assignee", "assignee__username",
                                                                    "assignee__display_name")
                .annotate(n=Count("id")).order_by("-n")[:50]):
        per_clerk[row["assignee"]] = {"name": row["assignee__display_name"] or row["assignee__username"],
                                      "load": row["n"], "worked": 0, "reached": 0, "promises": 0, "kept": 0}
    for row in (ContactAttempt.objects.filter(case__in=cases_workable(user=user),
                                              occurred_at__date__gte=as_of - dt.timedelta(days=30))
                .values("actor", "actor__username", "actor__display_name")
                .annotate(worked=Count("case", distinct=True), reached=Count("id", filter=Q(reached=True)),
                          promises=Count("id", filter=Q(outcome="promise")))):
        entry = per_clerk.setdefault(row["actor"], {"name": row["actor__display_name"] or row["actor__username"],
                                                    "load": 0, "kept": 0})
        entry.update(worked=row["worked"], reached=row["reached"], promises=row["promises"])
    for row in (Case.objects.filter(type=Case.Type.PROMISE, outcome="paid", assignee__isnull=False,
                                    policy__in=cases_workable(user=user).values("policy"),
                                    resolved_at__date__gte=as_of - dt.timedelta(days=30))
                .values("assignee").annotate(n=Count("id"))):
        if row["assignee"] in per_clerk:
            per_clerk[row["assignee"]]["kept"] = row["n"]
    away = set(ClerkAway.objects.values_list("user_id", flat=True))
    # the breaches escalated to this lead by the night (BREACH_SQL), most urgent first
    escalated_to_me = (open_cases.filter(assignee=user, breached_on__isnull=False)
                       .select_related("policy", "team__team").order_by("-priority", "id"))
    return {
        "escalated_to_me": list(escalated_to_me[:20]),
        "escalated_to_me_count": escalated_to_me.values("pk")[:COUNT_CAP + 1].count(),
        "teams": list(teams_led_by(user)),
        "open": open_cases.values("pk")[:COUNT_CAP + 1].count(),
        "unassigned": open_cases.filter(assignee__isnull=True).values("pk")[:COUNT_CAP + 1].count(),
        "breached": open_cases.filter(deadline__lt=as_of).count(),
        "escalated": open_cases.filter(status=Case.Status.ESCALATED).count(),
        "outcomes_today": [{**row, "label": ContactAttempt.Outcome(row["outcome"]).label}
                           for row in today.values("outcome").annotate(n=Count("id")).order_by("-n")],
        "clerks": [{"id": pk, "away": pk in away, **figures} for pk, figures in per_clerk.items()],
    }


# --- customer feedback, for the reports ---------------------------------------------------------

FEEDBACK_PERIODS = ("month", "week", "day")


def feedback_report_allowed(user) -> bool:
    """Whoever reads reports (DESIGN.md section 1: leads their team's, managers all), in their
    branches: counts only, no customer's details."""
    from accounts.roles import perm

    return user.has_perm(perm("view_reports"))


def feedback_report(*, user, start: dt.date, end: dt.date, period: str = "month", branch=None) -> dict:
    """Customer feedback (feedback cases) opened from `start` to `end` inclusive, in the user's
    branches (or below `branch`), counted by period (month / week from Monday / day), the
    policy's branch and kind. One GROUP BY; the totals are summed from its rows."""
    from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

    from policies.selectors import branch_scope_q

    trunc = {"month": TruncMonth, "week": TruncWeek, "day": TruncDay}[period]
    qs = Case.objects.filter(type=Case.Type.FEEDBACK, opened_on__gte=start, opened_on__lte=end)
    scope = branch_scope_q(user, prefix="policy__branch__")
    if scope is not None:
        qs = qs.filter(scope)
    if branch is not None:
        qs = qs.filter(policy__branch__path__startswith=branch.path)
    rows = list(qs.annotate(period=trunc("opened_on")).values("period", "policy__branch__code",
                                                              "policy__branch__name", "category")
                .annotate(n=Count("id")).order_by("period", "policy__branch__code", "category"))
    table: dict[tuple, dict] = {}
    by_kind: dict[str, int] = {}
    by_branch: dict[str, int] = {}
    for row in rows:
        day = row["period"].date() if hasattr(row["period"], "date") else row["period"]
        key = (day, row["policy__branch__code"])
        line = table.setdefault(key, {"period": day, "branch_code": row["policy__branch__code"],
                                      "branch": row["policy__branch__name"], "counts": {}, "total": 0})
        line["counts"][row["category"]] = line["counts"].get(row["category"], 0) + row["n"]
        line["total"] += row["n"]
        by_kind[row["category"]] = by_kind.get(row["category"], 0) + row["n"]
        by_branch[row["policy__branch__name"]] = by_branch.get(row["policy__branch__name"], 0) + row["n"]
    return {"rows": list(table.values()), "by_kind": by_kind, "by_branch": by_branch,
            "total": sum(by_kind.values())}
