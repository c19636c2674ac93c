"""The event registry of DESIGN.md section 4: handlers run in the caller's transaction, once per
bulk booking, and the change and its consequences commit or roll back together."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Installment
from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_create
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from conftest import AS_OF
from core import events
from policies.models import Policy

pytestmark = pytest.mark.django_db
KEY = "tests.recorder"


@pytest.fixture
def recorded():
    seen: list[events.Event] = []
    events.event_subscribe(events.MONEY_ALLOCATED, seen.append, key=KEY)
    yield seen
    events.event_unsubscribe(events.MONEY_ALLOCATED, KEY)


def test_unknown_events_and_datetimes_are_refused():
    with pytest.raises(ValueError):
        events.event_publish("money_vanished", as_of=AS_OF, policy_ids=[1])
    with pytest.raises(TypeError):
        events.event_publish(events.MONEY_ALLOCATED, as_of=dt.datetime(2026, 11, 25, 8, 0), policy_ids=[1])


def test_a_bulk_booked_statement_publishes_one_event_with_every_policy(portfolio, recorded):
    installments_extend(as_of=AS_OF)
    csv = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
           "2026-11-28,300.00,CNY,张伟,6222020200001234,E1,保单8860000000000001续期保费\n"
           "2026-11-28,1200.00,CNY,王芳,6217000000000001,E2,8860000000000002 年交保费\n").encode()
    report = statement_import(name="two.csv", data=csv, format="csv", template="cn-online-banking", as_of=AS_OF)
    assert report["matched"] == 2
    bulk = [e for e in recorded if e.source == "statement_import"]
    assert len(bulk) == 1
    ids = dict(Policy.objects.values_list("policy_no", "id"))
    assert bulk[0].policy_ids == {ids["8860000000000001"], ids["8860000000000002"]}
    assert bulk[0].as_of == AS_OF and len(bulk[0].installment_ids) == 2 and len(bulk[0].payment_ids) == 2


def test_a_failing_handler_rolls_the_allocation_back(portfolio):
    installments_extend(as_of=AS_OF)
    policy = Policy.objects.get(policy_no="8860000000000001")
    payment, _ = payment_create(source="bank", account_no="A", identity="rb-1", value_date=AS_OF,
                                amount=Decimal("300.00"))
    payment_assign(payment=payment, policy=policy, amount=Decimal("300.00"), rule="test")

    def refuse(event):
        raise RuntimeError("the right-hand app refused")

    events.event_subscribe(events.MONEY_ALLOCATED, refuse, key="tests.refuse")
    try:
        with pytest.raises(RuntimeError):
            policy_allocate(policy_id=policy.pk, as_of=AS_OF)
    finally:
        events.event_unsubscribe(events.MONEY_ALLOCATED, "tests.refuse")
    first = Installment.objects.get(policy=policy, due_date=dt.date(2026, 11, 30))
    assert (first.amount_paid, first.status) == (Decimal("0.00"), "scheduled")
