"""Installment marks (billing.services.marks): every statement that inserts or updates installments
notes their policies with its transaction's time, once per policy and transaction; the night
forgets marks older than MARK_DAYS and says from when the rest are complete."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Installment
from billing.services.marks import MARK_DAYS, installment_marks_prune, marks_complete_since
from billing.tests.factories import InstallmentFactory
from policies.tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _marks(*policy_ids: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT marked_at, policy_id FROM billing_installment_mark WHERE policy_id = ANY(%s) "
                       "ORDER BY policy_id", [list(policy_ids)])
        return cursor.fetchall()


def test_each_statement_marks_the_policies_it_wrote_once_per_transaction():
    first, second, untouched = (PolicyFactory(issue_date=dt.date(2026, 1, 15), frequency="monthly",
                                              modal_premium=Decimal("100.00")) for _ in range(3))
    now = _one("SELECT now()")
    assert _marks(first.pk, second.pk, untouched.pk) == []

    # an insert of two installments (one statement) marks their policy once
    Installment.objects.bulk_create([InstallmentFactory.build(policy=first, sequence=k) for k in (1, 2)])
    assert _marks(first.pk, second.pk, untouched.pk) == [(now, first.pk)]

    InstallmentFactory(policy=second, sequence=1)
    InstallmentFactory(policy=untouched, sequence=1)
    untouched_marks = _marks(untouched.pk)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_installment_mark WHERE policy_id = %s", [untouched.pk])
    # an update over both policies: one mark each, the same transaction's earlier marks not repeated
    Installment.objects.filter(policy__in=[first, second], sequence=1).update(amount_paid=Decimal("50.00"),
                                                                           status="partially_paid")
    assert _marks(first.pk, second.pk, untouched.pk) == [(now, first.pk), (now, second.pk)]
    assert untouched_marks == [(now, untouched.pk)]
    # an update that changes no row marks nothing
    Installment.objects.filter(policy=untouched, sequence=9).update(amount_paid=Decimal("1.00"))
    assert _marks(untouched.pk) == []


def test_the_night_forgets_old_marks_and_says_from_when_the_rest_are_complete():
    policy = PolicyFactory()
    now = _one("SELECT now()")
    old, kept = now - dt.timedelta(days=MARK_DAYS + 1), now - dt.timedelta(days=MARK_DAYS - 1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment_mark_kept SET complete_from = %s", [now - dt.timedelta(days=30)])
        cursor.execute("INSERT INTO billing_installment_mark (marked_at, policy_id) VALUES (%s, %s), (%s, %s)",
                       [old, policy.pk, kept, policy.pk])
    assert marks_complete_since(now - dt.timedelta(days=20))
    assert not marks_complete_since(now - dt.timedelta(days=31))
    assert not marks_complete_since(None)

    assert installment_marks_prune() >= 1
    assert _marks(policy.pk) == [(kept, policy.pk)]
    cut = now - dt.timedelta(days=MARK_DAYS)
    assert _one("SELECT complete_from FROM billing_installment_mark_kept") == cut
    # a reader whose "since" is before the cut reads every installment of its chunk
    assert not marks_complete_since(cut - dt.timedelta(seconds=1))
    assert marks_complete_since(cut)
    # the cut never moves back
    installment_marks_prune(keep_days=MARK_DAYS + 10)
    assert _one("SELECT complete_from FROM billing_installment_mark_kept") == cut
