import datetime as dt

from django.db.models import QuerySet

from accounts.roles import perm
from core.dates import add_months
from policies.selectors import branch_scope_q
from renewals.models import DueListEntry

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
