import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billing.models import Installment, Payment
from billing.services.allocations import allocation_reverse, payment_reverse, policy_allocate, policy_credit
from billing.services.payments import payment_assign, payment_create
from billing.services.schedules import installments_extend
from conftest import AS_OF
from policies.models import Policy

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def gz(portfolio):
    """GZ policy: monthly 300.00, first open installment due 2026-11-30 (k = 82)."""
    installments_extend(as_of=AS_OF)
    return Policy.objects.get(policy_no="8860000000000001")


_counter = iter(range(1, 10_000))


def _pay(policy, amount, value_date, as_of=AS_OF):
    payment, _ = payment_create(source="bank", account_no="6222020200000000001", identity=f"T{next(_counter)}",
                                value_date=value_date, amount=D(amount), remittance=policy.policy_no)
    payment_assign(payment=payment, policy=policy, amount=D(amount), rule="test")
    return policy_allocate(policy_id=policy.pk, as_of=as_of), payment


def _state(policy, n=3):
    return list(Installment.objects.filter(policy=policy).order_by("sequence")
                .values_list("sequence", "amount_paid", "status", "paid_value_date")[:n])


def test_exact_payment_pays_the_oldest_installment_with_its_value_date(gz):
    allocations, _ = _pay(gz, "300.00", dt.date(2026, 11, 28))
    assert [(a.installment.sequence, a.amount) for a in allocations] == [(82, D("300.00"))]
    assert _state(gz, 2) == [(82, D("300.00"), "paid", dt.date(2026, 11, 28)), (83, D("0.00"), "scheduled", None)]


def test_partial_then_completing_money_is_paid_on_the_completing_value_date(gz):
    _pay(gz, "100.00", dt.date(2026, 11, 20))
    assert _state(gz, 1) == [(82, D("100.00"), "partially_paid", None)]
    _pay(gz, "200.00", dt.date(2026, 12, 5))
    assert _state(gz, 1) == [(82, D("300.00"), "paid", dt.date(2026, 12, 5))]


def test_over_payment_pays_oldest_first_and_the_rest_is_partial(gz):
    _pay(gz, "750.00", dt.date(2026, 11, 28))
    assert _state(gz, 3) == [
        (82, D("300.00"), "paid", dt.date(2026, 11, 28)),
        (83, D("300.00"), "paid", dt.date(2026, 11, 28)),
        (84, D("150.00"), "partially_paid", None),
    ]


def test_money_before_its_installment_exists_is_credit_applied_later_with_its_value_date(portfolio):
    # the schedule as of 2026-10-01 runs through 2027-11-01: k = 82 (2026-11-30) .. 93 (2027-10-31)
    installments_extend(as_of=dt.date(2026, 10, 1))
    gz = Policy.objects.get(policy_no="8860000000000001")
    # 13 x 300.00 valued 2026-12-01 pays what falls due before 2027-12-01: the 12 that exist and
    # k = 94 (2027-11-30), which does not exist yet: its 300.00 is held as credit
    _pay(gz, str(300 * 13), dt.date(2026, 12, 1))
    assert policy_credit(policy_id=gz.pk) == D("300.00")
    # the schedule as of 2026-11-25 materialises k = 94 and the credit pays it, with its value date
    installments_extend(as_of=AS_OF)
    policy_allocate(policy_id=gz.pk, as_of=AS_OF)
    last = Installment.objects.get(policy=gz, sequence=94)
    assert (last.due_date, last.status, last.paid_value_date) == (dt.date(2027, 11, 30), "paid", dt.date(2026, 12, 1))
    assert policy_credit(policy_id=gz.pk) == D("0.00")


def test_money_is_taken_in_value_date_order_not_import_order(gz):
    later, _ = payment_create(source="bank", account_no="A", identity="late", value_date=dt.date(2026, 12, 3),
                              amount=D("300.00"))
    earlier, _ = payment_create(source="bank", account_no="A", identity="early", value_date=dt.date(2026, 11, 29),
                                amount=D("300.00"))
    payment_assign(payment=later, policy=gz, amount=D("300.00"), rule="test")
    payment_assign(payment=earlier, policy=gz, amount=D("300.00"), rule="test")
    policy_allocate(policy_id=gz.pk, as_of=AS_OF)
    assert [r[3] for r in _state(gz, 2)] == [dt.date(2026, 11, 29), dt.date(2026, 12, 3)]


def test_reversal_reopens_the_installment(gz):
    allocations, payment = _pay(gz, "300.00", dt.date(2026, 11, 28))
    allocation_reverse(allocation=allocations[0], reason="debit returned AM04", as_of=dt.date(2026, 12, 2))
    assert _state(gz, 1) == [(82, D("0.00"), "overdue", None)]  # due 2026-11-30 < 2026-12-02
    # allocations are never replayed: allocating again finds no credit (the assignment still holds it)
    payment_reverse(payment=payment, reason="returned", as_of=dt.date(2026, 12, 2))
    assert policy_allocate(policy_id=gz.pk, as_of=dt.date(2026, 12, 2)) == []


def test_over_payment_on_a_policy_with_nothing_left_due_goes_to_suspense(reference_data):
    from conftest import GZ_POLICY, policies_csv
    from policies.services.imports import policies_import

    # quarterly, 10 years from 2017-03-15: the last installment (k = 39) is due 2026-12-15
    row = (GZ_POLICY.replace("2020-01-31,monthly,20", "2017-03-15,quarterly,10")
           .replace("2026-11-30,in_force", "2026-12-15,in_force"))
    policies_import(files=[("p.csv", policies_csv(row))], as_of=AS_OF)
    installments_extend(as_of=AS_OF)
    policy = Policy.objects.get(policy_no="8860000000000001")
    _, payment = _pay(policy, "500.00", dt.date(2026, 12, 1))
    assert _state(policy, 1) == [(39, D("300.00"), "paid", dt.date(2026, 12, 1))]
    payment.refresh_from_db()
    assert (payment.status, payment.reason_code, payment.reason_params) == (
        Payment.Status.SUSPENSE, "overpayment_nothing_due", {"excess": "200.00", "policy_no": "8860000000000001"})
    assert payment.assignments.get().amount == D("300.00")  # 200.00 back in suspense for refund


def test_the_database_refuses_an_installment_paid_beyond_its_amount(gz):
    installment = Installment.objects.filter(policy=gz).order_by("sequence").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Installment.objects.filter(pk=installment.pk).update(amount_paid=D("300.01"))
