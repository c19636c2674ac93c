import datetime as dt

from django.db.models import F, QuerySet

from accounts.roles import perm
from core.dates import add_months
from policies.selectors import branch_scope_q
from renewals.models import DueListEntry, NightlyRun

WINDOWS = {"month": 1, "quarter": 3, "year": 12}


def due_window(*, window: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Next month: the calendar month after as_of's; next quarter: the three months after it;
    next 12 months: from tomorrow to as_of + 12 months."""
    if window == "year":
        return as_of + dt.timedelta(days=1), add_months(as_of, 12)
    first = add_months(as_of.replace(day=1), 1)
    return first, add_months(first, WINDOWS[window]) - dt.timedelta(days=1)


def due_list(*, user, window: str, as_of: dt.date, filters: dict) -> QuerySet[DueListEntry]:
    if not user.has_perm(perm("view_portfolio")):
        return DueListEntry.objects.none()
    start, end = due_window(window=window, as_of=as_of)
    qs = (DueListEntry.objects.filter(due_date__gte=start, due_date__lte=end)
          .select_related("policy__holder", "branch", "product", "agent"))
    scope = branch_scope_q(user)
    if scope is not None:
        qs = qs.filter(scope)
    for field in ("branch", "product", "agent"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    for field in ("frequency", "payment_method"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    return qs.order_by("due_date", "policy_id")


def business_date_last_run() -> tuple[dt.date | None, NightlyRun | None]:
    """The date the portfolio's figures are as of: the latest finished night, and the latest run."""
    finished = NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).order_by("-as_of").first()
    latest = NightlyRun.objects.order_by("-as_of").first()
    return (finished.as_of if finished else None), latest


def work_summary(*, user, as_of: dt.date, limit: int = 20) -> dict:
    """A clerk's or lead's day, over their branches: installments coming due in 30 days, policies
    overdue inside grace (the work, the nearest end of grace first), lapses of the last 30 days."""
    from billing.models import Installment
    from policies.models import PolicyStatus
    from policies.selectors import policy_list
    from renewals.models import Application, ApprovalStatus, Hold

    policies = policy_list(user=user)
    installments = Installment.objects.filter(policy__in=policies)
    in_grace = installments.filter(
        status__in=[Installment.Status.OVERDUE, Installment.Status.PARTIALLY_PAID], due_date__lt=as_of,
        grace_end__gte=as_of, policy__status=PolicyStatus.IN_FORCE)
    summary = {
        "as_of": as_of,
        "due_30": installments.filter(status__in=[Installment.Status.SCHEDULED, Installment.Status.DUE],
                                      due_date__gte=as_of, due_date__lte=as_of + dt.timedelta(days=30)).count(),
        "overdue_policies": in_grace.values("policy_id").distinct().count(),
        "lapsed_30": policies.filter(status=PolicyStatus.LAPSED, lapse_date__gte=as_of - dt.timedelta(days=30)).count(),
        # each policy once, by its oldest overdue installment (DISTINCT ON), nearest end of grace first
        "work": list(Installment.objects.filter(pk__in=in_grace.order_by("policy_id", "sequence")
                                                .distinct("policy_id").values("pk"))
                     .select_related("policy__holder", "policy__branch")
                     .annotate(owed=F("amount_due") - F("amount_paid"))
                     .order_by("grace_end", "policy_id")[:limit]),
    }
    if user.has_perm(perm("approve_applications")):
        summary["approvals"] = (Application.objects.filter(policy__in=policies, status__in=[
            Application.Status.SUBMITTED, Application.Status.ACCEPTED]).exclude(created_by=user).count()
            + Hold.objects.filter(policy__in=policies, status=ApprovalStatus.REQUESTED).exclude(requested_by=user).count())
    if user.has_perm(perm("decide_handoffs")):
        summary["referred"] = Application.objects.filter(policy__in=policies,
                                                         status=Application.Status.REFERRED).count()
    return summary

