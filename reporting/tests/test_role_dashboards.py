"""Finance's and risk's dashboards, and the outcome and feedback charts of the manager's (issue 15),
on hand-built rows; every figure is counted by hand in the comments. Branch scope applies."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.tests.factories import PaymentFactory
from policies.models import Policy
from renewals.models import ContactAttempt
from renewals.tests.factories import CaseFactory
from risk.models import Rule
from risk.tests.factories import FlagFactory, RuleFactory

pytestmark = pytest.mark.django_db
DECEMBER = {"from": "2026-12-01", "to": "2026-12-31"}


@pytest.fixture
def rows(portfolio, make_user):
    gz, bj = Policy.objects.get(policy_no="8860000000000001"), Policy.objects.get(policy_no="8860000000000002")
    # money in suspense on 31 December: 1 day, 11 days, 60 days and 183 days after its value date
    for day, amount in [(dt.date(2026, 12, 30), "100.00"), (dt.date(2026, 12, 20), "200.00"),
                        (dt.date(2026, 11, 1), "300.00"), (dt.date(2026, 7, 1), "400.00")]:
        PaymentFactory(value_date=day, amount=Decimal(amount), remittance="无法识别")
    rule = RuleFactory(key="test-large-cash", name="大额现金", state=Rule.State.ACTIVE)

    def flag(policy, severity, raised_on, status="open", reviewed_on=None, subject="policy"):
        # one live flag per rule and subject: the second open flag of the policy is on its holder
        subject_key = str(policy.pk if subject == "policy" else policy.holder_id)
        FlagFactory(rule_key=rule.key, severity=severity, subject_type=subject, subject_key=subject_key, policy=policy,
                    raised_on=raised_on, status=status, reviewed_on=reviewed_on)

    flag(gz, "high", dt.date(2026, 12, 28))  # open, 3 days old on the 31st
    flag(gz, "medium", dt.date(2026, 11, 20), subject="customer")  # open, 41 days old
    flag(bj, "high", dt.date(2026, 12, 2), status="cleared", reviewed_on=dt.date(2026, 12, 15))
    clerk = make_user("clerk_rows", ["clerk"], ["HQ"])
    on = timezone.make_aware(dt.datetime(2026, 12, 10, 10, 0))
    for policy, category, status in ((gz, "late_notice", "open"), (gz, "late_notice", "resolved"),
                                     (bj, "service", "open")):
        CaseFactory(policy=policy, type="feedback", category=category, status=status, opened_on=dt.date(2026, 12, 10))
    case = CaseFactory(policy=gz, type="overdue_follow_up", opened_on=dt.date(2026, 12, 5))
    bj_case = CaseFactory(policy=bj, type="overdue_follow_up", opened_on=dt.date(2026, 12, 5))
    for c, outcome, reached, reason in ((case, "promise", True, ""), (case, "no_answer", False, "forgot"),
                                        (bj_case, "refuses", True, "hardship")):
        ContactAttempt.objects.create(case=c, policy=c.policy, channel="phone", reached=reached, outcome=outcome,
                                      reason=reason, actor=clerk, occurred_at=on)


def _client(make_user, name, roles, branches):
    client = Client()
    client.force_login(make_user(name, roles, branches))
    return client


def test_finance_sees_suspense_by_age_and_the_days_reconciliation(rows, make_user):
    finance = _client(make_user, "finance_hq", ["finance"], ["HQ"])
    response = finance.get("/reporting/finance/", DECEMBER)
    assert response.status_code == 200
    assert [(a["lines"], a["amount"]) for a in response.context["ageing"]] == [
        (1, Decimal("100.00")), (1, Decimal("200.00")), (1, Decimal("300.00")), (1, Decimal("400.00"))]
    assert response.context["suspense_amount"] == Decimal("1000.00")
    # the days' reconciliation comes after the page (htmx), from its own address
    assert 'hx-get="/reporting/finance/reconciliation/' in response.content.decode()
    recon = {r["day"]: r for r in finance.get("/reporting/finance/reconciliation/", DECEMBER).context["recon"]}
    assert len(recon) == 7  # 25 to 31 December
    # the 30th: 100.00 received, all of it in suspense, nothing unaccounted for
    day = recon[dt.date(2026, 12, 30)]
    assert (day["received"], day["suspense"], day["difference"]) == (Decimal("100.00"), Decimal("100.00"),
                                                                      Decimal("0.00"))
    # a branch's finance user: the reconciliation is the head office's
    bj_finance = _client(make_user, "finance_bj", ["finance"], ["BJ"])
    assert bj_finance.get("/reporting/finance/reconciliation/", DECEMBER).context["recon"] == []
    # not a clerk's, nor risk's
    assert _client(make_user, "clerk_f", ["clerk"], ["HQ"]).get("/reporting/finance/").status_code == 403
    assert _client(make_user, "risk_f", ["risk_reviewer"], ["HQ"]).get("/reporting/finance/").status_code == 403
    assert _client(make_user, "risk_g", ["risk_reviewer"], ["HQ"]).get(
        "/reporting/finance/reconciliation/").status_code == 403


def test_risk_sees_open_flags_by_rule_severity_and_age_and_the_outcomes(rows, make_user):
    response = _client(make_user, "risk_hq", ["risk_reviewer"], ["HQ"]).get("/reporting/risk/", DECEMBER)
    assert response.status_code == 200
    [rule] = response.context["by_rule"]
    assert (rule["rule__name"], rule["high"], rule["medium"], rule["low"], rule["total"]) == ("大额现金", 1, 1, 0, 2)
    # on the 31st: the 28 December flag is 3 days old, the 20 November one 41
    assert [a["flags"] for a in response.context["ageing"]] == [1, 0, 1]
    [outcome] = response.context["outcomes"]
    assert (outcome["cleared"], outcome["confirmed"], outcome["escalated"]) == (1, 0, 0)
    assert response.context["raised"] == 2  # the 2nd and the 28th of December
    # Beijing's reviewer: Beijing's flag only (cleared: none open)
    bj = _client(make_user, "risk_bj", ["risk_reviewer"], ["BJ"]).get("/reporting/risk/", DECEMBER)
    assert (bj.context["open"], bj.context["raised"], len(bj.context["outcomes"])) == (0, 1, 1)
    assert _client(make_user, "finance_r", ["finance"], ["HQ"]).get("/reporting/risk/").status_code == 403
    # the manager sees both
    manager = _client(make_user, "manager_r", ["manager"], ["HQ"])
    assert manager.get("/reporting/risk/", DECEMBER).status_code == 200
    assert manager.get("/reporting/finance/", DECEMBER).status_code == 200


def test_the_managers_dashboard_shows_contact_outcomes_reasons_and_feedback(rows, make_user):
    response = _client(make_user, "manager_hq", ["manager"], ["HQ"]).get("/reporting/", DECEMBER)
    outcomes = response.context["outcomes"]
    assert sorted((r["code"], r["attempts"]) for r in outcomes["outcomes"]) == [
        ("no_answer", 1), ("promise", 1), ("refuses", 1)]
    assert sorted((r["code"], r["attempts"]) for r in outcomes["reasons"]) == [("forgot", 1), ("hardship", 1)]
    assert [(r["code"], r["total"], r["open"]) for r in response.context["feedback"]] == [
        ("late_notice", 2, 1), ("service", 1, 1)]
    assert response.context["deciles"] == []  # no lapse-risk scores in this portfolio
    assert 'id="deciles"' in response.content.decode()
    # the manager reaches the finance and risk dashboards from here (they are not in the menu)
    links = response.content.decode()
    assert 'data-role-dashboard="reporting:finance"' in links and 'data-role-dashboard="reporting:risk"' in links
    # Beijing's manager: Beijing's contact and feedback; the company-wide deciles are not shown
    bj = _client(make_user, "manager_bj", ["manager"], ["BJ"]).get("/reporting/", DECEMBER)
    assert [(r["code"], r["attempts"]) for r in bj.context["outcomes"]["outcomes"]] == [("refuses", 1)]
    assert [(r["code"], r["total"]) for r in bj.context["feedback"]] == [("service", 1)]
    assert 'id="deciles"' not in bj.content.decode()
