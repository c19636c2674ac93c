import datetime as dt

from django.db import connection
from django.db.models import F, Q, QuerySet

from accounts.roles import perm
from core.dates import add_months
from policies.selectors import branch_scope_q, branches_for, user_is_head_office
from renewals.models import DueListEntry, NightlyRun

WINDOWS = {"month": 1, "quarter": 3, "year": 12}


def due_window(*, window: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """Next month: the calendar month after as_of's; next quarter: the three months after it;
    next 12 months: from tomorrow to as_of + 12 months."""
    if window == "year":
        return as_of + dt.timedelta(days=1), add_months(as_of, 12)
    first = add_months(as_of.replace(day=1), 1)
    return first, add_months(first, WINDOWS[window]) - dt.timedelta(days=1)


def due_list_scope(*, user) -> QuerySet[DueListEntry]:
    """Last night's due list rows of the branches the user may see (by branch id: the due list's
    (due_date, policy_id, branch_id) index then tells a branch's rows apart before the heap)."""
    if not user.has_perm(perm("view_portfolio")):
        return DueListEntry.objects.none()
    if user_is_head_office(user=user):
        return DueListEntry.objects.all()
    return DueListEntry.objects.filter(branch_id__in=list(branches_for(user=user).values_list("pk", flat=True)))


def due_list(*, user, window: str, as_of: dt.date, filters: dict) -> QuerySet[DueListEntry]:
    start, end = due_window(window=window, as_of=as_of)
    qs = (due_list_scope(user=user).filter(due_date__gte=start, due_date__lte=end)
          .select_related("policy__holder", "branch", "product", "agent"))
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


def _scope_key(user) -> str:
    if not user.has_perm(perm("view_portfolio")):
        return "none"
    if user_is_head_office(user=user):
        return "all"
    return ",".join(str(pk) for pk in sorted(branches_for(user=user).values_list("pk", flat=True))) or "none"


def _until_next_night(key: str, compute):
    """compute()'s value, kept in the cache until another night finishes: the key carries the
    latest finished night (its id and end), so a night's end makes every earlier value stale, and
    the database's own id (a test database made again reuses the nights' ids)."""
    night = (NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).order_by("-finished_at")
             .values_list("pk", "finished_at").first())
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
        database = cursor.fetchone()[0]
    stamp = f"{night[0]}:{night[1].timestamp() if night[1] else 0}" if night else "0"
    return _cached(f"renewals:{key}:{database}:{stamp}", NIGHT_CACHE_SECONDS, compute)


def _cached(key: str, seconds: int, compute):
    from django.core.cache import cache

    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


NIGHT_CACHE_SECONDS = 26 * 3600  # a night's figures are kept at most a day and a bit
WORK_CANDIDATES = 2  # the night's overdue policies read for each line of the home's work list, at first
WORK_CANDIDATES_MAX = 128  # and at most, when today's money has paid most of them


def work_summary(*, user, as_of: dt.date, limit: int = 20) -> dict:
    """A clerk's or lead's day, over their branches: policies whose next premium falls due in 30 days,
    policies overdue inside grace (the work, the nearest end of grace first), lapses of the last 30
    days.

    The counts and the order are last night's (the counts kept in the cache until the next night
    finishes): they come from the night's due lists
    (renewals_due_list, each policy in force with its oldest open installment, its end of grace and
    its branch), which the night refreshes after its lapse step, so an in-force policy listed with
    a due date before as_of is in grace.
    Counting the live installments instead reads every installment of a branch's policies (seconds
    at 1,000,000 policies: bench/RESULTS.md part 14). The work list is live: of the night's overdue
    policies nearest their end of grace (twice the list's length, WORK_CANDIDATES, more when today's
    money has paid most of them off), the oldest installment each still owes, so a premium paid
    today moves the policy to its next overdue one, or off the list. A policy paid in part today
    keeps its place of last night."""
    from billing.models import Installment
    from policies.models import PolicyStatus
    from policies.selectors import policy_list
    from renewals.models import Application, ApprovalStatus, Hold

    policies = policy_list(user=user)
    entries = due_list_scope(user=user)
    overdue = entries.filter(due_date__lt=as_of, grace_end__gte=as_of)

    def night_counts() -> dict:
        return {
            "due_30": entries.filter(due_date__gte=as_of, due_date__lte=as_of + dt.timedelta(days=30)).count(),
            "overdue_policies": overdue.count(),
            "lapsed_30": policies.filter(status=PolicyStatus.LAPSED,
                                         lapse_date__gte=as_of - dt.timedelta(days=30)).count(),
        }

    summary = {
        "as_of": as_of,
        **_until_next_night(f"home-counts:{as_of.isoformat()}:{_scope_key(user)}", night_counts),
    }

    scope = branch_scope_q(user, prefix="policy__branch__")

    def work(candidates: list[int]) -> list:
        # each policy once, by its oldest overdue installment (DISTINCT ON), nearest end of grace
        # first; within the user's branches as they are now (a policy the feed moved today)
        return list(Installment.objects.filter(pk__in=Installment.objects.filter(
            scope if scope is not None else Q(), policy_id__in=candidates, due_date__lt=as_of, grace_end__gte=as_of,
            status__in=[Installment.Status.OVERDUE, Installment.Status.PARTIALLY_PAID],
            policy__status=PolicyStatus.IN_FORCE).order_by("policy_id", "sequence").distinct("policy_id").values("pk"))
            .select_related("policy__holder", "policy__branch")
            .annotate(owed=F("amount_due") - F("amount_paid"))
            .order_by("grace_end", "policy_id")[:limit])

    # the night's nearest ends of grace, more of them while today's money has paid too many off
    ordered = overdue.order_by("grace_end", "policy_id").values_list("policy_id", flat=True)
    read = limit * WORK_CANDIDATES
    while True:
        candidates = list(ordered[:read])
        summary["work"] = work(candidates)
        if len(summary["work"]) >= limit or len(candidates) < read or read >= limit * WORK_CANDIDATES_MAX:
            break
        read *= 4
    if user.has_perm(perm("approve_applications")):
        summary["approvals"] = _for_a_minute(user, "approvals", lambda: (
            Application.objects.filter(policy__in=policies, status__in=[
                Application.Status.SUBMITTED, Application.Status.ACCEPTED]).exclude(created_by=user).count()
            + Hold.objects.filter(policy__in=policies, status=ApprovalStatus.REQUESTED)
            .exclude(requested_by=user).count()))
    if user.has_perm(perm("decide_handoffs")):
        summary["referred"] = _for_a_minute(user, "referred", lambda: Application.objects.filter(
            policy__in=policies, status=Application.Status.REFERRED).count())
    return summary


HOME_COUNT_SECONDS = 60


def _for_a_minute(user, name: str, compute) -> int:
    """A count of the home kept HOME_COUNT_SECONDS per user (as the workbench's queue counts): a
    lead reloading the home does not count again; the page behind the count is live."""
    return _cached(f"renewals:home:{name}:{user.pk}:{user.date_joined.timestamp()}", HOME_COUNT_SECONDS, compute)

