"""Two workers allocating money to the same installment at once, each on its own database
connection: the policy lock serialises them and the CHECK constraint would refuse any
over-allocation, so an installment is never paid beyond its amount."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Allocation, Installment
from billing.services.matching import payment_match
from billing.services.schedules import installments_extend
from billing.tests.factories import MatchingRuleFactory, PaymentFactory
from conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn, results, errors):
    def run():
        try:
            results.append(fn())
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_overlapping_files_matched_at_once_never_over_allocate(portfolio):
    from billing.models import MatchingRule

    installments_extend(as_of=AS_OF)
    if not MatchingRule.objects.exists():  # a transactional test starts from an empty table
        MatchingRuleFactory(position=10, name="ref", reference=True)
    # the same 300.00 transfer reported in two overlapping files under different identities would
    # be two payments; here two distinct transfers race for the same oldest installment
    payments = PaymentFactory.create_batch(6, value_date=dt.date(2026, 11, 28), amount=Decimal("300.00"),
                                           remittance="保单8860000000000001")
    barrier = threading.Barrier(len(payments))
    results, errors = [], []

    def match(payment):
        def run():
            barrier.wait()
            return payment_match(payment=payment, as_of=AS_OF).status
        return run

    threads = [_in_thread(match(p), results, errors) for p in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(results) == ["matched"] * 6
    # six transfers of 300.00 paid the six oldest installments exactly once each
    paid = list(Installment.objects.filter(policy__policy_no="8860000000000001", status="paid")
                .order_by("sequence").values_list("sequence", "amount_paid"))
    assert paid == [(k, Decimal("300.00")) for k in range(82, 88)]
    for installment in Installment.objects.filter(policy__policy_no="8860000000000001"):
        allocated = sum(a.amount for a in Allocation.objects.filter(installment=installment, reversed_at__isnull=True))
        assert allocated == installment.amount_paid <= installment.amount_due
