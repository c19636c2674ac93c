"""The KPI snapshot's changed installments read through the installment marks
(CHANGED_MARKED_INSTALLMENTS_SQL) find what the walk over every installment of the chunk
(CHANGED_INSTALLMENTS_SQL) finds.

Three monthly policies issued 2025-03-10, 100.00 a month, installments 1..12 (due 2025-04-10 ..
2026-03-10), all written "long ago" (stamped 2026-01-01, their marks forgotten). Then B's
installment 12 (due 2026-03-10, policy month 13: persistency's measuring installment of a
monthly policy) is paid now. Since an hour ago, both readers find B's installment 12 only:
(2026-03-10, cohort 2025-03-01, month 13)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from billing.tests.factories import InstallmentFactory
from policies.tests.factories import PolicyFactory
from reporting.services.snapshot import CHANGED_INSTALLMENTS_SQL, CHANGED_MARKED_INSTALLMENTS_SQL, PARAMS

pytestmark = pytest.mark.django_db


def test_marked_and_walked_readers_find_the_same_changed_installments():
    policies = [PolicyFactory(issue_date=dt.date(2025, 3, 10), frequency="monthly", modal_premium=Decimal("100.00"))
                for _ in range(3)]
    for policy in policies:
        for k in range(1, 13):
            InstallmentFactory(policy=policy, sequence=k)
    ids = [p.pk for p in policies]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment SET created_at = '2026-01-01', updated_at = '2026-01-01' "
                       "WHERE policy_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM billing_installment_mark WHERE policy_id = ANY(%s)", [ids])
        cursor.execute("UPDATE billing_installment SET amount_paid = amount_due, status = 'paid', updated_at = now() "
                       "WHERE policy_id = %s AND sequence = 12", [ids[1]])
        cursor.execute("SELECT now() - interval '1 hour'")
        since = cursor.fetchone()[0]
        params = {**PARAMS, "lo": min(ids), "hi": max(ids), "since": since, "until": since, "seen_xid": None}
        found = {}
        for name, sql in (("walked", CHANGED_INSTALLMENTS_SQL), ("marked", CHANGED_MARKED_INSTALLMENTS_SQL)):
            cursor.execute(sql, params)
            found[name] = sorted(cursor.fetchall())
    assert found["walked"] == [(dt.date(2026, 3, 10), dt.date(2025, 3, 1), 13)]
    assert found["marked"] == found["walked"]
