"""Plan-step conditions on the policy's segment and on the overdue reason a clerk recorded
(DESIGN.md section 3, Collection plans): set from the policy page, honoured by the next run."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from outreach.models import PlannedContact
from policies.models import Policy
from renewals.models import CollectionPlan, PlanStep
from renewals.services.pipeline import nightly_run
from renewals.services.plans import policy_overdue_reason_set
from renewals.tests.factories import PlanStepFactory
from renewals.tests.test_collection_plans import GZ

pytestmark = pytest.mark.django_db


def _step(code: str, offset: int, **conditions) -> PlanStep:
    return PlanStepFactory(plan=CollectionPlan.objects.get(is_default=True), code=code, anchor="due",
                           offset_days=offset, action="reminder", channel="email", **conditions)


def _planned(*codes: str) -> list[tuple[str, dt.date]]:
    rows = PlannedContact.objects.filter(policy__policy_no=GZ, stage_code__in=codes).values_list("stage_code",
                                                                                                  "planned_at")
    return sorted((code, timezone.localtime(at).date()) for code, at in rows)


def test_a_segment_condition_follows_the_segment_a_team_lead_sets(first_night, make_user, client):
    _step("T+2", 2, segments="vip")
    _step("T+3", 3, segments="high_value, vip")
    nightly_run(as_of=dt.date(2026, 12, 2))  # GZ is standard: T+2 (2026-12-02) is not for it
    assert _planned("T+2", "T+3") == []

    clerk = make_user("seg_clerk", ["clerk"], ["GD-GZ"])
    client.force_login(clerk)
    client.post(f"/renewals/profile/{GZ}/", {"segment": "vip"})  # a clerk may not change it
    assert Policy.objects.get(policy_no=GZ).segment == "standard"

    client.force_login(make_user("seg_lead", ["team_lead"], ["GD"]))
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="segment-select"' in page
    response = client.post(f"/renewals/profile/{GZ}/", {"segment": "vip"})
    assert response.status_code == 302 and Policy.objects.get(policy_no=GZ).segment == "vip"
    nightly_run(as_of=dt.date(2026, 12, 3))  # T+3 is for high_value and vip; T+2 is past, not replayed
    assert _planned("T+2", "T+3") == [("T+3", dt.date(2026, 12, 3))]


def test_an_overdue_reason_condition_counts_the_reason_recorded_in_this_overdue_spell(first_night, make_user):
    clerk = make_user("reason_clerk", ["clerk"], ["GD-GZ"])
    _step("T+4", 4, overdue_reasons="financial_difficulty")
    _step("T+5", 5, overdue_reasons="financial_difficulty,dispute")
    _step("T+6", 6, overdue_reasons="financial_difficulty")
    policy = Policy.objects.get(policy_no=GZ)
    # recorded on 2026-11-20, before T = 2026-11-30: it belongs to an earlier spell and does not count
    policy_overdue_reason_set(policy=policy, reason="financial_difficulty", actor=clerk, on=dt.date(2026, 11, 20))
    nightly_run(as_of=dt.date(2026, 12, 4))
    assert _planned("T+4", "T+5", "T+6") == []
    # recorded on 2026-12-04 (T+4): a different reason, T+5 wants financial_difficulty or dispute
    policy_overdue_reason_set(policy=policy, reason="dispute", actor=clerk, on=dt.date(2026, 12, 4))
    nightly_run(as_of=dt.date(2026, 12, 5))
    assert _planned("T+4", "T+5", "T+6") == [("T+5", dt.date(2026, 12, 5))]
    policy_overdue_reason_set(policy=policy, reason="", actor=clerk, on=dt.date(2026, 12, 5))  # cleared
    nightly_run(as_of=dt.date(2026, 12, 6))
    assert _planned("T+4", "T+5", "T+6") == [("T+5", dt.date(2026, 12, 5))]
    assert Policy.objects.get(policy_no=GZ).overdue_reason_on is None


def test_a_clerk_records_the_overdue_reason_on_the_policy_page_and_it_is_in_the_trail(first_night, make_user,
                                                                                       client):
    client.force_login(make_user("page_clerk", ["clerk"], ["GD-GZ"]))
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="overdue-reason-select"' in page and 'id="segment-select"' not in page
    client.post(f"/renewals/profile/{GZ}/", {"overdue_reason": "forgot"})
    policy = Policy.objects.get(policy_no=GZ)
    assert policy.overdue_reason == "forgot" and policy.overdue_reason_on is not None
    event = policy.events.filter(pgh_label="update").latest("pgh_id")
    assert event.overdue_reason == "forgot" and event.pgh_context.metadata["username"] == "page_clerk"
    assert "忘记缴费" in client.get(f"/policies/{GZ}/").content.decode()
    client.post(f"/renewals/profile/{GZ}/", {"overdue_reason": "bored"})
    assert Policy.objects.get(policy_no=GZ).overdue_reason == "forgot"


def test_a_condition_with_an_unknown_value_is_refused_naming_the_field(first_night):
    step = PlanStep(plan=CollectionPlan.objects.get(is_default=True), code="T+9", anchor="due", offset_days=9,
                    action="reminder", segments="vip, gold", overdue_reasons="forgot",
                    debit_failure_reasons="insufficient_funds,no_money")
    with pytest.raises(ValidationError) as error:
        step.full_clean()
    assert set(error.value.message_dict) == {"segments", "debit_failure_reasons"}
    assert "gold" in error.value.message_dict["segments"][0]
    step.segments, step.debit_failure_reasons = " vip , high_value", "insufficient_funds"
    step.full_clean()
    assert step.segments == "vip,high_value"
