import datetime as dt
from decimal import Decimal

import pytest
from defusedxml import ElementTree as SafeET

from billing.models import DebitLine, Installment
from billing.services.debits import (
    DebitOutcome,
    debit_batch_create,
    debit_batch_csv,
    debit_batch_mark_exported,
    debit_batch_pain008,
    debit_results_apply,
)
from billing.services.schedules import installments_extend
from conftest import AS_OF

pytestmark = pytest.mark.django_db
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture
def scheduled(portfolio):
    installments_extend(as_of=AS_OF)  # GZ (auto_debit) first due 2026-11-30, 300.00


def test_batch_takes_auto_debit_installments_due_that_day_once(scheduled):
    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    assert (batch.line_count, batch.total) == (1, Decimal("300.00"))
    line = batch.lines.get()
    assert (line.policy.policy_no, line.installment.due_date, line.bank_account) == (
        "8860000000000001", dt.date(2026, 11, 30), "6222020200001234")
    # the BJ policy pays by transfer: never debited; a second batch the same day adds nothing
    assert debit_batch_create(collection_date=dt.date(2026, 11, 30)).line_count == 0


def test_pain008_and_csv_exports_carry_every_line(scheduled):
    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    root = SafeET.fromstring(debit_batch_pain008(batch=batch))
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "300.00"
    tx = root.find("p:CstmrDrctDbtInitn/p:PmtInf/p:DrctDbtTxInf", namespaces=NS)
    assert tx.find("p:InstdAmt", namespaces=NS).attrib == {"Ccy": "CNY"}
    assert tx.findtext("p:DbtrAcct/p:Id/p:Othr/p:Id", namespaces=NS) == "6222020200001234"
    csv_text = debit_batch_csv(batch=batch).decode("utf-8-sig").splitlines()
    assert csv_text[0] == "流水号,户名,账号,开户行,金额,保单号,摘要"
    assert csv_text[1].split(",")[4:6] == ["300.00", "8860000000000001"]


def test_success_allocates_and_a_second_result_file_changes_nothing(scheduled):
    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    debit_batch_mark_exported(batch=batch)
    e2e = batch.lines.get().end_to_end_id
    report = debit_results_apply(outcomes=[DebitOutcome(e2e, paid=True)], as_of=dt.date(2026, 12, 1))
    assert (report["paid"], report["failed"]) == (1, 0)
    first = Installment.objects.filter(policy__policy_no="8860000000000001").order_by("sequence").first()
    assert (first.status, first.paid_value_date) == ("paid", dt.date(2026, 11, 30))
    again = debit_results_apply(outcomes=[DebitOutcome(e2e, paid=True)], as_of=dt.date(2026, 12, 1))
    assert (again["paid"], again["duplicate"]) == (0, 1)
    batch.refresh_from_db()
    assert batch.status == "closed"


def test_insufficient_funds_is_retried_on_retry_days_and_a_frozen_account_never(scheduled):
    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    line = batch.lines.get()
    debit_results_apply(outcomes=[DebitOutcome(line.end_to_end_id, paid=False, reason="insufficient_funds",
                                               reason_code="AM04", reason_text="余额不足")], as_of=dt.date(2026, 12, 1))
    assert debit_batch_create(collection_date=dt.date(2026, 12, 2)).line_count == 0  # T+2: not a retry day
    retry = debit_batch_create(collection_date=dt.date(2026, 12, 3))  # T+3
    assert retry.lines.get().attempt == 2
    debit_results_apply(outcomes=[DebitOutcome(retry.lines.get().end_to_end_id, paid=False, reason="account_frozen",
                                               reason_code="AC06", reason_text="账户冻结")], as_of=dt.date(2026, 12, 4))
    assert debit_batch_create(collection_date=dt.date(2026, 12, 10)).line_count == 0  # T+10, but frozen
    assert list(DebitLine.objects.order_by("id").values_list("status", "reason")) == [
        ("failed", "insufficient_funds"), ("failed", "account_frozen")]


def test_unknown_end_to_end_id_is_reported(scheduled):
    report = debit_results_apply(outcomes=[DebitOutcome("NOPE-1", paid=True, line=3)], as_of=AS_OF)
    assert report["errors"] == [{"line": 3, "reason": "unknown debit line NOPE-1"}]


def test_a_paid_line_with_money_already_waiting_goes_through_the_per_policy_allocation(scheduled):
    # GZ: 300.00 due 2026-11-30. 100.00 of credit is on the policy before the bank answers: the
    # debit's 300.00 then pays 200.00 of the first installment (after the credit's 100.00) and
    # 100.00 of the next (2026-12-31), oldest money first, as policy_allocate does
    from billing.models import Payment
    from billing.services.payments import payment_assign, payment_create
    from policies.models import Policy

    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    gz = Policy.objects.get(policy_no="8860000000000001")
    credit, _ = payment_create(source="bank", account_no="A", identity="early", value_date=dt.date(2026, 11, 29),
                               amount=Decimal("100.00"))
    payment_assign(payment=credit, policy=gz, amount=Decimal("100.00"), rule="test")  # assigned, not yet allocated
    debit_results_apply(outcomes=[DebitOutcome(batch.lines.get().end_to_end_id, paid=True)], as_of=dt.date(2026, 12, 1))
    first, second = Installment.objects.filter(policy=gz).order_by("sequence")[:2]
    assert (first.amount_paid, first.status, first.paid_value_date) == (Decimal("300.00"), "paid", dt.date(2026, 11, 30))
    assert (second.amount_paid, second.status) == (Decimal("100.00"), "partially_paid")
    money = Payment.objects.get(source="debit")
    assert (money.status, money.amount, money.value_date) == ("matched", Decimal("300.00"), dt.date(2026, 11, 30))


def test_a_file_of_many_answers_books_each_once_in_one_money_event(scheduled, settings):
    from core import events

    batch = debit_batch_create(collection_date=dt.date(2026, 11, 30))
    seen: list = []
    events.event_subscribe(events.MONEY_ALLOCATED, seen.append, key="tests.debits")
    try:
        line = batch.lines.get()
        report = debit_results_apply(outcomes=[DebitOutcome(line.end_to_end_id, paid=True),
                                               DebitOutcome(line.end_to_end_id, paid=True),
                                               DebitOutcome("DD-UNKNOWN", paid=True)], as_of=dt.date(2026, 12, 1))
    finally:
        events.event_unsubscribe(events.MONEY_ALLOCATED, "tests.debits")
    assert (report["paid"], report["duplicate"], report["rejected"]) == (1, 1, 1)
    assert [(e.source, len(e.policy_ids)) for e in seen] == [("debit_result", 1)]
    line.refresh_from_db()
    assert (line.status, line.payment.amount) == ("paid", Decimal("300.00"))
