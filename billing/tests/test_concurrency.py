"""Money booked to the same installment by two transactions at once, each on its own database
connection: the policy lock serialises them (the per-line matcher, the debit answers and the
statement's set-based rules all read what the policy owes only once they hold it), so an
installment is never paid beyond its amount and the second payment pays the next one."""

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
from core.tests.threads import while_held

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
    # the shipped rules (the portfolio fixture puts them back where a transactional test emptied them)
    installments_extend(as_of=AS_OF)
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


def _while_a_transfer_pays_gz(other) -> tuple:
    """GZ owes 300.00 on 2026-11-30 (sequence 82) and on 2026-12-31 (83). A transfer of 300.00 is
    allocated to 82 in a transaction kept open until `other`, run on another connection, waits for
    the policy's lock (core.tests.threads.while_held). Returns the transfer's sequences and what
    `other` returned."""
    from billing.services.allocations import policy_allocate
    from billing.services.payments import payment_assign, payment_create
    from policies.models import Policy

    gz = Policy.objects.get(policy_no="8860000000000001")

    def transfer():
        money, _ = payment_create(source="bank", account_no="A", identity="transfer-82",
                                  value_date=dt.date(2026, 11, 29), amount=Decimal("300.00"))
        payment_assign(payment=money, policy=gz, amount=Decimal("300.00"), rule="test")
        return [a.installment.sequence for a in policy_allocate(policy_id=gz.pk, as_of=AS_OF)]

    return while_held(transfer, other)


def _gz_paid() -> list[tuple]:
    return list(Installment.objects.filter(policy__policy_no="8860000000000001", status="paid").order_by("sequence")
                .values_list("sequence", "amount_paid", "paid_value_date"))


# Each payment path that books set-based reads the installments only once it holds the policy.
# Before, the debit answers and the statement's rules decided "82 is open and owes exactly 300.00"
# first, then waited for the lock, and added their 300.00 to the 300.00 just paid: the
# installment's CHECK refused it, and the whole chunk of answers (the whole statement) failed. Now
# the second 300.00 pays 83, as an over-payment does.


def test_a_debit_paid_while_a_transfer_pays_the_same_installment_books_the_next_one(portfolio):
    from billing.services.debits import DebitOutcome, debit_batch_create, debit_batch_mark_exported, debit_results_apply

    installments_extend(as_of=AS_OF)
    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    debit_batch_mark_exported(batch=batch)
    e2e = batch.lines.get().end_to_end_id
    results = _while_a_transfer_pays_gz(
        lambda: debit_results_apply(outcomes=[DebitOutcome(e2e, paid=True)], as_of=dt.date(2026, 12, 1))["paid"])
    assert results == ([82], 1)
    assert _gz_paid() == [(82, Decimal("300.00"), dt.date(2026, 11, 29)), (83, Decimal("300.00"), dt.date(2026, 11, 30))]


@pytest.mark.parametrize(("remittance", "rule"), [("保单8860000000000001续期保费", "ref"), ("续期保费", "account")])
def test_a_statement_line_imported_while_a_transfer_pays_the_same_installment_books_the_next_one(
        portfolio, remittance, rule):
    # by the policy number the line names (the first rule), or by the payer's account registered on
    # the policy (the second): each set-based, each a statement of its own after the lock
    from billing.models import MatchingRule, Payment
    from billing.services.statements import statement_import

    installments_extend(as_of=AS_OF)
    MatchingRule.objects.all().delete()
    MatchingRuleFactory(position=10, name="ref", reference=True)
    MatchingRuleFactory(position=20, name="account", payer_account=True)
    data = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
            f"2026-11-30,300.00,CNY,张伟,6222020200001234,BK0001,{remittance}\n").encode()
    results = _while_a_transfer_pays_gz(lambda: statement_import(
        name="statement.csv", data=data, format="csv", template="cn-online-banking", as_of=AS_OF)["matched"])
    assert results == ([82], 1)
    assert _gz_paid() == [(82, Decimal("300.00"), dt.date(2026, 11, 29)), (83, Decimal("300.00"), dt.date(2026, 11, 30))]
    line = Payment.objects.get(reference="BK0001")
    assert (line.status, line.assignments.get().rule) == ("matched", rule)
