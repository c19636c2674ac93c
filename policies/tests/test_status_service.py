import datetime as dt

import pytest

from policies.models import Policy
from policies.selectors import policy_status_on
from policies.services.status import policy_status_change, policy_status_change_void

pytestmark = pytest.mark.django_db


def test_a_reversed_lapse_answers_in_force_for_every_day_it_covered_and_stays_in_the_trail(portfolio, make_user):
    # GZ policy: issued 2020-01-31, monthly, grace 60 days. Say the 2026-09-30 installment went unpaid:
    # grace ends 2026-11-29 (30 Sep + 60 days), the lapse is effective 2026-11-30.
    clerk = make_user("lead1", ["team_lead"])
    policy = Policy.objects.get(policy_no="8860000000000001")
    lapse = policy_status_change(policy=policy, status="lapsed", effective_date=dt.date(2026, 11, 30),
                                 source="nightly", rule="lapse_after_grace")
    policy.refresh_from_db()
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2026, 11, 30))
    assert policy_status_on(policy=policy, on=dt.date(2026, 11, 29)) == "in_force"
    assert policy_status_on(policy=policy, on=dt.date(2026, 11, 30)) == "lapsed"

    policy_status_change_void(change=lapse, actor=clerk, reason="money valued 2026-11-28 imported 2026-12-02")
    policy.refresh_from_db()
    assert (policy.status, policy.lapse_date) == ("in_force", None)
    for day in (dt.date(2026, 11, 30), dt.date(2026, 12, 15)):
        assert policy_status_on(policy=policy, on=day) == "in_force"
    lapse.refresh_from_db()
    assert lapse.voided_by == clerk and lapse.void_reason.startswith("money valued")
    void_event = lapse.events.get(pgh_label="void")
    assert void_event.pgh_context.metadata["username"] == "lead1"


def test_status_before_the_issue_date_is_refused(portfolio):
    from core.errors import ApplicationError

    policy = Policy.objects.get(policy_no="8860000000000001")
    with pytest.raises(ApplicationError):
        policy_status_change(policy=policy, status="lapsed", effective_date=dt.date(2020, 1, 30),
                             source="user", rule="manual")
