"""Review of issue 9: money for a policy whose effect has ended (surrendered by the feed) pays
nothing of it; it goes to suspense for a refund (DESIGN.md section 3, Allocation: "goes to
suspense for refund when the policy has nothing left due"), on the bulk and the per-line path.

GZ (8860000000000001): monthly 300.00; its schedule is materialised by the night of 2026-11-25
(first open installment due 2026-11-30). The feed of 2026-12-03 says surrendered (applied: an
outcome the core system owns). 300.00 naming it, valued 2026-12-03, arrives the same day.
"""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Allocation, Installment, Payment
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from billing.services.statements import statement_import
from conftest import AS_OF, BJ_POLICY, GZ_POLICY, policies_csv
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
DAY = dt.date(2026, 12, 3)


@pytest.fixture
def surrendered(portfolio):
    nightly_run(as_of=AS_OF)
    report = policies_import(files=[("policies.csv", policies_csv(GZ_POLICY.replace(",in_force,", ",surrendered,"),
                                                                  BJ_POLICY))], as_of=DAY)
    assert [f["rejected"] for f in report["files"]] == [0]
    policy = Policy.objects.get(policy_no=GZ)
    assert policy.status == "surrendered"
    assert Installment.objects.filter(policy=policy, status__in=Installment.OPEN_STATUSES).exists()
    return policy


def _nothing_paid(policy: Policy, payment: Payment) -> None:
    assert not Allocation.objects.filter(installment__policy=policy).exists()
    first = Installment.objects.get(policy=policy, due_date=dt.date(2026, 11, 30))
    assert (first.amount_paid, first.status) == (Decimal("0.00"), "scheduled")  # no night since 2026-11-25
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUSPENSE
    assert payment.reason_code == Payment.ReasonCode.OVERPAYMENT_NOTHING_DUE
    assert payment.reason_params["excess"] == "300.00"


def test_a_statement_line_for_a_surrendered_policy_goes_to_suspense(surrendered):
    header = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
    statement_import(name="s.csv", data=(header + "2026-12-03,300.00,CNY,张伟,,END1,保单8860000000000001\n").encode(),
                     format="csv", template="cn-online-banking", as_of=DAY)
    _nothing_paid(surrendered, Payment.objects.get(reference="END1"))


def test_the_per_line_matcher_sends_it_to_suspense_too(surrendered):
    payment, _created = payment_create(source="bank", account_no="A", identity="end-2", value_date=DAY,
                                       amount=Decimal("300.00"), remittance="保单8860000000000001")
    payment_match(payment=payment, as_of=DAY)
    _nothing_paid(surrendered, payment)
