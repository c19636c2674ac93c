"""Branch targets (issue 15): a manager sets a target for a KPI of a branch over a month, a quarter
or a year; setting it again for the same KPI, branch and period changes it. Written with the
user in the trail's context, so the auditor sees who set what, when, before and after."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from core.dates import add_months
from core.errors import ApplicationError
from policies.models import Branch
from policies.selectors import branches_for
from reporting.metrics import METRIC_BY_CODE
from reporting.models import KpiTarget

# the roles that set targets: the matrix (DESIGN.md section 1) gives managers the dashboards and
# no capability of their own, so the service checks the role (the lead may make it a capability)
TARGET_ROLES = ("manager", "admin")
PERIOD_MONTHS: dict[str, int] = {KpiTarget.Period.MONTH: 1, KpiTarget.Period.QUARTER: 3, KpiTarget.Period.YEAR: 12}


def may_set_targets(user) -> bool:
    return bool(user.has_perm(perm("view_reports")) and user.groups.filter(name__in=TARGET_ROLES).exists())


def target_period_bounds(period: str, start: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a month, quarter (starting January, April, July or October) or
    year (starting January) beginning in start's month."""
    if period not in PERIOD_MONTHS:
        raise ApplicationError(_("unknown period"), errors={"period": [_("Choose a month, a quarter or a year.")]})
    first = start.replace(day=1)
    if period == KpiTarget.Period.QUARTER and first.month not in (1, 4, 7, 10):
        raise ApplicationError(_("a quarter starts in January, April, July or October"),
                               errors={"start": [_("A quarter starts in January, April, July or October.")]})
    if period == KpiTarget.Period.YEAR and first.month != 1:
        raise ApplicationError(_("a year starts in January"), errors={"start": [_("A year starts in January.")]})
    return first, add_months(first, PERIOD_MONTHS[period]) - dt.timedelta(days=1)


def target_rate(percent) -> Decimal:
    """A target typed as a percentage ("95.5") as the rate stored (0.9550)."""
    try:
        value = Decimal(str(percent).strip().rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("the target is not a number"),
                               errors={"target": [_("Enter a percentage, e.g. 95.5.")]}) from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ApplicationError(_("the target is out of range"),
                               errors={"target": [_("Enter a percentage from 0 to 100.")]})
    return (value / 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@transaction.atomic
def kpi_target_set(*, actor, metric: str, branch: Branch, period: str, start: dt.date, percent) -> KpiTarget:
    """Set (or change) the target of a KPI for a branch and period."""
    if not may_set_targets(actor):
        raise ApplicationError(_("only managers set targets"), status=403)
    if metric not in METRIC_BY_CODE:
        raise ApplicationError(_("unknown KPI"), errors={"metric": [_("Choose a KPI.")]})
    if not branches_for(user=actor).filter(pk=branch.pk).exists():
        raise ApplicationError(_("this branch is not yours"), errors={"branch": [_("Choose one of your branches.")]})
    first, last = target_period_bounds(period, start)
    rate = target_rate(percent)
    with audit_context(user=actor.pk, username=actor.get_username()):
        target = (KpiTarget.objects.select_for_update()
                  .filter(metric=metric, branch=branch, period_start=first, period_end=last).first())
        if target is None:
            return KpiTarget.objects.create(metric=metric, branch=branch, period=period, period_start=first,
                                            period_end=last, target=rate, set_by=actor, set_at=timezone.now())
        if target.target != rate:
            target.target, target.set_by, target.set_at = rate, actor, timezone.now()
            target.save(update_fields=["target", "set_by", "set_at"])
        return target
