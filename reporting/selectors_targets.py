"""Branch targets against the actuals (issue 15): the narrowest target whose period holds the
period shown, for each KPI and branch within the reader's branches. A branch's actual sums the
numerators and denominators of its own and its descendants' rows of the KPI table by branch
(facts are kept on the policies' own branches), so it is read from the snapshots like every
other figure."""

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet

from policies.models import Branch
from policies.selectors import branch_scope_q
from reporting.metrics import METRIC_BY_CODE
from reporting.models import KpiTarget
from reporting.selectors import CENTS, MONEY_KPIS, kpi_table, rate


def target_list(*, user) -> QuerySet[KpiTarget]:
    qs = KpiTarget.objects.select_related("branch", "set_by")
    scope = branch_scope_q(user) if user is not None else None
    qs = qs if scope is None else qs.filter(scope)
    return qs.order_by("-period_start", "branch__path", "metric", "period_end")


def targets_applying(*, user, date_from: dt.date, date_to: dt.date) -> list[KpiTarget]:
    """One target per branch and KPI: of those whose period holds [date_from, date_to], the shortest."""
    found: dict[tuple, KpiTarget] = {}
    candidates = target_list(user=user).filter(period_start__lte=date_from, period_end__gte=date_to)
    for target in sorted(candidates, key=lambda t: (t.period_end - t.period_start, t.pk)):
        found.setdefault((target.branch_id, target.metric), target)
    return sorted(found.values(), key=lambda t: (t.branch.path, list(METRIC_BY_CODE).index(t.metric)
                                                 if t.metric in METRIC_BY_CODE else 99))


def target_rows(*, user, date_from: dt.date, date_to: dt.date, branch_rows: list[dict] | None = None,
                filters: dict | None = None) -> list[dict]:
    """Each applying target with its actual (numerator, denominator, rate) and the gap in points.
    branch_rows: the KPI table by branch of the same period and filters, when the caller has it."""
    targets = targets_applying(user=user, date_from=date_from, date_to=date_to)
    if not targets:
        return []
    if branch_rows is None:
        branch_rows = kpi_table(date_from=date_from, date_to=date_to, by="branch", user=user, filters=filters)
    paths = dict(Branch.objects.filter(code__in=[r["slice"]["branch"] for r in branch_rows])
                 .values_list("code", "path"))
    out = []
    for target in targets:
        rows = [r for r in branch_rows if paths.get(r["slice"]["branch"], "\0").startswith(target.branch.path)]
        numerator = sum((Decimal(r[target.metric]["numerator"]) for r in rows), Decimal(0))
        denominator = sum((Decimal(r[target.metric]["denominator"]) for r in rows), Decimal(0))
        actual = rate(numerator, denominator)
        money = target.metric in MONEY_KPIS
        out.append({
            "target": target, "metric": METRIC_BY_CODE.get(target.metric), "branch": target.branch,
            "rate": target.target, "actual": actual,
            "numerator": numerator.quantize(CENTS) if money else int(numerator),
            "denominator": denominator.quantize(CENTS) if money else int(denominator),
            "gap": None if actual is None else (actual - target.target) * 100,
            "met": None if actual is None else (
                actual <= target.target if getattr(METRIC_BY_CODE.get(target.metric), "lower_is_better", False)
                else actual >= target.target),
        })
    return out


def target_json(rows: list[dict]) -> list[dict]:
    """The rows as the API gives them: decimal strings, null where there is no actual."""
    return [{
        "branch": r["branch"].code, "metric": r["target"].metric, "period": r["target"].period,
        "period_from": r["target"].period_start.isoformat(), "period_to": r["target"].period_end.isoformat(),
        "target": str(r["rate"]),
        "actual": {"numerator": str(r["numerator"]), "denominator": str(r["denominator"]),
                   "rate": None if r["actual"] is None else str(r["actual"])},
        "gap_points": None if r["gap"] is None else str(r["gap"].quantize(CENTS)),
        "met": r["met"],
    } for r in rows]
