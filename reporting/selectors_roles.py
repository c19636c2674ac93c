"""Finance's and risk's dashboards, and the workbench's outcomes and the customers' feedback on the
manager's (issue 15; DESIGN.md section 1: finance sees its own figures, risk its own, managers and
auditors all). Figures within the reader's branches.

Collection comes from the KPI snapshots like the manager's figures. Suspense, reconciliation,
flags, contact outcomes and feedback are read from their own tables, aggregated in the database
(their rows are the money lines, flags and cases of a period, not the portfolio); the collection
rate by lapse-risk decile is scoring's, over the whole company (scoring.selectors reads no branch
scope), so it is shown to the head office only."""

import datetime as dt
from decimal import Decimal

from django.db.models import Aggregate, Count, Q, Sum
from django.utils.translation import gettext as _

from billing.models import Payment
from billing.selectors import payment_list
from billing.services.reconciliation import reconciliation_day_totals
from policies.selectors import branch_scope_q, user_is_head_office
from renewals.models import Case, ContactAttempt
from risk.models import Flag, Severity
from risk.selectors import FLAG_IN_SCOPE_SQL
from scoring.selectors import collection_by_risk_decile

# who sees which dashboard (DESIGN.md section 1, "dashboards and reports"): the roles, as the
# capability matrix grants no capability per dashboard
DASHBOARD_ROLES = {
    "finance": ("finance", "manager", "auditor", "admin"),
    "risk": ("risk_reviewer", "manager", "auditor", "admin"),
}
SUSPENSE_AGES = ((0, 7), (8, 30), (31, 90), (91, None))  # days since the value date, inclusive
FLAG_AGES = ((0, 6), (7, 29), (30, None))
RECONCILIATION_DAYS = 7


def dashboard_allowed(*, user, dashboard: str) -> bool:
    return user.groups.filter(name__in=DASHBOARD_ROLES[dashboard]).exists()


def _age_label(low: int, high: int | None) -> str:
    return _("%(low)s–%(high)s days") % {"low": low, "high": high} if high is not None else \
        _("over %(low)s days") % {"low": low - 1}


def suspense_ageing(*, user, as_of: dt.date) -> list[dict]:
    """Money received and not matched (suspense, proposed), by days since its value date."""
    waiting = payment_list(user=user).filter(status__in=[Payment.Status.SUSPENSE, Payment.Status.PROPOSED],
                                             direction=Payment.Direction.CREDIT, reversal=False)
    sums: dict[str, Aggregate] = {}
    for n, (low, high) in enumerate(SUSPENSE_AGES):
        q = Q(value_date__lte=as_of - dt.timedelta(days=low))
        if high is not None:
            q &= Q(value_date__gte=as_of - dt.timedelta(days=high))
        sums[f"n{n}"] = Count("id", filter=q)
        sums[f"a{n}"] = Sum("amount", filter=q)
    row = waiting.aggregate(**sums)
    return [{"label": _age_label(low, high), "lines": row[f"n{n}"] or 0,
             "amount": row[f"a{n}"] or Decimal("0.00")} for n, (low, high) in enumerate(SUSPENSE_AGES)]


def reconciliation_differences(*, user, date_to: dt.date, days: int = RECONCILIATION_DAYS) -> list[dict]:
    """Each of the period's last days: money received, where it went, and the difference (money
    not accounted for), the whole company's. Head office only (money lines have no branch)."""
    if not user_is_head_office(user=user):
        return []
    return reconciliation_day_totals(first=date_to - dt.timedelta(days=days - 1), last=date_to)


def _flags(user):
    if user_is_head_office(user=user):
        return Flag.objects.all()
    paths = list(user.branches.values_list("path", flat=True))
    return Flag.objects.extra(where=[FLAG_IN_SCOPE_SQL], params=[paths]) if paths else Flag.objects.none()


def risk_figures(*, user, date_from: dt.date, date_to: dt.date) -> dict:
    """Open flags by rule and severity, their ageing on date_to, flags raised in the period and the
    outcomes of the reviews done in it, by rule."""
    flags = _flags(user)
    live = flags.filter(status__in=Flag.LIVE_STATUSES, raised_on__lte=date_to)
    by_rule = list(live.values("rule_key", "rule__name").annotate(
        total=Count("id"), **{s: Count("id", filter=Q(severity=s)) for s in Severity.values})
        .order_by("-total", "rule__name"))
    ageing = []
    for low, high in FLAG_AGES:
        q = Q(raised_on__lte=date_to - dt.timedelta(days=low))
        if high is not None:
            q &= Q(raised_on__gte=date_to - dt.timedelta(days=high))
        ageing.append({"label": _age_label(low, high), "flags": live.filter(q).count()})
    decided = (Flag.Status.CLEARED, Flag.Status.CONFIRMED, Flag.Status.ESCALATED)
    outcomes = list(flags.filter(reviewed_on__range=(date_from, date_to), status__in=decided)
                    .values("rule_key", "rule__name")
                    .annotate(**{s: Count("id", filter=Q(status=s)) for s in decided}, total=Count("id"))
                    .order_by("-total", "rule__name"))
    raised = flags.filter(raised_on__range=(date_from, date_to)).count()
    return {"by_rule": by_rule, "ageing": ageing, "outcomes": outcomes, "raised": raised,
            "open": sum(r["total"] for r in by_rule), "severities": Severity.choices,
            "decided": [(s, Flag.Status(s).label) for s in decided]}


def _case_scope(user, prefix: str = "policy__branch__") -> Q:
    scope = branch_scope_q(user, prefix=prefix) if user is not None else None
    return Q() if scope is None else scope


def workbench_outcomes(*, user, date_from: dt.date, date_to: dt.date) -> dict:
    """The clerks' contact attempts of the period by outcome, and the reasons they recorded for
    not paying (the reason of each attempt that gave one)."""
    attempts = ContactAttempt.objects.filter(_case_scope(user), occurred_at__date__range=(date_from, date_to))
    labels = dict(ContactAttempt.Outcome.choices)
    outcomes = [{"code": r["outcome"], "label": str(labels.get(r["outcome"], r["outcome"])), "attempts": r["n"]}
                for r in attempts.values("outcome").annotate(n=Count("id")).order_by("-n", "outcome")]
    reasons_labels = dict(ContactAttempt.Reason.choices)
    reasons = [{"code": r["reason"], "label": str(reasons_labels.get(r["reason"], r["reason"])), "attempts": r["n"]}
               for r in attempts.exclude(reason="").values("reason").annotate(n=Count("id")).order_by("-n", "reason")]
    return {"outcomes": outcomes, "reasons": reasons}


FEEDBACK_LABELS_FALLBACK = "other"


def feedback_by_category(*, user, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Customer feedback recorded in the period (feedback cases), by category, open and resolved."""
    from renewals.forms_cases import FEEDBACK_LABELS

    cases = Case.objects.filter(_case_scope(user), type=Case.Type.FEEDBACK, opened_on__range=(date_from, date_to))
    rows = cases.values("category").annotate(total=Count("id"),
                                             open=Count("id", filter=Q(status__in=Case.OPEN_STATUSES)))
    return sorted(({"code": r["category"], "label": str(FEEDBACK_LABELS.get(r["category"] or FEEDBACK_LABELS_FALLBACK,
                                                                          r["category"])),
                    "total": r["total"], "open": r["open"]} for r in rows), key=lambda r: (-r["total"], r["code"]))


def risk_deciles(*, user, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Collection rate by lapse-risk decile (issue 18), whole company: head office only."""
    if not user_is_head_office(user=user):
        return []
    return collection_by_risk_decile(start=date_from, end=date_to)
