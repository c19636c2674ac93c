"""Partial transfers that name a policy, and over-payments (issue 9), with the shipped matching
rules (migrations 0004 and 0014: the policy-number and payer-account rules accept other amounts).

8860000000000003: annual 5,000.00 issued 2019-10-10; k = 7 is due 2026-10-10, its grace ends
2026-12-09 (60 days), k = 8 is due 2027-10-10.
GZ 8860000000000001: monthly 300.00 issued 2020-01-31; k = 82 is due 2026-11-30, k = 83 2026-12-31,
k = 84 2027-01-31, k = 85 2027-02-28 ... k = 93 2027-10-31, k = 94 2027-11-30.
"""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Allocation, Installment, MatchingRule, Payment
from billing.services.allocations import policy_credit
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.tests.services.money_data import policies_add
from conftest import AS_OF, matching_rules_restore
from policies.models import Policy

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要"
C, GZ = "8860000000000003", "8860000000000001"


def _statement(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _import(data: bytes, as_of: dt.date, name: str = "statement.csv") -> dict:
    return statement_import(name=name, data=data, format="csv", template="cn-online-banking", as_of=as_of)


def _installments(policy_no: str, n: int) -> list:
    return list(Installment.objects.filter(policy__policy_no=policy_no).order_by("sequence")
                .values_list("sequence", "amount_paid", "status", "paid_value_date")[:n])


@pytest.fixture
def annual(portfolio):
    assert MatchingRule.objects.filter(kind="reference", accepts_partial=True, amount_tolerance=D("0.00")).exists()
    policies_add(C)
    installments_extend(as_of=dt.date(2026, 11, 20))


def test_shipped_rules_accept_other_amounts_except_the_payer_name():
    matching_rules_restore()  # as the migrations ship them, where a transactional test emptied the table
    assert sorted(MatchingRule.objects.values_list("kind", "accepts_partial", "action")) == [
        ("payer_account", True, "auto"), ("payer_name", False, "propose"), ("reference", True, "auto")]


def test_two_partial_transfers_pay_the_installment_on_the_second_in_time(annual):
    first = _import(_statement(f"2026-11-20,2500.00,CNY,陈静,,PART-1,保单{C} premium part 1/2"),
                    as_of=dt.date(2026, 11, 20), name="day-1.csv")
    assert (first["matched"], first["suspense"]) == (1, 0)
    assert _installments(C, 2) == [(7, D("2500.00"), "partially_paid", None), (8, D("0.00"), "scheduled", None)]

    second = _import(_statement(f"2026-12-05,2500.00,CNY,陈静,,PART-2,保单{C} premium part 2/2"),
                     as_of=dt.date(2026, 12, 5), name="day-2.csv")
    assert (second["matched"], second["suspense"]) == (1, 0)
    installment = Installment.objects.get(policy__policy_no=C, sequence=7)
    # paid on the second transfer's value date, inside grace (to 2026-12-09): paid in time
    assert (installment.amount_paid, installment.status, installment.paid_value_date, installment.grace_end) == (
        D("5000.00"), "paid", dt.date(2026, 12, 5), dt.date(2026, 12, 9))
    assert [(a.amount, a.value_date) for a in Allocation.objects.filter(installment=installment).order_by("id")] == [
        (D("2500.00"), dt.date(2026, 11, 20)), (D("2500.00"), dt.date(2026, 12, 5))]
    assert Payment.objects.filter(reference__startswith="PART-", status="matched").count() == 2
    assert Policy.objects.get(policy_no=C).status == "in_force"


def test_two_partial_transfers_in_one_file_are_matched_line_by_line_the_same(annual):
    report = _import(_statement(f"2026-11-20,2500.00,CNY,陈静,,PART-1,保单{C} premium part 1/2",
                                f"2026-12-05,2500.00,CNY,陈静,,PART-2,保单{C} premium part 2/2"),
                     as_of=dt.date(2026, 12, 5))
    assert (report["matched"], report["suspense"]) == (2, 0)
    assert _installments(C, 1) == [(7, D("5000.00"), "paid", dt.date(2026, 12, 5))]


def test_a_rule_that_does_not_accept_other_amounts_leaves_a_partial_transfer_in_suspense(annual):
    MatchingRule.objects.filter(kind__in=["reference", "payer_account"]).update(accepts_partial=False)
    _import(_statement(f"2026-11-20,2500.00,CNY,陈静,,PART-1,保单{C} premium part 1/2"), as_of=dt.date(2026, 11, 20))
    payment = Payment.objects.get(reference="PART-1")
    assert (payment.status, payment.reason_code, payment.reason_params) == (
        "suspense", "amount_fits_no_installment", {"policy_no": C, "amount": "2500.00"})
    assert _installments(C, 1) == [(7, D("0.00"), "overdue", None)]


@pytest.fixture
def gz(portfolio):
    installments_extend(as_of=AS_OF)
    return Policy.objects.get(policy_no=GZ)


def test_over_payment_within_12_months_pays_the_next_installments_in_order(gz):
    # 1,000.00 valued 2026-11-25: k = 82, 83, 84 paid (900.00), 100.00 on k = 85
    report = _import(_statement(f"2026-11-25,1000.00,CNY,张伟,,OVER-1,保单{GZ}续期保费"), as_of=AS_OF)
    assert report["matched"] == 1
    day = dt.date(2026, 11, 25)
    assert _installments(GZ, 5) == [(82, D("300.00"), "paid", day), (83, D("300.00"), "paid", day),
                                    (84, D("300.00"), "paid", day), (85, D("100.00"), "partially_paid", None),
                                    (86, D("0.00"), "scheduled", None)]
    payment = Payment.objects.get(reference="OVER-1")
    assert (payment.status, payment.reason_code) == ("matched", "")
    assert policy_credit(policy_id=gz.pk) == D("0.00")


def test_over_payment_within_12_months_keeps_credit_for_an_installment_not_materialised_yet(portfolio):
    # the schedule as of 2026-10-01 reaches 2027-11-01: k = 82 .. 93 exist (12 x 300.00 = 3,600.00);
    # 3,900.00 valued 2026-12-01 pays what falls due before 2027-12-01: those 12 and k = 94
    # (2027-11-30), whose 300.00 waits as credit
    installments_extend(as_of=dt.date(2026, 10, 1))
    report = _import(_statement(f"2026-12-01,3900.00,CNY,张伟,,OVER-2,保单{GZ}续期保费"), as_of=dt.date(2026, 12, 1))
    assert report["matched"] == 1
    gz = Policy.objects.get(policy_no=GZ)
    paid = Installment.objects.filter(policy=gz, status="paid")
    assert (paid.count(), sorted(set(paid.values_list("amount_paid", flat=True)))) == (12, [D("300.00")])
    assert policy_credit(policy_id=gz.pk) == D("300.00")
    assert Payment.objects.get(reference="OVER-2").status == "matched"


def test_over_payment_beyond_12_months_sends_the_excess_to_suspense_with_its_reason(gz):
    # 4,000.00 valued 2026-11-25 pays what falls due before 2027-11-25: k = 82 .. 93 (2026-11-30 ..
    # 2027-10-31), 12 x 300.00 = 3,600.00; k = 94 (2027-11-30) exists but is beyond; 400.00 to suspense
    report = _import(_statement(f"2026-11-25,4000.00,CNY,张伟,,OVER-3,保单{GZ}续期保费"), as_of=AS_OF)
    assert report["matched"] == 1
    paid = list(Installment.objects.filter(policy=gz, status="paid").order_by("sequence")
                .values_list("sequence", "amount_paid"))
    assert paid == [(k, D("300.00")) for k in range(82, 94)]
    assert Installment.objects.get(policy=gz, sequence=94).amount_paid == D("0.00")
    payment = Payment.objects.get(reference="OVER-3")
    assert (payment.status, payment.reason_code, payment.reason_params) == (
        "suspense", "overpayment_beyond_12_months", {"excess": "400.00", "policy_no": GZ, "until": "2027-11-24"})
    assert payment.assignments.get().amount == D("3600.00")
    assert policy_credit(policy_id=gz.pk) == D("0.00")
    assert payment.reason_text == f"保单 {GZ} 多付 400.00 元，超出至 2027-11-24 的 12 个月内应缴的保费；待退款。"


def test_an_over_payment_by_the_payer_account_is_booked_the_same_way(gz):
    # no policy number: the payer-account rule finds GZ; 650.00 pays k = 82, 83 and 50.00 of k = 84
    payment, _ = payment_create(source="bank", account_no="A", identity="ACC-1", value_date=dt.date(2026, 11, 25),
                                amount=D("650.00"), payer_account="6222020200001234", remittance="保费")
    outcome = payment_match(payment=payment, as_of=AS_OF)
    assert (outcome.status, outcome.rule) == ("matched", "付款账号与保单登记账号一致")
    assert [row[:3] for row in _installments(GZ, 3)] == [(82, D("300.00"), "paid"), (83, D("300.00"), "paid"),
                                                        (84, D("50.00"), "partially_paid")]


def test_the_excess_of_an_over_payment_is_refunded_and_reconciles(gz, make_user):
    from billing.services.reconciliation import reconciliation_for
    from billing.services.suspense import payment_refund

    _import(_statement(f"2026-11-25,4000.00,CNY,张伟,,OVER-4,保单{GZ}续期保费"), as_of=AS_OF)
    payment = Payment.objects.get(reference="OVER-4")
    payment_refund(payment=payment, actor=make_user("fin_r", ["finance"]), reason="多付部分退回付款人")
    payment.refresh_from_db()
    assert (payment.status, payment.reason_code, payment.status_reason) == (
        "refunded", "overpayment_beyond_12_months", "多付部分退回付款人")
    [line] = reconciliation_for(day=dt.date(2026, 11, 25))["lines"]
    assert (line.amount, line.allocated, line.credit, line.suspense, line.refunded, line.difference) == (
        D("4000.00"), D("3600.00"), D("0.00"), D("0.00"), D("400.00"), D("0.00"))
