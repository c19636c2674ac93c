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
