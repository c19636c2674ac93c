"""The nightly pipeline's rules with hand-computed dates (DESIGN.md section 3)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.models import Installment
from billing.services.allocations import policy_allocate
from billing.tests.factories import AssignmentFactory
from conftest import AS_OF, BJ_POLICY, policies_csv
from core.errors import ApplicationError
from policies.models import Policy, PolicyStatusChange
from policies.selectors import policy_status_on
from policies.services.imports import policies_import
from policies.tests.factories import AgentFactory
from renewals.models import NightlyRun
from renewals.services.pipeline import nightly_report, nightly_run

pytestmark = pytest.mark.django_db
D = Decimal
GZ, BJ = "8860000000000001", "8860000000000002"


def _policy(no):
    return Policy.objects.get(policy_no=no)


def _pay(no, amount, value_date, identity):
    policy = _policy(no)
    AssignmentFactory(payment__identity=identity, payment__value_date=value_date, policy=policy, amount=D(amount))
    policy_allocate(policy_id=policy.pk, as_of=value_date)


def _state(no):
    policy = _policy(no)
    return policy.status, policy.lapse_date


def test_a_feed_in_force_policy_long_past_grace_is_lapsed_on_the_rules_date(portfolio):
    # BJ: annual 1200.00 due 2026-02-28, 30 days' grace -> last grace day 2026-03-30, lapse 2026-03-31
    run = nightly_run(as_of=AS_OF)
    assert run.status == "finished"
    assert _state(BJ) == ("lapsed", dt.date(2026, 3, 31))
    change = PolicyStatusChange.objects.get(policy__policy_no=BJ, status="lapsed")
    assert (change.effective_date, change.source, change.rule) == (dt.date(2026, 3, 31), "nightly", "lapse_after_grace")
    event = _policy(BJ).events.filter(pgh_label="update").latest("pgh_id")
    assert event.pgh_context.metadata["rule"] == "lapse" and "nightly:2026-11-25:lapse" in event.pgh_context.metadata["job"]
    assert _state(GZ) == ("in_force", None)


def test_last_day_of_grace_is_in_force_and_the_day_after_lapses(portfolio):
    # GZ: monthly 300.00, first unpaid due 2026-11-30; 60 days' grace inclusive -> last day 2027-01-29
    for day in (AS_OF, dt.date(2027, 1, 29)):
        nightly_run(as_of=day)
    assert _state(GZ) == ("in_force", None)
    nightly_run(as_of=dt.date(2027, 1, 30))
    assert _state(GZ) == ("lapsed", dt.date(2027, 1, 30))
    assert policy_status_on(policy=_policy(GZ), on=dt.date(2027, 1, 29)) == "in_force"
    assert policy_status_on(policy=_policy(GZ), on=dt.date(2027, 1, 30)) == "lapsed"


def test_a_partial_payment_does_not_prevent_the_lapse(portfolio):
    nightly_run(as_of=AS_OF)
    _pay(GZ, "200.00", dt.date(2027, 1, 10), "p1")
    nightly_run(as_of=dt.date(2027, 1, 30))
    assert _state(GZ) == ("lapsed", dt.date(2027, 1, 30))


def test_money_valued_on_the_last_grace_day_imported_after_the_lapse_reverses_it(portfolio):
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 1, 30))
    assert _state(GZ) == ("lapsed", dt.date(2027, 1, 30))
    # 300.00 valued 2027-01-29 (the last grace day) arrives on 2027-02-01
    _pay(GZ, "300.00", dt.date(2027, 1, 29), "late-import")
    nightly_run(as_of=dt.date(2027, 2, 1))
    assert _state(GZ) == ("in_force", None)
    voided = PolicyStatusChange.objects.get(policy__policy_no=GZ, status="lapsed")
    assert voided.voided_at is not None and voided.void_reason.startswith("money valued inside grace")
    for day in (dt.date(2027, 1, 30), dt.date(2027, 2, 1)):
        assert policy_status_on(policy=_policy(GZ), on=day) == "in_force"
    # the rule applies again from there: 2026-12-31's installment (grace to 2027-03-01) lapses it on 2027-03-02
    nightly_run(as_of=dt.date(2027, 3, 2))
    assert _state(GZ) == ("lapsed", dt.date(2027, 3, 2))


def test_money_valued_after_grace_does_not_reverse_the_lapse(portfolio):
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 1, 30))
    _pay(GZ, "300.00", dt.date(2027, 1, 30), "too-late")
    nightly_run(as_of=dt.date(2027, 2, 1))
    assert _state(GZ) == ("lapsed", dt.date(2027, 1, 30))


def test_thirty_day_grace_product(reference_data):
    # H30: annual, issued 2025-12-10, paid to 2026-12-10: due 2026-12-10, grace to 2027-01-09
    row = BJ_POLICY.replace("2024-02-29,annual", "2025-12-10,annual").replace("2026-02-28,in_force",
                                                                            "2026-12-10,in_force")
    policies_import(files=[("p.csv", policies_csv(row))], as_of=AS_OF)
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 1, 9))
    assert _state(BJ) == ("in_force", None)
    nightly_run(as_of=dt.date(2027, 1, 10))
    assert _state(BJ) == ("lapsed", dt.date(2027, 1, 10))


def test_termination_two_years_after_the_lapse(portfolio):
    nightly_run(as_of=AS_OF)  # BJ lapses on 2026-03-31
    nightly_run(as_of=dt.date(2028, 3, 30))
    assert _state(BJ)[0] == "lapsed"
    nightly_run(as_of=dt.date(2028, 3, 31))
    assert _state(BJ)[0] == "terminated"
    change = PolicyStatusChange.objects.get(policy__policy_no=BJ, status="terminated")
    assert (change.effective_date, change.rule) == (dt.date(2028, 3, 31), "terminate_after_reinstatement_window")


def test_catch_up_after_a_missed_week_dates_the_lapse_by_the_rule(portfolio):
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 2, 5))  # nothing ran from 2027-01-26 to 2027-02-04
    assert _state(GZ) == ("lapsed", dt.date(2027, 1, 30))


def test_five_dates_in_order_equal_one_catch_up_run_on_the_last(portfolio):
    from django.db import transaction

    days = [dt.date(2027, 1, 28) + dt.timedelta(days=n) for n in range(5)]  # 28 Jan .. 1 Feb
    nightly_run(as_of=AS_OF)
    with transaction.atomic():
        for day in days:
            nightly_run(as_of=day)
        day_by_day = _snapshot()
        transaction.set_rollback(True)
    nightly_run(as_of=days[-1])
    assert _snapshot() == day_by_day
    assert day_by_day["policies"][GZ] == ("lapsed", dt.date(2027, 1, 30))
    assert day_by_day["installments"][(GZ, 83)] == "overdue"


def _snapshot():
    return {
        "policies": {p.policy_no: (p.status, p.lapse_date) for p in Policy.objects.all()},
        "installments": {(i.policy.policy_no, i.sequence): i.status for i in Installment.objects.select_related("policy")},
        "history": sorted(PolicyStatusChange.objects.values_list("policy__policy_no", "status", "effective_date")),
    }


def test_rerunning_a_finished_date_changes_nothing_and_an_earlier_date_is_refused(portfolio):
    nightly_run(as_of=AS_OF)
    before = _snapshot()
    run = nightly_run(as_of=AS_OF)
    assert _snapshot() == before and run.status == "finished"
    with translation.override("en"), pytest.raises(ApplicationError, match="before the latest finished run"):
        nightly_run(as_of=AS_OF - dt.timedelta(days=1))
    report = nightly_report(NightlyRun.objects.get(as_of=AS_OF))
    # the renewals' own steps in their order (other apps register theirs in between or after)
    own = ["extend_schedules", "installment_statuses", "reinstatements", "servicing", "grace_extensions",
           "lapse_reversal", "lapse", "terminate", "collection_steps", "case_refresh", "debits", "orphans", "due_lists"]
    assert [s["step"] for s in report["steps"] if s["step"] in own] == own
    assert {s["step"]: s["rows"] for s in report["steps"]}["lapse"] == 1


def test_orphan_policies_go_to_the_active_agent_of_the_branch_with_fewest_policies(portfolio):
    from policies.models import Branch

    bj = Branch.objects.get(code="BJ")
    AgentFactory(code="AG900", name="新业务员", status="active", branch=bj)
    nightly_run(as_of=AS_OF)
    assert _policy(BJ).agent.code == "AG900"  # AG002 has left
    assert _policy(GZ).agent.code == "AG001"


def test_a_night_s_orphans_go_one_by_one_to_the_agent_with_the_fewest_policies_at_that_moment(db):
    """Agents A (2 policies), B (5), C (3) of one branch, six orphans of an agent who left. One orphan
    after another to the fewest, ties to the agent made first: A 2->3; A and C at 3 -> A 4; C 3->4;
    A and C at 4 -> A 5; C 4->5; all at 5 -> A 6. A gets orphans 1, 2, 4 and 6, C gets 3 and 5,
    B none: 6, 5, 5. (Before, all six went to A: 8, 5, 3.)"""
    from policies.tests.factories import BranchFactory, PolicyFactory
    from renewals.services.steps import orphans

    branch = BranchFactory(code="SZ-FT")
    a, b, c = (AgentFactory(code=code, status="active", branch=branch) for code in ("AG701", "AG702", "AG703"))
    gone = AgentFactory(code="AG799", status="left", branch=branch)
    for agent, count in ((a, 2), (b, 5), (c, 3)):
        PolicyFactory.create_batch(count, branch=branch, agent=agent)
    orphaned = sorted(PolicyFactory.create_batch(6, branch=branch, agent=gone), key=lambda p: p.pk)
    lapsed_for_good = PolicyFactory(branch=branch, agent=gone, status="terminated")  # not live: stays

    assert orphans(AS_OF, 0, 2**62) == 6
    assert [Policy.objects.get(pk=p.pk).agent.code for p in orphaned] == [
        "AG701", "AG701", "AG703", "AG701", "AG703", "AG701"]
    assert {agent.code: Policy.objects.filter(agent=agent).count() for agent in (a, b, c)} == {"AG701": 6, "AG702": 5, "AG703": 5}
    assert Policy.objects.get(pk=lapsed_for_good.pk).agent.code == "AG799"
    assert orphans(AS_OF, 0, 2**62) == 0  # nothing left to reassign


def test_catch_up_runs_every_missed_date_in_order_and_then_nothing(portfolio):
    from renewals.services.pipeline import nightly_catch_up

    assert [run.as_of for run in nightly_catch_up(until=AS_OF)] == [AS_OF]  # no night yet: only the date
    runs = nightly_catch_up(until=dt.date(2026, 11, 28))
    assert [(run.as_of, run.status) for run in runs] == [
        (dt.date(2026, 11, 26), "finished"), (dt.date(2026, 11, 27), "finished"), (dt.date(2026, 11, 28), "finished")]
    assert nightly_catch_up(until=dt.date(2026, 11, 28)) == []
    assert list(NightlyRun.objects.order_by("as_of").values_list("as_of", flat=True)) == [
        AS_OF, dt.date(2026, 11, 26), dt.date(2026, 11, 27), dt.date(2026, 11, 28)]


def test_a_night_after_a_night_moves_the_statuses_due_since_and_leaves_nothing_for_a_full_pass(portfolio):
    # GZ's installment 82 is due 2026-11-30: scheduled the night before, due that night, overdue the
    # next. Each night after the first reads only the installments due from the previous night on
    # (steps.STATUS_WINDOW); the full statement run after it finds nothing left to change.
    from django.db import connection

    from renewals.services.steps import INSTALLMENT_STATUSES_SQL, STATUS_PARAMS

    nightly_run(as_of=AS_OF)
    seen = {}
    for day in [dt.date(2026, 11, 29), dt.date(2026, 11, 30), dt.date(2026, 12, 1), dt.date(2026, 12, 2)]:
        nightly_run(as_of=day)
        seen[day] = Installment.objects.get(policy__policy_no=GZ, sequence=82).status
        with connection.cursor() as cursor:
            cursor.execute(INSTALLMENT_STATUSES_SQL, {**STATUS_PARAMS, "as_of": day, "lo": 0, "hi": 2**62})
            assert cursor.rowcount == 0, day
    assert seen == {dt.date(2026, 11, 29): "scheduled", dt.date(2026, 11, 30): "due",
                    dt.date(2026, 12, 1): "overdue", dt.date(2026, 12, 2): "overdue"}
