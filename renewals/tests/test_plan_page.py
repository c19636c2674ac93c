"""The clerks' read-only page of the collection plans (issue 12: what a role may do has a page):
clerks and team leads read the active plans and their steps, in Chinese; admins also get the
link to the editor; roles that do not work cases may not open it."""

from decimal import Decimal

import pytest

from renewals.tests.factories import CollectionPlanFactory, PlanStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(reference_data):
    plan = CollectionPlanFactory(name="续期测试计划")
    PlanStepFactory(plan=plan, code="T-7", anchor="due", offset_days=-7, action="reminder", channel="sms")
    PlanStepFactory(plan=plan, code="T+3", anchor="due", offset_days=3, action="open_case",
                    case_type="overdue_follow_up", segments="vip,high_value", min_amount=Decimal("500.00"))
    PlanStepFactory(plan=plan, code="G-5", anchor="grace_end", offset_days=-5, action="robot_call", channel="phone",
                    min_lapse_risk=Decimal("0.30000"))
    PlanStepFactory(plan=plan, code="T+9", anchor="due", offset_days=9, action="reminder", active=False)
    CollectionPlanFactory(name="停用的计划", active=False)
    return plan


def _plan_rows(page: str) -> str:
    return page.split("续期测试计划", 1)[1].split("collection-plan", 1)[0]


def test_a_clerk_reads_the_active_plan_and_its_steps_in_chinese(plan, make_user, client):
    client.force_login(make_user("plan_clerk", ["clerk"], ["GD-GZ"]))

    response = client.get("/renewals/plans/")

    assert response.status_code == 200
    page = response.content.decode()
    rows = _plan_rows(page)
    # the active steps in the order they run: due-date steps by offset, then grace-end ones
    assert rows.index("T-7") < rows.index("T+3") < rows.index("G-5")
    assert "T+9" not in rows  # an inactive step
    assert "停用的计划" not in page  # an inactive plan
    assert "应缴日前 7 天" in rows and "应缴日后 3 天" in rows and "宽限期满前 5 天" in rows
    assert "短信" in rows and "生成案件" in rows and "逾期跟进" in rows
    assert "客户分层：VIP、高价值" in rows and "欠缴至少 500.00 元" in rows and "失效风险不低于 30%" in rows
    assert "编辑计划" not in page  # no editor for a clerk
    assert 'href="/renewals/plans/"' in page  # in the menu


def test_a_team_lead_reads_it_and_an_admin_gets_the_editor_link(plan, make_user, client):
    client.force_login(make_user("plan_lead", ["team_lead"], ["GD"]))
    assert "续期测试计划" in client.get("/renewals/plans/").content.decode()

    client.force_login(make_user("plan_admin", ["admin"], ["HQ"]))
    page = client.get("/renewals/plans/").content.decode()
    assert "续期测试计划" in page and 'href="/admin/renewals/collectionplan/"' in page


@pytest.mark.parametrize("role", ["finance", "manager", "auditor", "risk_reviewer"])
def test_roles_that_do_not_work_cases_may_not_open_it(plan, make_user, client, role):
    client.force_login(make_user(f"plan_{role}", [role], ["HQ"]))

    response = client.get("/renewals/plans/")

    assert response.status_code == 403
    assert 'href="/renewals/plans/"' not in client.get("/policies/").content.decode()
