"""The schedule's anchor (a payment plan change to another frequency): due dates still computed
from the issue date, month ends and the leap day included."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Installment
from billing.services.schedules import installments_extend, schedule_anchor_months, schedule_last_sequence
from policies.models import Policy

pytestmark = pytest.mark.django_db
BJ = "8860000000000002"  # issued 2024-02-29, annual, 10 years, paid to 2026-02-28


def test_an_anchored_monthly_schedule_counts_from_the_leap_day_issue_date(portfolio):
    # annual until 2027-02-28 (issue + 36 months), monthly from there: sequence 3 is that date
    Policy.objects.filter(policy_no=BJ).update(frequency="monthly", modal_premium=Decimal("105.50"),
                                               schedule_anchor_sequence=3, schedule_anchor_months=36)
    installments_extend(as_of=dt.date(2026, 11, 25))  # horizon 2027-12-25
    rows = list(Installment.objects.filter(policy__policy_no=BJ).order_by("sequence")
                .values_list("sequence", "due_date", "amount_due"))
    assert [r[1] for r in rows] == [
        dt.date(2027, 2, 28), dt.date(2027, 3, 29), dt.date(2027, 4, 29), dt.date(2027, 5, 29), dt.date(2027, 6, 29),
        dt.date(2027, 7, 29), dt.date(2027, 8, 29), dt.date(2027, 9, 29), dt.date(2027, 10, 29), dt.date(2027, 11, 29)]
    assert [r[0] for r in rows] == list(range(3, 13)) and {r[2] for r in rows} == {Decimal("105.50")}
    # 10 years = 120 months: the last monthly installment is issue + 119 months = 2034-01-29
    assert schedule_last_sequence(Policy.objects.get(policy_no=BJ)) == 3 + (120 - 36) - 1 == 86


def test_without_an_anchor_the_schedule_is_the_plain_one(portfolio):
    installments_extend(as_of=dt.date(2026, 11, 25))
    rows = list(Installment.objects.filter(policy__policy_no=BJ).order_by("sequence")
                .values_list("sequence", "due_date"))
    assert rows == [(2, dt.date(2026, 2, 28)), (3, dt.date(2027, 2, 28))]
    assert schedule_last_sequence(Policy.objects.get(policy_no=BJ)) == 9


@pytest.mark.parametrize(("issue", "day", "frequency", "months"), [
    (dt.date(2020, 1, 31), dt.date(2027, 1, 31), "quarterly", 84),
    (dt.date(2020, 1, 31), dt.date(2027, 4, 30), "quarterly", 87),   # 31 April clipped to the 30th
    (dt.date(2020, 1, 31), dt.date(2026, 12, 31), "quarterly", None),  # 83 months: not a quarter
    (dt.date(2020, 1, 31), dt.date(2027, 4, 29), "monthly", None),   # not the clipped due date
    (dt.date(2024, 2, 29), dt.date(2027, 2, 28), "monthly", 36),     # the leap day clipped
    (dt.date(2024, 2, 29), dt.date(2028, 2, 29), "annual", 48),
    (dt.date(2024, 2, 29), dt.date(2028, 2, 28), "annual", None),    # 2028 has a 29 February
    (dt.date(2024, 2, 29), dt.date(2024, 2, 29), "annual", None),    # the issue date itself
])
def test_where_a_frequency_change_may_anchor_the_schedule(issue, day, frequency, months):
    assert schedule_anchor_months(issue_date=issue, day=day, frequency=frequency) == months
