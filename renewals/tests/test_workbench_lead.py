"""The team lead's tools and the outcomes finished in session 5 (issue 14): rebalance, a breach
assigned to the lead, reduced paid-up and plan change prefilled, customer feedback reports.

GZ (8860000000000001): monthly 300.00, issued 2020-01-31, premium term 20 years (240 months), sum
assured 100,000.00, first unpaid installment due 2026-11-30 (82 months after issue), last grace
day 2027-01-29.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Team, User
from conftest import BJ_POLICY, GZ_POLICY, policies_csv
from core.errors import ApplicationError
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Application, Case, CaseHistory
from renewals.services.case_refresh import cases_refresh
from renewals.services.cases import (
    case_claim,
    case_contact_record,
    cases_rebalance,
    clerk_away_set,
    feedback_record,
    reduced_paid_up_figure,
)
from renewals.tests import test_workbench_cases as _cases
from renewals.tests.factories import CaseFactory, WorkTeamFactory

pytestmark = pytest.mark.django_db
# the calendar and the Guangzhou overdue case of test_workbench_cases
calendar_data, overdue_case = _cases.calendar_data, _cases.overdue_case
GZ = "8860000000000001"
AS_OF = dt.date(2026, 12, 31)


# --- rebalance ----------------------------------------------------------------------------------

@pytest.fixture
def mixed_team(portfolio, make_user):
    """A team serving Guangzhou and Beijing: lead (HQ), clerks a and b (Guangzhou), c (Beijing),
    d (Guangzhou, marked away). Seven Guangzhou cases, priorities 100..94, the top five assigned to
    a; two Beijing cases, 50 and 49, unassigned; one more Guangzhou case (10) held by b now."""
    lead = make_user("lead_mix", ["team_lead"], ["HQ"])
    a, b = make_user("clerk_a", ["clerk"], ["GD-GZ"]), make_user("clerk_b", ["clerk"], ["GD-GZ"])
    c, d = make_user("clerk_c", ["clerk"], ["BJ"]), make_user("clerk_d", ["clerk"], ["GD-GZ"])
    work = WorkTeamFactory(team__name="混合续期组", team__lead=lead, team__members=[lead, a, b, c, d],
                           branches=["GD-GZ", "BJ"])
    clerk_away_set(clerk=d, away=True, actor=lead)
    gz = [GZ_POLICY.replace(GZ, f"88600000000002{k:02d}") for k in range(8)]
    bj = [BJ_POLICY.replace("8860000000000002", f"88600000000003{k:02d}") for k in range(2)]
    policies_import(files=[("p.csv", policies_csv(*gz, *bj))], as_of=dt.date(2026, 11, 25))
    gz_policies = list(Policy.objects.filter(policy_no__startswith="88600000000002").order_by("policy_no"))
    bj_policies = list(Policy.objects.filter(policy_no__startswith="88600000000003").order_by("policy_no"))
    cases = {}
    for k, policy in enumerate(gz_policies[:7]):
        cases[100 - k] = CaseFactory(policy=policy, opened_on=AS_OF, team=work, priority=100 - k,
                                     assignee=a if k < 5 else None)
    for k, policy in enumerate(bj_policies):
        cases[50 - k] = CaseFactory(policy=policy, opened_on=AS_OF, team=work, priority=50 - k)
    cases[10] = CaseFactory(policy=gz_policies[7], opened_on=AS_OF, team=work, priority=10, claimed_by=b,
                            claimed_at=timezone.now(), status="in_progress")
    return {"lead": lead, "a": a, "b": b, "c": c, "d": d, "team": work, "cases": cases}


def _owners(cases: dict) -> dict[int, str | None]:
    return {p: (Case.objects.get(pk=c.pk).assignee.username if Case.objects.get(pk=c.pk).assignee_id else None)
            for p, c in cases.items()}


def test_rebalance_spreads_the_cases_evenly_within_each_clerks_branches(mixed_team):
    t = mixed_team
    result = cases_rebalance(team=t["team"], actor=t["lead"])
    # nine movable cases, b already holds one: share = ceil(10 / 3) = 4. a keeps 100..97; the pool
    # (96, 95, 94, 50, 49) goes to the least loaded who may take each: b (1) takes 96, 95, 94;
    # only c covers Beijing: 50 and 49. d is away and gets nothing; the held case stays with b.
    owners = _owners(t["cases"])
    assert owners == {100: "clerk_a", 99: "clerk_a", 98: "clerk_a", 97: "clerk_a", 96: "clerk_b", 95: "clerk_b",
                      94: "clerk_b", 50: "clerk_c", 49: "clerk_c", 10: None}
    assert Case.objects.get(pk=t["cases"][10].pk).claimed_by == t["b"]
    assert result == {"moved": 5, "cases": 9, "unreachable": 0,
                      "loads": {"clerk_a": 4, "clerk_b": 4, "clerk_c": 2}}
    # on the case's history and on the trail, with who and why
    moved = t["cases"][96]
    history = CaseHistory.objects.get(case=moved, kind="assigned")
    assert (history.actor, history.reason, history.details["before"], history.details["after"]) == (
        t["lead"], "rebalanced", t["a"].pk, t["b"].pk)
    event = moved.events.filter(pgh_label="update").latest("pgh_id")
    assert event.assignee_id == t["b"].pk
    assert (event.pgh_context.metadata["reason"], event.pgh_context.metadata["username"]) == (
        "cases rebalanced", "lead_mix")
    # a second rebalance finds nothing to move
    assert cases_rebalance(team=t["team"], actor=t["lead"])["moved"] == 0


def test_only_the_teams_lead_rebalances(mixed_team, make_user):
    t = mixed_team
    with pytest.raises(ApplicationError) as refused:
        cases_rebalance(team=t["team"], actor=t["a"])
    assert refused.value.status == 403
    other_lead = make_user("other_lead", ["team_lead"], ["HQ"])
    with pytest.raises(ApplicationError) as refused:
        cases_rebalance(team=t["team"], actor=other_lead)
    assert refused.value.status == 403
    assert _owners({100: t["cases"][100], 95: t["cases"][95]}) == {100: "clerk_a", 95: None}


def test_the_lead_rebalances_from_the_home_page(mixed_team):
    client = Client()
    client.force_login(User.objects.get(username="lead_mix"))
    home = client.get("/")
    assert f'name="team" value="{mixed_team["team"].pk}"' in home.content.decode()
    response = client.post("/renewals/cases/rebalance/", {"team": mixed_team["team"].pk}, follow=True)
    assert response.status_code == 200
    assert Case.objects.filter(assignee=mixed_team["c"]).count() == 2
    # a clerk cannot
    clerk = Client()
    clerk.force_login(User.objects.get(username="clerk_a"))
    assert clerk.post("/renewals/cases/rebalance/", {"team": mixed_team["team"].pk}).status_code == 403


# --- a breach goes to the team lead -------------------------------------------------------------

def test_a_breached_case_is_assigned_to_the_team_lead_and_shown_on_their_home(overdue_case, make_user):
    lead = make_user("lead_gz", ["team_lead"], ["GD"])
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    Team.objects.filter(pk=overdue_case.team.team_id).update(lead=lead)
    case_claim(case=overdue_case, actor=clerk)
    Case.objects.filter(pk=overdue_case.pk).update(assignee=clerk)
    # the deadline is Wed 27 Jan 2027: on Thu 28 Jan the night escalates it to the lead
    policy_id = overdue_case.policy_id
    cases_refresh(dt.date(2027, 1, 27), policy_id, policy_id)
    assert Case.objects.get(pk=overdue_case.pk).assignee == clerk
    cases_refresh(dt.date(2027, 1, 28), policy_id, policy_id)
    case = Case.objects.get(pk=overdue_case.pk)
    assert (case.status, case.assignee, case.claimed_by, case.breached_on) == (
        "escalated", lead, None, dt.date(2027, 1, 28))
    history = CaseHistory.objects.get(case=case, kind="escalated")
    assert (history.from_status, history.to_status, history.reason, history.details) == (
        "in_progress", "escalated", "deadline passed: assigned to the team lead", {"before": clerk.pk, "lead": lead.pk})
    # once: the next night changes nothing
    cases_refresh(dt.date(2027, 1, 29), policy_id, policy_id)
    assert CaseHistory.objects.filter(case=case, kind="escalated").count() == 1
    client = Client()
    client.force_login(User.objects.get(username="lead_gz"))
    page = client.get("/").content.decode()
    assert 'id="escalated-to-me"' in page and f'data-case="{case.pk}"' in page


# --- reduced paid-up and plan change, prefilled ---------------------------------------------------

def test_the_reduced_paid_up_figure_is_the_term_paid_in_proportion():
    policy = Policy(issue_date=dt.date(2020, 1, 31), premium_term_years=20, sum_assured=Decimal("100000.00"))
    # 82 of 240 months paid: 100,000 x 82 / 240 = 34,166.666... -> 34,166.67
    assert str(reduced_paid_up_figure(policy=policy, first_unpaid_due=dt.date(2026, 11, 30))) == "34166.67"


def test_wants_reduced_paid_up_opens_the_application_prefilled(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    case_contact_record(case=overdue_case, actor=clerk, as_of=AS_OF, channel="phone", reached=True,
                        reason="hardship", outcome="wants_reduced_paid_up")
    application = Application.objects.get(policy__policy_no=GZ, kind="reduced_paid_up")
    assert (application.status, application.effective_date, application.details, application.created_by) == (
        "submitted", dt.date(2026, 11, 30), {"sum_assured": "34166.67"}, clerk)
    assert not Application.objects.filter(policy__policy_no=GZ, kind="deferral").exists()
    overdue_case.refresh_from_db()
    assert (overdue_case.status, overdue_case.outcome) == ("resolved", "wants_reduced_paid_up")
    note = CaseHistory.objects.get(case=overdue_case, kind="note")
    assert note.details["application"] == application.pk


def test_wants_plan_change_opens_the_application_prefilled_from_a_due_date_of_the_new_frequency(
        overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    case_contact_record(case=overdue_case, actor=clerk, as_of=AS_OF, channel="phone", reached=True,
                        outcome="wants_plan_change", plan_change={"frequency": "quarterly"})
    application = Application.objects.get(policy__policy_no=GZ, kind="plan_change")
    # unpaid: 30 Nov 2026 (82 months after issue), 31 Dec 2026 (83), 31 Jan 2027 (84): the first
    # that is a quarterly due date (months divisible by 3) is 31 Jan 2027; 300.00 x 12 / 4 = 900.00
    assert application.effective_date == dt.date(2027, 1, 31)
    assert (application.details["frequency"], application.details["modal_premium"],
            application.details["anchor_months"]) == ("quarterly", "900.00", 84)
    overdue_case.refresh_from_db()
    assert (overdue_case.status, overdue_case.outcome) == ("resolved", "wants_plan_change")


def test_wants_plan_change_with_nothing_to_prefill_waits(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    # a monthly policy and no change given: the clerk enters it on the policy page
    case_contact_record(case=overdue_case, actor=clerk, as_of=AS_OF, channel="phone", reached=True,
                        outcome="wants_plan_change")
    assert not Application.objects.filter(policy__policy_no=GZ).exists()
    overdue_case.refresh_from_db()
    # the next working day: 2027 has no calendar data, so Fri 1 Jan 2027 counts as a weekday
    assert (overdue_case.status, overdue_case.next_action_on) == ("waiting_customer", dt.date(2027, 1, 1))


def test_the_contact_form_takes_the_plan_change(overdue_case, make_user):
    make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    client = Client()
    client.force_login(User.objects.get(username="clerk_gz"))
    response = client.post(f"/renewals/cases/{overdue_case.pk}/contact/", {
        "channel": "phone", "reached": "1", "outcome": "wants_plan_change", "plan_payment_method": "online"},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    application = Application.objects.get(policy__policy_no=GZ, kind="plan_change")
    # the oldest unpaid due date serves any change of method
    assert (application.effective_date, application.details) == (dt.date(2026, 11, 30), {"payment_method": "online"})


# --- customer feedback reports ------------------------------------------------------------------

@pytest.fixture
def feedback(portfolio, make_user):
    """Five pieces of feedback: GZ late notice x2 and service in November, BJ payment hassle in
    November and late notice in December."""
    clerk = make_user("clerk_hq", ["clerk"], ["HQ"])
    gz, bj = Policy.objects.get(policy_no=GZ), Policy.objects.get(policy_no="8860000000000002")
    for policy, category, day in [(gz, "late_notice", dt.date(2026, 11, 3)), (gz, "late_notice", dt.date(2026, 11, 20)),
                                  (gz, "service", dt.date(2026, 11, 30)), (bj, "payment_hassle", dt.date(2026, 11, 9)),
                                  (bj, "late_notice", dt.date(2026, 12, 1))]:
        feedback_record(policy=policy, category=category, text="客户反馈", actor=clerk, as_of=day)
    return clerk


def test_feedback_is_counted_by_kind_branch_and_month_with_an_export(feedback, make_user):
    make_user("manager_fb", ["manager"], ["HQ"])
    client = Client()
    client.force_login(User.objects.get(username="manager_fb"))
    query = "start=2026-11-01&end=2026-12-31&period=month"
    page = client.get(f"/renewals/cases/feedback/?{query}").content.decode()
    assert 'data-kpi="feedback-total">5<' in page
    rows = client.get(f"/renewals/cases/feedback/?{query}&export=csv").content.decode("utf-8-sig").splitlines()
    assert rows == [
        "period,branch_code,branch,late_notice,payment_hassle,product_question,service,other,total",
        "2026-11-01,BJ,北京分公司,0,1,0,0,0,1",
        "2026-11-01,GD-GZ,广州中心支公司,2,0,0,1,0,3",
        "2026-12-01,BJ,北京分公司,1,0,0,0,0,1",
    ]
    # by week (from Monday): 3 Nov is in the week of Mon 2 Nov, 9 Nov of 9 Nov, 20 Nov of 16 Nov
    weeks = client.get("/renewals/cases/feedback/?start=2026-11-01&end=2026-11-22&period=week&export=csv"
                       ).content.decode("utf-8-sig").splitlines()[1:]
    assert weeks == ["2026-11-02,GD-GZ,广州中心支公司,1,0,0,0,0,1", "2026-11-09,BJ,北京分公司,0,1,0,0,0,1",
                     "2026-11-16,GD-GZ,广州中心支公司,1,0,0,0,0,1"]


def test_feedback_report_keeps_to_the_readers_branches(feedback, make_user):
    make_user("lead_gd", ["team_lead"], ["GD"])
    client = Client()
    client.force_login(User.objects.get(username="lead_gd"))
    rows = client.get("/renewals/cases/feedback/?start=2026-11-01&end=2026-12-31&period=month&export=csv"
                      ).content.decode("utf-8-sig").splitlines()[1:]
    assert rows == ["2026-11-01,GD-GZ,广州中心支公司,2,0,0,1,0,3"]
    # an empty period says so; a reversed period is an error beside the field
    empty = client.get("/renewals/cases/feedback/?start=2025-01-01&end=2025-01-31&period=month").content.decode()
    assert 'id="feedback-empty"' in empty
    wrong = client.get("/renewals/cases/feedback/?start=2026-12-31&end=2026-11-01&period=month").content.decode()
    assert "text-danger" in wrong
    # who reads no reports gets none
    make_user("uw_fb", ["underwriter"], ["HQ"])
    other = Client()
    other.force_login(User.objects.get(username="uw_fb"))
    assert other.get("/renewals/cases/feedback/").status_code == 403


# --- the queue's counts, loaded apart ---------------------------------------------------------------

def test_the_queue_page_loads_its_counts_in_a_second_request(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    client = Client()
    client.force_login(clerk)
    page = client.get("/renewals/cases/?queue=unassigned").content.decode()
    assert 'hx-get="/renewals/cases/counts/?queue=unassigned"' in page
    tabs = client.get("/renewals/cases/counts/?queue=unassigned", HTTP_HX_REQUEST="true").content.decode()
    # the one Guangzhou case is unassigned and nobody's: unassigned 1, mine 0
    assert 'data-queue="unassigned" href="?queue=unassigned">' in tabs
    badges = dict(re.findall(r'data-queue="(\w+)"[^>]*>[^<]*<span class="badge text-bg-light">([^<]*)</span>', tabs))
    assert (badges["unassigned"], badges["mine"], badges["handoffs"]) == ("1", "0", "0")
