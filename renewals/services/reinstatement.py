"""Reinstatement (复效): the quote of DESIGN.md section 3.

Within the window (lapse date .. lapse date + 2 years - 1 day) the policyholder owes every unpaid
installment due by the reinstatement date plus simple interest at the product's yearly rate on
each, from its due date to the reinstatement date, actual/365, rounded half-up to the cent per
installment.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from billing.models import Installment
from core.dates import add_months
from core.errors import ApplicationError
from policies.models import Policy, PolicyStatus

CENT = Decimal("0.01")


@dataclass(frozen=True)
class QuoteLine:
    sequence: int
    due_date: dt.date
    amount_due: Decimal
    interest: Decimal


@dataclass(frozen=True)
class Quote:
    policy_no: str
    on: dt.date
    lines: list[QuoteLine]

    @property
    def principal(self) -> Decimal:
        return sum((line.amount_due for line in self.lines), Decimal("0.00"))

    @property
    def interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest

    def as_dict(self) -> dict:
        return {"policy_no": self.policy_no, "on": self.on.isoformat(), "total": f"{self.total:.2f}",
                "installments": [{"due_date": line.due_date.isoformat(), "amount_due": f"{line.amount_due:.2f}",
                                  "interest": f"{line.interest:.2f}"} for line in self.lines]}


def reinstatement_window_end(policy: Policy) -> dt.date:
    """The last day an application may be dated: lapse date + the window - 1 day."""
    if policy.lapse_date is None:  # only a lapsed policy (which has its date) has a window
        raise ValueError(f"policy {policy.policy_no} has not lapsed")
    return add_months(policy.lapse_date, 12 * policy.product.reinstatement_years) - dt.timedelta(days=1)


def simple_interest(amount: Decimal, rate: Decimal, days: int) -> Decimal:
    return (amount * rate * days / Decimal(365)).quantize(CENT, rounding=ROUND_HALF_UP)


def reinstatement_quote(*, policy: Policy, on: dt.date) -> Quote:
    if policy.status != PolicyStatus.LAPSED or policy.lapse_date is None:
        raise ApplicationError(_("only a lapsed policy can be reinstated"), errors={"policy": [_("not lapsed")]})
    if on < policy.lapse_date:
        raise ApplicationError(_("the date is before the lapse"), errors={"on": [_("before the lapse date")]})
    if on > reinstatement_window_end(policy):
        raise ApplicationError(_("the reinstatement window has closed"),
                               errors={"on": [_("after %(day)s") % {"day": reinstatement_window_end(policy).isoformat()}]})
    rate = policy.product.reinstatement_interest_rate
    lines = []
    for installment in (Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES,
                                                   due_date__lte=on).order_by("sequence")):
        owed = installment.amount_due - installment.amount_paid
        days = (on - installment.due_date).days
        lines.append(QuoteLine(installment.sequence, installment.due_date, owed, simple_interest(owed, rate, days)))
    return Quote(policy.policy_no, on, lines)
