"""The workbench's cases (issue 14): deadlines on the working calendar computed by hand, the
nightly refresh (team, deadline, priority parts), cases closing themselves, contact outcomes.

GZ (8860000000000001): monthly 300.00, issued 2020-01-31, first unpaid installment due 2026-11-30,
last grace day 2027-01-29 (a Friday); the next is due 2026-12-31. The 2026 calendar (chinesecalendar):
Mid-autumn Fri 25 - Sun 27 Sep 2026 off, Sun 20 Sep worked; National Day 1-7 Oct off, Sat 10 Oct worked.
"""

import datetime as dt

import pytest

from billing.services.statements import statement_import
from policies.models import Policy
from renewals.models import Application, CalendarDay, CalendarYear, Case, CaseHistory, ContactAttempt
from renewals.services.calendar import case_deadline, working_calendar
from renewals.services.case_refresh import cases_refresh
from renewals.services.cases import (
    case_answer,
    case_claim,
    case_contact_record,
    case_handoff,
    cases_workable,
)
from renewals.services.pipeline import nightly_run
from renewals.tests.factories import WorkTeamFactory

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"


@pytest.fixture
def calendar_data(db):
    """The migration's calendar rows (a transactional test elsewhere may have flushed them)."""
    if not CalendarYear.objects.filter(year=2026).exists():
        from importlib import import_module

        from django.apps import apps
        import_module("renewals.migrations.0014_workbench_data").calendar_seed(apps)
    assert CalendarDay.objects.filter(day=dt.date(2026, 10, 10), kind="workday").exists()


@pytest.mark.parametrize(("grace_end", "deadline"), [
    # Monday after the Mid-autumn long weekend: Thu 24 Sep is 1, Wed 23 Sep is 2
    (dt.date(2026, 9, 28), dt.date(2026, 9, 23)),
    # Monday after the worked Saturday 10 Oct: Sat 10 Oct is 1, Fri 9 Oct is 2
    (dt.date(2026, 10, 12), dt.date(2026, 10, 9)),
    # the first working day after National Day: Wed 30 Sep is 1, Tue 29 Sep is 2
    (dt.date(2026, 10, 8), dt.date(2026, 9, 29)),
    # Tuesday after the worked Sunday 20 Sep: Mon 21 is 1, Sun 20 is 2
    (dt.date(2026, 9, 22), dt.date(2026, 9, 20)),
])
def test_deadline_is_grace_end_minus_two_working_days_on_the_calendar(calendar_data, grace_end, deadline):
    result = case_deadline(grace_end=grace_end, case_type="overdue_follow_up")
    assert (result.day, result.estimated) == (deadline, False)


def test_past_the_calendar_data_weekdays_are_counted_with_a_warning(calendar_data):
    # 2027 has no data: Wed 3 Mar 2027 minus 2 weekdays = Mon 1 Mar, estimated
    result = case_deadline(grace_end=dt.date(2027, 3, 3), case_type="failed_debit")
    assert (result.day, result.estimated) == (dt.date(2027, 3, 1), True)
    # an admin enters 2027 with a holiday on Tue 2 Mar: Mon 1 Mar is 1, Fri 26 Feb is 2
    CalendarYear.objects.create(year=2027, source="admin")
    CalendarDay.objects.create(day=dt.date(2027, 3, 2), kind="holiday", name="test")
    result = case_deadline(grace_end=dt.date(2027, 3, 3), case_type="failed_debit")
    assert (result.day, result.estimated) == (dt.date(2027, 2, 26), False)


def test_working_days_between_counts_the_worked_saturday(calendar_data):
    calendar = working_calendar(around=dt.date(2026, 10, 1))
    # Thu 1 Oct .. Mon 12 Oct: 8, 9 (Thu, Fri), Sat 10 worked, Mon 12 = 4
    assert calendar.working_days_between(dt.date(2026, 10, 1), dt.date(2026, 10, 12)) == 4


@pytest.fixture
def overdue_case(first_night, calendar_data):
    """The GZ overdue case opened by the plan's T+31 step, in the Guangzhou renewal team."""
    WorkTeamFactory(team__name="广州续期组", branches=["GD-GZ"])
    WorkTeamFactory(team__name="广东续期组", branches=["GD"])
    nightly_run(as_of=dt.date(2026, 12, 31))
    case = Case.objects.get(policy__policy_no=GZ, type="overdue_follow_up")
    return case


def test_the_night_routes_dates_and_scores_the_case(overdue_case):
    case = overdue_case
    # the nearest branch's team, not the province's
    assert case.team.team.name == "广州续期组"
    # grace ends Fri 29 Jan 2027 (no 2027 data: weekdays): Thu 28 is 1, Wed 27 is 2
    assert case.deadline == dt.date(2027, 1, 27)
    parts = case.priority_parts
    # 31 Dec 2026 -> 27 Jan 2027: the Jan working days 1 (2026 data: New Year's Day is 2027's,
    # counted as a weekday), 4-8, 11-15, 18-22, 25-27 = 19 working days left: 50 - 95 -> 0
    assert parts["days_left"] == 19 and parts["deadline"] == 0
    # owed up to grace end: 30 Nov and 31 Dec installments, 600.00 -> 3 points
    assert (parts["at_stake"], parts["amount"]) == ("600.00", 3)
    # overdue follow-up weighs 8; the risk part is the scoring app's when it scored the policy,
    # else the heuristic: one unpaid installment more than the first, 5
    assert (parts["reason"], parts["policies"], parts["escalation"]) == (8, 0, 0)
    assert case.priority == 3 + parts["risk"] + 8
    assert CaseHistory.objects.filter(case=case, kind="opened").exists()


def test_a_promise_opens_a_follow_up_closed_when_the_money_is_imported(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    as_of = dt.date(2026, 12, 31)
    case_claim(case=overdue_case, actor=clerk)
    case_contact_record(case=overdue_case, actor=clerk, as_of=as_of, channel="phone", reached=True,
                        reason="forgot", outcome="promise", promised_on=dt.date(2027, 1, 5))
    overdue_case.refresh_from_db()
    assert (overdue_case.status, overdue_case.outcome) == ("resolved", "promise")
    follow = Case.objects.get(policy__policy_no=GZ, type="promise_follow_up")
    assert (follow.status, follow.next_action_on, follow.assignee, follow.parent_id) == (
        "waiting_customer", dt.date(2027, 1, 6), clerk, overdue_case.pk)
    attempt = ContactAttempt.objects.get(case=overdue_case)
    assert (attempt.contact_log.outcome, attempt.contact_log.channel) == ("promised", "phone")
    # the money of both installments comes in: the follow-up closes itself, the reason in its history
    statement_import(name="promise.csv", format="csv", template="cn-online-banking", as_of=dt.date(2027, 1, 5),
                     data=(HEADER + "2027-01-05,600.00,CNY,张伟,6222020200001234,P1,保单8860000000000001续期保费\n")
                     .encode())
    follow.refresh_from_db()
    assert (follow.status, follow.outcome) == ("resolved", "paid")
    closed = CaseHistory.objects.get(case=follow, kind="closed")
    assert (closed.from_status, closed.to_status, closed.reason) == ("waiting_customer", "resolved", "paid")


def test_hardship_opens_a_deferral_application_prefilled(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    case_contact_record(case=overdue_case, actor=clerk, as_of=dt.date(2026, 12, 31), channel="phone", reached=True,
                        reason="hardship", outcome="wants_deferral")
    application = Application.objects.get(policy__policy_no=GZ, kind="deferral")
    # from the oldest unpaid due date, for a year
    assert (application.status, application.effective_date, application.details["end"], application.created_by) == (
        "submitted", dt.date(2026, 11, 30), "2027-11-30", clerk)
    overdue_case.refresh_from_db()
    assert (overdue_case.status, overdue_case.outcome) == ("resolved", "wants_deferral")


def test_a_handoff_to_underwriting_is_in_their_queue_and_its_answer_reopens_the_case(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    underwriter = make_user("uw", ["underwriter"], ["GD"])
    handoff = case_handoff(case=overdue_case, department="underwriting", question="客户有高血压，能否复效？",
                           actor=clerk, as_of=dt.date(2026, 12, 31))
    # 2 working days (Fri 1 Jan 2027 counted as a weekday: no 2027 data)
    assert (handoff.type, handoff.deadline) == ("handoff_underwriting", dt.date(2027, 1, 4))
    assert list(cases_workable(user=underwriter).filter(status="open")) == [handoff]
    assert not cases_workable(user=clerk).filter(pk=handoff.pk).exists()
    overdue_case.refresh_from_db()
    assert overdue_case.status == "waiting_customer"
    case_answer(case=handoff, answer="可以受理，需补充体检报告", actor=underwriter)
    overdue_case.refresh_from_db()
    handoff.refresh_from_db()
    assert (handoff.status, overdue_case.status, overdue_case.answer) == ("resolved", "open", "可以受理，需补充体检报告")
    assert CaseHistory.objects.filter(case=overdue_case, kind="reopened").exists()


def test_deceased_hands_off_to_claims(overdue_case, make_user):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    case_contact_record(case=overdue_case, actor=clerk, as_of=dt.date(2026, 12, 31), channel="phone", reached=True,
                        reason="deceased", outcome="refuses")
    assert Case.objects.filter(policy__policy_no=GZ, type="handoff_claims", status="open").count() == 1


def test_a_case_held_by_someone_else_refuses_their_actions(overdue_case, make_user):
    from core.errors import ApplicationError

    first = make_user("clerk_a", ["clerk"], ["GD-GZ"])
    second = make_user("clerk_b", ["clerk"], ["GD-GZ"])
    case_claim(case=overdue_case, actor=first)
    with pytest.raises(ApplicationError, match="clerk_a"):
        case_contact_record(case=overdue_case, actor=second, as_of=dt.date(2026, 12, 31), channel="phone",
                            reached=False, outcome="no_answer")


def test_a_lapse_closes_the_collection_case_with_its_reason(overdue_case):
    nightly_run(as_of=dt.date(2027, 1, 30))  # the day after grace: the policy lapses
    assert Policy.objects.get(policy_no=GZ).status == "lapsed"
    overdue_case.refresh_from_db()
    assert (overdue_case.status, overdue_case.outcome) == ("resolved", "policy_lapsed")


def test_refresh_is_idempotent(overdue_case):
    policy = Policy.objects.get(policy_no=GZ)
    before = list(Case.objects.values_list("id", "priority", "deadline", "status"))
    cases_refresh(dt.date(2026, 12, 31), policy.pk, policy.pk)
    assert list(Case.objects.values_list("id", "priority", "deadline", "status")) == before
