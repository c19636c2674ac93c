"""The due list kept chunk by chunk by the nightly due_lists step (renewals/migrations/0021): each
in-force policy with its oldest open installment; a changed row rewritten, an unchanged one left
as it is, a policy that left the list removed. After a finished night only the policies written
since (updated_at) or whose installments were (the installment marks) are looked at; the step
returns the rows it wrote or deleted."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Installment
from policies.models import Policy
from renewals.models import DueListEntry
from renewals.services.pipeline import nightly_run
from renewals.services.steps import due_lists

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
ALL = (0, 2**62)


def _rows():
    return list(DueListEntry.objects.order_by("policy_id").values_list(
        "policy__policy_no", "sequence", "due_date", "grace_end", "amount"))


def _row_version(policy_no: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT d.xmin::text FROM renewals_due_list d JOIN policies_policy p ON p.id = d.policy_id "
                       "WHERE p.policy_no = %s", [policy_no])
        return cursor.fetchone()[0]


def test_the_night_keeps_the_due_list_row_by_row(portfolio):
    nightly_run(as_of=dt.date(2026, 11, 25))
    # Guangzhou: monthly from 2020-01-31, paid to 2026-11-30: installment 82 due 2026-11-30, 60 days
    # of grace to 2027-01-29. Beijing: annual from 2024-02-29, due 2026-02-28, 30 days of grace,
    # lapsed by the night: not on the list.
    assert _rows() == [(GZ, 82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("300.00"))]

    # nothing changed: the row is not written again
    version = _row_version(GZ)
    assert due_lists(dt.date(2026, 11, 26), *ALL) == 0
    assert _row_version(GZ) == version

    # part paid: the same installment, what it still owes
    first = Installment.objects.get(policy__policy_no=GZ, sequence=82)
    Installment.objects.filter(pk=first.pk).update(amount_paid=Decimal("100.00"), status="partially_paid")
    assert due_lists(dt.date(2026, 11, 26), *ALL) == 1
    assert _rows() == [(GZ, 82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("200.00"))]

    # paid: the next one, 2026-12-31, grace to 2027-03-01 (60 days, February of a common year)
    Installment.objects.filter(pk=first.pk).update(amount_paid=Decimal("300.00"), status="paid")
    due_lists(dt.date(2026, 11, 26), *ALL)
    assert _rows() == [(GZ, 83, dt.date(2026, 12, 31), dt.date(2027, 3, 1), Decimal("300.00"))]

    # a chunk that does not hold the policy leaves its row alone
    gz_id = Policy.objects.get(policy_no=GZ).pk
    Policy.objects.filter(pk=gz_id).update(status="lapsed", lapse_date=dt.date(2027, 3, 2), updated_at=timezone.now())
    assert due_lists(dt.date(2026, 11, 26), gz_id + 1, 2**62) == 0
    assert len(_rows()) == 1
    # its own chunk: a lapsed policy leaves the list
    assert due_lists(dt.date(2026, 11, 26), gz_id, gz_id) == 1
    assert _rows() == []


def test_after_a_finished_night_only_the_policies_written_since_are_looked_at(portfolio):
    nightly_run(as_of=dt.date(2026, 11, 25))
    gz = Policy.objects.get(policy_no=GZ)
    # the test is one transaction, whose every write carries its start: the night's are moved before it
    Policy.objects.update(updated_at=timezone.now() - dt.timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_installment_mark")
        # a row gone wrong behind the night's back (no write stamps it)
        cursor.execute("UPDATE renewals_due_list SET amount = 1 WHERE policy_id = %s", [gz.pk])
    assert due_lists(dt.date(2026, 11, 26), *ALL) == 0
    assert _rows() == [(GZ, 82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("1.00"))]
    # the policy written (any write stamps it) is looked at again, and its row put right
    Policy.objects.filter(pk=gz.pk).update(updated_at=timezone.now())
    assert due_lists(dt.date(2026, 11, 26), *ALL) == 1
    assert _rows() == [(GZ, 82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("300.00"))]
    # without a finished night before (the first one, or marks not kept that far back): every policy
    with connection.cursor() as cursor:
        cursor.execute("UPDATE renewals_due_list SET amount = 1 WHERE policy_id = %s", [gz.pk])
        cursor.execute("UPDATE billing_installment_mark_kept SET complete_from = '2999-01-01'")
    assert due_lists(dt.date(2026, 11, 26), *ALL) == 1
    assert _rows() == [(GZ, 82, dt.date(2026, 11, 30), dt.date(2027, 1, 29), Decimal("300.00"))]
