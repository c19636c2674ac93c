"""A small portfolio built by hand, run through real nights (issue 15). Figures are worked out in
the tests' docstrings and written out by hand.

Five monthly policies, every one with an installment due 2026-12-01:
  A  GD-GZ  WL20 (grace 60)  auto-debit 中国工商银行  100.00  issued 2025-12-01 (policy month 13)
  B  GD-GZ  WL20             auto-debit 中国建设银行  300.00  issued 2025-12-01 (policy month 13)
  C  BJ     H30  (grace 30)  transfer                 300.00  issued 2020-12-01
  D  BJ     WL20             transfer                 400.00  issued 2020-12-01
  E  GD-GZ  H30              transfer                 500.00  issued 2020-12-01
Nights 2026-11-25, 12-01, 12-10, 2027-01-01, 01-05, 01-10. Between them:
  12-02 the bank's results: A's debit paid, B's failed (insufficient funds);
  12-05 B pays 50.00 (partial), imported the same day;
  01-01 C and E lapse (their grace ended 12-31);
  01-03 E pays 500.00 valued 01-03: after its grace, so not collected in time;
  01-04 D's 400.00 valued 2026-12-20 (inside grace) arrives: a back-dated payment, restating 12-01;
  01-08 C is reinstated.
"""

import datetime as dt
from decimal import Decimal

from billing.models import DebitLine
from billing.services.allocations import policy_allocate
from billing.services.debits import DebitOutcome, debit_results_apply
from billing.tests.factories import AssignmentFactory
from conftest import POLICY_HEADER
from policies.models import Policy
from policies.services.imports import policies_import
from policies.services.status import policy_status_change
from renewals.services.pipeline import nightly_run

BRANCHES = """branch_code,name,parent_code,province,city
HQ,总公司,,,
GD,广东分公司,HQ,广东省,
GD-GZ,广州中心支公司,GD,广东省,广州市
BJ,北京分公司,HQ,北京市,北京市
"""
PRODUCTS = """product_code,name,kind,grace_days,reinstatement_years,reinstatement_interest_rate
WL20,福寿安康终身寿险,life,60,2,0.045
H30,医乐无忧医疗保险,health,30,2,0.045
"""
HOLDER = "张伟,resident_id,11010519491231002X,1949-12-31,F,13812345678,,,,,"


def _row(no, product, branch, agent, issue, premium, method, bank="", account=""):
    holder_account = "张伟" if account else ""
    return (f"{no},{product},{branch},{agent},代理人{agent},active,{HOLDER},{issue},monthly,20,{premium},100000.00,"
            f"{method},{bank},{account},{holder_account},2026-12-01,in_force,")


POLICIES = {
    "A": _row("8860000000000101", "WL20", "GD-GZ", "AG101", "2025-12-01", "100.00", "auto_debit", "中国工商银行",
              "6222020200000101"),
    "B": _row("8860000000000102", "WL20", "GD-GZ", "AG101", "2025-12-01", "300.00", "auto_debit", "中国建设银行",
              "6217000000000102"),
    "C": _row("8860000000000103", "H30", "BJ", "AG201", "2020-12-01", "300.00", "bank_transfer"),
    "D": _row("8860000000000104", "WL20", "BJ", "AG201", "2020-12-01", "400.00", "bank_transfer"),
    "E": _row("8860000000000105", "H30", "GD-GZ", "AG102", "2020-12-01", "500.00", "bank_transfer"),
}


def pay(policy_no: str, amount: str, value_date: dt.date, as_of: dt.date) -> None:
    policy = Policy.objects.get(policy_no=policy_no)
    AssignmentFactory(payment__value_date=value_date, payment__remittance=policy_no, policy=policy,
                      amount=Decimal(amount))
    policy_allocate(policy_id=policy.pk, as_of=as_of)


def kpi_portfolio_build() -> None:
    csv = ("\n".join([POLICY_HEADER, *POLICIES.values()]) + "\n").encode()
    report = policies_import(files=[("branches.csv", BRANCHES.encode()), ("products.csv", PRODUCTS.encode()),
                                    ("policies.csv", csv)], as_of=dt.date(2026, 11, 25))
    assert [f["rejected"] for f in report["files"]] == [0, 0, 0], report
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2026, 12, 1))
    lines = {line.policy.policy_no: line for line in DebitLine.objects.select_related("policy")}
    debit_results_apply(outcomes=[
        DebitOutcome(lines["8860000000000101"].end_to_end_id, paid=True),
        DebitOutcome(lines["8860000000000102"].end_to_end_id, paid=False, reason="insufficient_funds",
                     reason_code="AM04", reason_text="余额不足"),
    ], as_of=dt.date(2026, 12, 2))
    pay("8860000000000102", "50.00", dt.date(2026, 12, 5), dt.date(2026, 12, 5))
    nightly_run(as_of=dt.date(2026, 12, 10))
    nightly_run(as_of=dt.date(2027, 1, 1))
    pay("8860000000000105", "500.00", dt.date(2027, 1, 3), dt.date(2027, 1, 3))
    pay("8860000000000104", "400.00", dt.date(2026, 12, 20), dt.date(2027, 1, 4))
    nightly_run(as_of=dt.date(2027, 1, 5))
    policy_status_change(policy=Policy.objects.get(policy_no="8860000000000103"), status="in_force",
                         effective_date=dt.date(2027, 1, 8), source="user", rule="reinstatement",
                         reason="application 1")
    nightly_run(as_of=dt.date(2027, 1, 10))
