"""The night's lapse reversal, the safety net of the money's own, looks after a finished night at
the lapsed policies whose installments were written since that night's reversal began (less
REVERSAL_MARGIN), through the installment marks (billing.services.marks); without marks kept that
far back, at every lapsed policy of its chunk.

GZ (8860000000000001): monthly 300.00, installment 82 due 2026-11-30 unpaid, last grace day
2027-01-29: the night of 2027-01-30 lapses it. Then 82 is set paid, valued 2027-01-20 (inside
grace), by a write that bypasses the money's events (a correction by hand): only the night can
reverse that lapse. Installment 83 (due 2026-12-31) is inside its grace until 2027-03-01, so the
reversed policy stays in force.
"""

import datetime as dt

import pytest
from django.db import connection

from policies.models import Policy, PolicyStatusChange
from renewals.services import steps
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
LAPSED = dt.date(2027, 1, 30)


def _paid_in_grace_by_hand(policy: Policy) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment SET amount_paid = amount_due, status = 'paid', "
                       "paid_value_date = '2027-01-20' WHERE policy_id = %s AND sequence = 82", [policy.pk])


def _marks_complete_from(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment_mark_kept SET complete_from = %s", [value])


@pytest.fixture
def lapsed_gz(portfolio):
    # marks kept since long before the nights (the test database was made minutes ago)
    _marks_complete_from("2000-01-01")
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=LAPSED)
    gz = Policy.objects.get(policy_no="8860000000000001")
    assert (gz.status, gz.lapse_date) == ("lapsed", LAPSED)
    return gz


def test_a_lapse_paid_in_grace_by_a_marked_write_is_reversed_the_next_night(lapsed_gz):
    since = steps.lapse_reversal_since(dt.date(2027, 1, 31))
    assert since is not None  # the night of 01-30 finished its reversal; marks are kept from before it
    _paid_in_grace_by_hand(lapsed_gz)
    nightly_run(as_of=dt.date(2027, 1, 31))
    lapsed_gz.refresh_from_db()
    assert (lapsed_gz.status, lapsed_gz.lapse_date) == ("in_force", None)
    lapse = PolicyStatusChange.objects.get(policy=lapsed_gz, status="lapsed")
    assert (lapse.effective_date, lapse.void_reason) == (LAPSED, steps.LAPSE_VOID_REASON)


def test_an_unmarked_policy_is_left_alone_unless_the_marks_do_not_reach_back(lapsed_gz):
    _paid_in_grace_by_hand(lapsed_gz)
    with connection.cursor() as cursor:  # as if the write were older than the last night's reversal
        cursor.execute("DELETE FROM billing_installment_mark WHERE policy_id = %s", [lapsed_gz.pk])
    night = dt.date(2027, 1, 31)
    assert steps.lapse_reversal(night, lapsed_gz.pk, lapsed_gz.pk) == 0
    lapsed_gz.refresh_from_db()
    assert lapsed_gz.status == "lapsed"
    # marks complete only from after that night's reversal began: every lapsed policy is looked at
    _marks_complete_from("2999-01-01")
    assert steps.lapse_reversal_since(night) is None
    assert steps.lapse_reversal(night, lapsed_gz.pk, lapsed_gz.pk) == 1
    lapsed_gz.refresh_from_db()
    assert (lapsed_gz.status, lapsed_gz.lapse_date) == ("in_force", None)


def test_without_a_finished_night_before_every_lapsed_policy_is_looked_at(portfolio):
    _marks_complete_from("2000-01-01")
    assert steps.lapse_reversal_since(dt.date(2026, 11, 25)) is None
