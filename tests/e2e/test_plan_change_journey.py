"""A payment plan change to another frequency, in a real browser (Chinese, the default): a
Guangzhou clerk records the overdue reason of the monthly Guangzhou policy and enters a change to
quarterly from 2027-01-31 at 890.00 a quarter; a Guangdong team lead sees what is asked on the
approvals page and approves it; the night of 2027-01-31 moves the schedule."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Installment
from policies.models import Policy
from renewals.models import Application
from renewals.services.pipeline import nightly_run
from tests.e2e.conftest import screenshot, zh_catalog_compiled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GZ_NO = "8860000000000001"  # monthly 300.00, issued 2020-01-31


def test_a_clerk_enters_a_frequency_change_and_a_team_lead_approves_it(
    live_server, portfolio, make_user, new_page, login,
):
    nightly_run(as_of=dt.date(2026, 11, 25))
    make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    make_user("lead_gd", ["team_lead"], ["GD"])

    page = new_page()
    login(page, "clerk_gz")
    page.goto(f"{live_server.url}/policies/{GZ_NO}/")
    expect(page.locator("#policy-no")).to_have_text(GZ_NO)
    expect(page.locator("#segment-select")).to_have_count(0)  # team leads set the segment
    page.select_option("#overdue-reason-select", "financial_difficulty")
    with page.expect_navigation():
        page.locator("#collection-profile-form button[type=submit]").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    if zh_catalog_compiled():
        expect(page.locator("#collection-profile")).to_contain_text("经济困难")

    details = page.locator("#servicing-form")
    details.locator("summary").click()
    form = details.locator("form")
    form.locator("select[name=kind]").select_option("plan_change")
    form.locator("input[name=effective_date]").fill("2027-01-31")
    form.locator("select[name=frequency]").select_option("quarterly")
    form.locator("input[name=modal_premium]").fill("890")
    screenshot(page, "zh-hans-plan-change-1-entered", element=details)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    application = Application.objects.get(policy__policy_no=GZ_NO, kind="plan_change")
    assert application.details == {"frequency": "quarterly", "modal_premium": "890.00", "anchor_months": 84}
    assert Policy.objects.get(policy_no=GZ_NO).overdue_reason == "financial_difficulty"

    lead_page = new_page()
    login(lead_page, "lead_gd")
    lead_page.goto(f"{live_server.url}/renewals/approvals/")
    row = lead_page.locator(f"#approvals tbody tr[data-policy='{GZ_NO}']")
    expect(row).to_have_count(1)
    expect(row.locator(".app-summary")).to_contain_text("2027-01-31")
    expect(row.locator(".app-summary")).to_contain_text("890.00")
    if zh_catalog_compiled():
        expect(row.locator(".app-summary")).to_contain_text("季交")
    screenshot(lead_page, "zh-hans-plan-change-2-approvals")
    with lead_page.expect_navigation():
        row.locator("button.approve").click()
    expect(lead_page.locator("main .alert-success")).to_be_visible()
    application.refresh_from_db()
    assert (application.status, application.approved_by.username) == ("approved", "lead_gd")

    nightly_run(as_of=dt.date(2027, 1, 31))
    policy = Policy.objects.get(policy_no=GZ_NO)
    assert (policy.frequency, policy.modal_premium) == ("quarterly", Decimal("890.00"))
    assert list(Installment.objects.filter(policy=policy, sequence__gte=98).order_by("sequence")
                .values_list("due_date", flat=True)[:2]) == [dt.date(2027, 1, 31), dt.date(2027, 4, 30)]
