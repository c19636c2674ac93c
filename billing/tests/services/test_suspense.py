import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.models import Assignment, Installment, Payment
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from billing.services.suspense import (
    assignment_approve,
    assignment_reject,
    payment_keep,
    payment_match_manual,
    payment_refund,
)
from conftest import AS_OF
from core.errors import ApplicationError
from policies.models import Policy

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def setup(portfolio, make_user, settings):
    settings.BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD = "1000.00"
    installments_extend(as_of=AS_OF)
    return {
        "gz": Policy.objects.get(policy_no="8860000000000001"),
        "bj": Policy.objects.get(policy_no="8860000000000002"),
        "maker": make_user("fin1", ["finance"]),
        "checker": make_user("fin2", ["finance"]),
    }


def _suspense(amount, identity):
    payment, _ = payment_create(source="bank", account_no="A", identity=identity, value_date=dt.date(2026, 11, 27),
                                amount=D(amount), remittance="续期保费 张先生")
    return payment


def test_small_manual_match_is_booked_at_once(setup):
    payment = _suspense("300.00", "s1")
    assignment = payment_match_manual(payment=payment, policy=setup["gz"], amount=D("300.00"),
                                      actor=setup["maker"], as_of=AS_OF)
    assert assignment.status == "confirmed"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.MATCHED
    assert Installment.objects.filter(policy=setup["gz"], status="paid").count() == 1


def test_large_manual_match_waits_for_a_second_person(setup):
    payment = _suspense("1200.00", "s2")
    assignment = payment_match_manual(payment=payment, policy=setup["bj"], amount=D("1200.00"),
                                      actor=setup["maker"], as_of=AS_OF)
    assert assignment.status == "pending_approval"
    assert not Installment.objects.filter(policy=setup["bj"], status="paid").exists()
    with translation.override("en"), pytest.raises(ApplicationError, match="maker-checker"):
        assignment_approve(assignment=assignment, actor=setup["maker"], as_of=AS_OF)
    assignment_approve(assignment=assignment, actor=setup["checker"], as_of=AS_OF)
    paid = Installment.objects.get(policy=setup["bj"], status="paid")
    assert (paid.due_date, paid.paid_value_date) == (dt.date(2026, 2, 28), dt.date(2026, 11, 27))


def test_rejected_match_leaves_the_money_in_suspense(setup):
    payment = _suspense("1200.00", "s3")
    assignment = payment_match_manual(payment=payment, policy=setup["bj"], amount=D("1200.00"),
                                      actor=setup["maker"], as_of=AS_OF)
    assignment_reject(assignment=assignment, actor=setup["checker"], reason="wrong policy")
    payment.refresh_from_db()
    assert (payment.status, payment.status_reason) == ("suspense", "wrong policy")


def test_refund_and_keep(setup):
    payment = _suspense("88.00", "s4")
    payment_keep(payment=payment, actor=setup["maker"], reason="waiting for the payer's call")
    payment.refresh_from_db()
    assert payment.status == "kept"
    payment_refund(payment=payment, actor=setup["maker"], reason="no policy: returned to payer")
    payment.refresh_from_db()
    assert payment.status == "refunded"


def test_a_match_cannot_assign_more_than_the_payment(setup):
    payment = _suspense("300.00", "s5")
    with translation.override("en"), pytest.raises(ApplicationError, match="only 300.00"):
        payment_match_manual(payment=payment, policy=setup["gz"], amount=D("300.01"), actor=setup["maker"],
                             as_of=AS_OF)
    assert Assignment.objects.count() == 0
