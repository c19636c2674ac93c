"""The night's lapse (and termination) of a policy written while the chunk runs (issue 9: a lapse
reversed the moment in-grace money lands; the nightly lapse reversal stays as the safety net).

GZ (8860000000000001): monthly 300.00, first unpaid installment (sequence 82) due 2026-11-30, last
grace day 2027-01-29, lapse effective 2027-01-30 (renewals/tests/test_money_events.py). A transfer
valued 2027-01-20, inside grace, pays 82 in a transaction that holds the policy while the night of
2027-01-30 lapses the chunk. Before, the lapse statement read the installments with the snapshot it
took before it waited for the policy: it lapsed the policy paid in time (the transfer's own lapse
reversal had run before the lapse existed), and the next night's lapse reversal voided it.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_create
from conftest import AS_OF
from core.tests.threads import while_held
from policies.models import Policy, PolicyStatusChange
from renewals.services import steps
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db(transaction=True)
NIGHT = dt.date(2027, 1, 30)


def test_money_landing_while_the_lapse_chunk_runs_keeps_the_policy_in_force(portfolio):
    nightly_run(as_of=AS_OF)
    gz = Policy.objects.get(policy_no="8860000000000001")

    def transfer():
        money, _ = payment_create(source="bank", account_no="A", identity="in-grace", value_date=dt.date(2027, 1, 20),
                                  amount=Decimal("300.00"))
        payment_assign(payment=money, policy=gz, amount=Decimal("300.00"), rule="test")
        return [a.installment.sequence for a in policy_allocate(policy_id=gz.pk, as_of=NIGHT)]

    def night():
        with transaction.atomic():
            return steps.lapse(NIGHT, gz.pk, gz.pk)

    # the night's lapse waits for the transfer's policy lock
    assert while_held(transfer, night) == ([82], 0)  # the night's chunk lapsed nothing
    # the lapse step found the policy, locked it, and found it again with the transfer's money
    gz.refresh_from_db()
    assert (gz.status, gz.lapse_date) == ("in_force", None)
    assert not PolicyStatusChange.objects.filter(policy=gz, status="lapsed").exists()
    # 83 (due 2026-12-31) is inside its grace until 2027-03-01: run again, the night lapses nothing
    with transaction.atomic():
        assert steps.lapse(NIGHT, gz.pk, gz.pk) == 0


def test_a_reinstatement_applied_for_while_the_terminate_chunk_runs_keeps_the_policy_lapsed(portfolio, make_user):
    # GZ lapsed 2027-01-30; WL20's reinstatement window is 2 years: the last day to apply is
    # 2029-01-29 and the night of 2029-01-30 terminates it, unless an application made before that
    # is pending. One is made on 2029-01-29, in a transaction holding the policy while the chunk runs.
    from renewals.models import Application
    from renewals.services.applications import HEALTH_QUESTIONS, reinstatement_apply

    nightly_run(as_of=AS_OF)
    nightly_run(as_of=NIGHT)
    gz = Policy.objects.get(policy_no="8860000000000001")
    assert (gz.status, gz.lapse_date) == ("lapsed", NIGHT)
    clerk = make_user("clerk", ["clerk"], ["GD-GZ"])
    end = dt.date(2029, 1, 30)

    def apply():
        return reinstatement_apply(policy=gz, applied_on=end - dt.timedelta(days=1),
                                   declaration=dict.fromkeys(HEALTH_QUESTIONS, False), actor=clerk).status

    def night():
        with transaction.atomic():
            return steps.terminate(end, gz.pk, gz.pk)

    assert while_held(apply, night) == ("submitted", 0)
    gz.refresh_from_db()
    assert gz.status == "lapsed"
    assert Application.objects.get(policy=gz).status == "submitted"
    assert not PolicyStatusChange.objects.filter(policy=gz, status="terminated").exists()
