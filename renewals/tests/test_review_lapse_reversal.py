"""Review of issue 9's lapse reversal: a policy reinstated after a first lapse, then lapsed
again, has its second lapse reversed when money valued inside that lapse's grace lands.

GZ (8860000000000001): monthly 300.00. Installment due 2026-11-30: last grace day 2027-01-29,
lapse 2027-01-30. Paid late (valued 2027-02-10), with 2026-12-31's (in grace: last day
2027-03-01), then reinstated in force from 2027-02-15. Installment due 2027-01-31: last grace
day 2027-04-01, lapse 2027-04-02. Its 300.00 valued 2027-03-30 arrives on 2027-04-06.
"""

import datetime as dt

import pytest

from billing.models import Installment
from billing.services.statements import statement_import
from conftest import AS_OF
from policies.models import Policy, PolicyStatus, PolicyStatusChange
from policies.services.status import policy_status_change
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"


def _statement(lines: list[str], *, as_of: dt.date, name: str) -> dict:
    return statement_import(name=name, data=(HEADER + "\n".join(lines) + "\n").encode(), format="csv",
                            template="cn-online-banking", as_of=as_of)


def test_a_second_lapse_after_a_reinstatement_is_reversed_by_in_grace_money(portfolio):
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 1, 30))
    assert Policy.objects.get(policy_no=GZ).status == "lapsed"
    # the overdue installment paid after its grace (no reversal), and the next one
    _statement(["2027-02-10,300.00,CNY,张伟,6222020200001234,RE1,8860000000000001",
                "2027-02-10,300.00,CNY,张伟,6222020200001234,RE2,8860000000000001"],
               as_of=dt.date(2027, 2, 10), name="late.csv")
    policy = Policy.objects.get(policy_no=GZ)
    assert policy.status == "lapsed"
    assert Installment.objects.get(policy=policy, due_date=dt.date(2026, 11, 30)).paid_value_date == dt.date(2027, 2, 10)
    policy_status_change(policy=policy, status=PolicyStatus.IN_FORCE, effective_date=dt.date(2027, 2, 15),
                         source="user", rule="reinstatement", reason="review test")
    nightly_run(as_of=dt.date(2027, 4, 5))
    policy = Policy.objects.get(policy_no=GZ)
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2027, 4, 2))

    _statement(["2027-03-30,300.00,CNY,张伟,6222020200001234,RE3,8860000000000001"],
               as_of=dt.date(2027, 4, 6), name="in-grace.csv")
    policy = Policy.objects.get(policy_no=GZ)
    assert Installment.objects.get(policy=policy, due_date=dt.date(2027, 1, 31)).paid_value_date == dt.date(2027, 3, 30)
    # the installment that lapsed it is paid in time; the reinstatement settled the older one
    assert (policy.status, policy.lapse_date) == ("in_force", None)
    second = PolicyStatusChange.objects.get(policy=policy, status="lapsed", effective_date=dt.date(2027, 4, 2))
    assert second.voided_at is not None
    first = PolicyStatusChange.objects.get(policy=policy, status="lapsed", effective_date=dt.date(2027, 1, 30))
    assert first.voided_at is None
