"""Each demo user, signed in on the built demo in a real browser, does the main action of the role
on the demo's own data (issue 12: "sign in, land on the home, see data, do the role's main
action, save a screenshot"). The screenshots land in test-artifacts/ (act-<user>-*.png).

The data each action works on is the demo's, found in the database the live server serves: the
test asserts that the demo gives every role something to do on its first sign-in."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import Installment, Payment
from core.dates import business_today
from policies.services.demo import DEMO_PASSWORD
from renewals.models import Case, ContactAttempt
from risk.models import Flag
from tests.e2e.conftest import screenshot

# the built demo is a session fixture: its tests share one xdist worker (bin/test --dist loadgroup)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("demo")]

CASE_URL = re.compile(r"/renewals/cases/(\d+)/$")


def _case_pk(page) -> int:
    match = CASE_URL.search(page.url)
    assert match, page.url
    return int(match.group(1))


def clerk(page, live_server, tmp_path) -> None:
    """Takes the next case from the home page and records a customer not reached."""
    expect(page.locator("#home-next-case")).to_be_visible()
    with page.expect_navigation():
        page.click("#home-next-case")
    pk = _case_pk(page)
    page.keyboard.press("a")
    expect(page.locator("#case-ok")).to_be_visible()
    screenshot(page, "act-clerk-case")
    assert ContactAttempt.objects.filter(case_id=pk, outcome="no_answer", actor__username="clerk").exists()


def lead(page, live_server, tmp_path) -> None:
    """Opens the first unassigned case of the lead's branches and assigns it to a clerk who covers
    its branch (the list offers no one else)."""
    page.goto(f"{live_server.url}/renewals/cases/?queue=unassigned")
    first = page.locator("#case-table tbody tr[data-case] td a").first
    expect(first).to_be_visible()
    with page.expect_navigation():
        first.click()
    pk = _case_pk(page)
    option = page.locator("#assign-form select[name=assignee] option:not([value=''])").first
    assignee = int(option.get_attribute("value"))
    page.select_option("#assign-form select[name=assignee]", str(assignee))
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#case-ok")).to_be_visible()
    screenshot(page, "act-lead-assigned")
    assert Case.objects.get(pk=pk).assignee_id == assignee


def finance(page, live_server, tmp_path) -> None:
    """Imports a bank statement whose one line pays a Guangzhou policy's oldest open installment."""
    today = business_today()
    installment = (Installment.objects
                   .filter(status__in=("due", "overdue"), amount_paid=0, due_date__lte=today,
                           policy__status="in_force", policy__branch__code="GD-GZ")
                   .select_related("policy").order_by("due_date", "policy__policy_no").first())
    assert installment is not None, "the demo has no open installment in Guangzhou"
    policy_no = installment.policy.policy_no
    path = tmp_path / "statement.csv"
    path.write_text("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
                    f"{today:%Y-%m-%d},{installment.amount_due},人民币,{installment.policy.holder.name},"
                    f"6222020200009999,ACT-FIN-0001,保单{policy_no}续期保费\n", encoding="utf-8")
    page.goto(f"{live_server.url}/billing/imports/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=format]", "csv")
    page.select_option("select[name=template]", "cn-online-banking")
    with page.expect_navigation():
        page.click("main form[enctype='multipart/form-data'] button[type=submit]")
    expect(page.locator("#r-lines")).to_have_text("1")
    expect(page.locator("#r-matched")).to_have_text("1")
    screenshot(page, "act-finance-import")
    payment = Payment.objects.get(payer_account="6222020200009999")
    assert payment.amount == installment.amount_due
    installment.refresh_from_db()
    assert installment.amount_paid == installment.amount_due


def manager(page, live_server, tmp_path) -> None:
    """From the dashboard, a branch's collection rate, the policies behind it, exported."""
    expect(page.locator("#kpi-cards")).to_be_visible()
    rate = page.locator('#slice-branch a[data-figure="collection_rate"]').first
    expect(rate).to_be_visible()
    with page.expect_navigation():
        rate.click()
    assert "/reporting/drill/" in page.url
    assert int(page.locator("#drill-count").inner_text().replace(",", "")) > 0
    screenshot(page, "act-manager-drill")
    with page.expect_download() as download:
        page.click("#drill-export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")


def risk(page, live_server, tmp_path) -> None:
    """Claims the next flag, reads its evidence, confirms it with a reason."""
    with page.expect_navigation():
        page.click("main form[action$='/risk/claim-next/'] button[type=submit]")
    pk = int(re.search(r"/risk/flags/(\d+)/$", page.url).group(1))
    expect(page.locator("#flag-sentence")).to_be_visible()
    page.select_option("#decide-form select[name=outcome]", "confirm")
    page.fill("#decide-form textarea[name=reason]", "已电话核实，付款人与投保人无关联")
    with page.expect_navigation():
        page.click("#decide-form button[type=submit]")
    expect(page.locator("#reviews")).to_contain_text("已电话核实，付款人与投保人无关联")
    screenshot(page, "act-risk-confirmed")
    assert Flag.objects.get(pk=pk).status == "confirmed"


def auditor(page, live_server, tmp_path) -> None:
    """Reads the trail of one policy: the policy of a case the clerks worked."""
    policy_no = (ContactAttempt.objects.order_by("-occurred_at").values_list("policy__policy_no", flat=True).first())
    assert policy_no
    page.goto(f"{live_server.url}/audit/")
    page.fill("#trail-filters input[name=policy_no]", policy_no)
    with page.expect_navigation():
        page.press("#trail-filters input[name=policy_no]", "Enter")
    expect(page.locator("main table tbody tr").first).to_contain_text(policy_no)
    expect(page.locator("#trail-empty")).to_have_count(0)
    screenshot(page, "act-auditor-trail")


def admin(page, live_server, tmp_path) -> None:
    """Sees last night's run on the operations page, every step done."""
    page.goto(f"{live_server.url}/renewals/operations/")
    expect(page.locator("main")).to_contain_text(f"{business_today():%Y-%m-%d}")
    screenshot(page, "act-admin-operations")


def _answer_handoff(page, username: str) -> None:
    first = page.locator("#home-handoffs a").first
    expect(first).to_be_visible()
    with page.expect_navigation():
        first.click()
    pk = _case_pk(page)
    page.fill("#answer-form textarea[name=answer]", "已核实，同意按原条件继续缴费。")
    page.click("#answer-form button[type=submit]")
    expect(page.locator("#answer")).to_contain_text("已核实，同意按原条件继续缴费。")
    screenshot(page, f"act-{username}-answered")
    assert Case.objects.get(pk=pk).answer == "已核实，同意按原条件继续缴费。"


def underwriter(page, live_server, tmp_path) -> None:
    """Answers the first hand-off waiting for underwriting."""
    _answer_handoff(page, "underwriter")


def claims(page, live_server, tmp_path) -> None:
    """Answers the first hand-off waiting for claims."""
    _answer_handoff(page, "claims")


ACTIONS = {f.__name__: f for f in (clerk, lead, finance, manager, risk, auditor, admin, underwriter, claims)}


@pytest.mark.parametrize("username", ACTIONS)
def test_each_demo_user_does_the_main_action_of_the_role(demo_db, live_server, page, login, tmp_path, username):
    login(page, username, password=DEMO_PASSWORD)
    ACTIONS[username](page, live_server, tmp_path)
    assert not page.locator("text=Traceback").count()

