"""The night's lapse of a policy whose money lands while the lapse chunk runs (issue 9: a lapse
reversed the moment in-grace money lands; the nightly lapse reversal stays as the safety net).

GZ (8860000000000001): monthly 300.00, first unpaid installment (sequence 82) due 2026-11-30, last
grace day 2027-01-29, lapse effective 2027-01-30 (renewals/tests/test_money_events.py). A transfer
valued 2027-01-20, inside grace, pays 82 in a transaction that holds the policy while the night of
2027-01-30 lapses the chunk. Before, the lapse statement read the installments with the snapshot it
took before it waited for the policy: it lapsed the policy paid in time (the transfer's own lapse
reversal had run before the lapse existed), and the next night's lapse reversal voided it.
"""

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from django.db import transaction

from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_create
from billing.tests.test_concurrency import _in_thread, _lock_waiters
from conftest import AS_OF
from policies.models import Policy, PolicyStatusChange
from renewals.services import steps
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db(transaction=True)
NIGHT = dt.date(2027, 1, 30)


def test_money_landing_while_the_lapse_chunk_runs_keeps_the_policy_in_force(portfolio):
    nightly_run(as_of=AS_OF)
    gz = Policy.objects.get(policy_no="8860000000000001")
    held, release = threading.Event(), threading.Event()
    results, errors = [], []

    def transfer():
        with transaction.atomic():
            money, _ = payment_create(source="bank", account_no="A", identity="in-grace", value_date=dt.date(2027, 1, 20),
                                      amount=Decimal("300.00"))
            payment_assign(payment=money, policy=gz, amount=Decimal("300.00"), rule="test")
            made = policy_allocate(policy_id=gz.pk, as_of=NIGHT)
            held.set()
            assert release.wait(timeout=60)
            return [a.installment.sequence for a in made]

    def night():
        assert held.wait(timeout=60)
        with transaction.atomic():
            return steps.lapse(NIGHT, gz.pk, gz.pk)

    threads = [_in_thread(transfer, results, errors), _in_thread(night, results, errors)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while not (held.is_set() and _lock_waiters() >= 1):  # the lapse waits for the transfer's policy lock
        assert time.monotonic() < deadline and not errors, errors
        time.sleep(0.02)
    release.set()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert [82] in results
    # the lapse step found the policy, locked it, and found it again with the transfer's money
    gz.refresh_from_db()
    assert (gz.status, gz.lapse_date) == ("in_force", None)
    assert not PolicyStatusChange.objects.filter(policy=gz, status="lapsed").exists()
    assert results.count(0) == 1  # the night's chunk lapsed nothing
    # 83 (due 2026-12-31) is inside its grace until 2027-03-01: run again, the night lapses nothing
    with transaction.atomic():
        assert steps.lapse(NIGHT, gz.pk, gz.pk) == 0
