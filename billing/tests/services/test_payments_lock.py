"""Every writer of an assignment locks its policy FOR UPDATE first (billing.models.Assignment.policy):
the statement's reference check then finds that lock, and two matchers of one policy never each hold
a share lock while waiting for the other's update lock."""

from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction

from billing.services.payments import payment_assign
from billing.tests.factories import PaymentFactory
from policies.tests.factories import PolicyFactory


@pytest.mark.django_db(transaction=True)
def test_payment_assign_locks_the_policy_before_it_writes_the_assignment():
    policy = PolicyFactory()
    payment = PaymentFactory(amount=Decimal("300.00"))
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None, autocommit=True)
    try:
        with transaction.atomic():
            assignment = payment_assign(payment=payment, policy=policy, amount=Decimal("120.50"), rule="test")
            # FOR UPDATE, not the reference check's share: another writer's key-share waits (here:
            # refused at once)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM policies_policy WHERE id = %s FOR KEY SHARE NOWAIT", [policy.pk])
        other.execute("SELECT 1 FROM policies_policy WHERE id = %s FOR KEY SHARE NOWAIT", [policy.pk])
        assert (assignment.policy_id, assignment.amount) == (policy.pk, Decimal("120.50"))
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_line_split_over_two_policies_locks_them_in_id_order_not_in_the_text_s(portfolio):
    """"BJ GZ" names the later policy first. While another transaction holds GZ (the earlier id),
    the matcher waits for it holding nothing: BJ is still free. Locked in the text's order, the
    matcher held BJ while it waited for GZ, and a transaction taking them the other way round
    deadlocked with it."""
    import datetime as dt
    import threading

    from billing.models import MatchingRule
    from billing.services.matching import payment_match
    from billing.services.schedules import installments_extend
    from billing.tests.factories import MatchingRuleFactory
    from conftest import AS_OF
    from core.tests.threads import lock_waiters
    from policies.models import Policy

    gz, bj = "8860000000000001", "8860000000000002"
    installments_extend(as_of=AS_OF)
    MatchingRule.objects.all().delete()
    MatchingRuleFactory(position=10, name="ref", reference=True)
    first, second = Policy.objects.filter(policy_no__in=[gz, bj]).order_by("pk")
    assert (first.policy_no, second.policy_no) == (gz, bj)
    # GZ owes 900.00 in the rule's window, BJ 1,200.00 (billing/tests/services/test_matching.py)
    payment = PaymentFactory(amount=Decimal("2100.00"), value_date=dt.date(2026, 11, 28), remittance=f"{bj} {gz}")
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None)
    outcome: list = []

    def match() -> None:
        from django.db import connections

        try:
            outcome.append(payment_match(payment=payment, as_of=AS_OF))
        finally:
            connections.close_all()

    try:
        other.execute("SELECT 1 FROM policies_policy WHERE id = %s FOR UPDATE", [first.pk])
        matcher = threading.Thread(target=match)
        matcher.start()
        for _ in range(3000):
            if lock_waiters() >= 1:
                break
            threading.Event().wait(0.01)
        assert lock_waiters() >= 1
        # the matcher waits for GZ and holds nothing of BJ
        other.execute("SELECT 1 FROM policies_policy WHERE id = %s FOR UPDATE NOWAIT", [second.pk])
        other.rollback()
        matcher.join(timeout=60)
    finally:
        other.close()
    assert outcome and outcome[0].status == "matched"
    assert sorted((p.policy_no, a) for p, a in outcome[0].splits) == [(gz, Decimal("900.00")),
                                                                       (bj, Decimal("1200.00"))]
