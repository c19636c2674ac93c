"""The clerks' workbench in a real browser (issue 14):

1. a Guangzhou clerk works three cases from the queue with the keyboard only: "n" takes the next
   case, "a" records a customer not reached, "p" a promise (the date typed), "w" will pay now;
   each record replaces the work panel in place (HTMX, no page load);
2. a Guangdong team lead reassigns one case from its page and bulk-assigns ten from the
   unassigned queue.
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from conftest import GZ_POLICY, policies_csv
from core.dates import business_today
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Case, ContactAttempt
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cases(portfolio):
    rows = [GZ_POLICY.replace("8860000000000001", f"88600000000002{k:02d}") for k in range(14)]
    report = policies_import(files=[("policies.csv", policies_csv(*rows))], as_of=dt.date(2026, 11, 25))
    assert [f["rejected"] for f in report["files"]] == [0], report
    policies = Policy.objects.filter(policy_no__startswith="88600000000002").order_by("policy_no")
    return [Case.objects.create(policy=p, type="overdue_follow_up", opened_on=business_today(), priority=100 - k,
                                priority_parts={"deadline": 50 - k, "amount": 3, "at_stake": "600.00"})
            for k, p in enumerate(policies)]


def _work_panel_swapped(page) -> None:
    expect(page.locator("#case-ok")).to_be_visible()


def test_a_clerk_works_three_cases_with_the_keyboard(cases, make_user, login, page, live_server):
    make_user("wb_clerk", ["clerk"], ["GD-GZ"])
    login(page, "wb_clerk", next_url="/renewals/cases/?queue=unassigned")
    expect(page.locator("#case-table")).to_be_visible()
    screenshot(page, "workbench-queue-clerk")

    # case 1: not reached
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url.endswith(f"/renewals/cases/{cases[0].pk}/")
    page.evaluate("window.__noReload = true")
    page.keyboard.press("a")
    _work_panel_swapped(page)
    expect(page.locator("#case-status-badge")).to_have_attribute("data-status", "waiting_customer")
    assert page.evaluate("window.__noReload") is True  # the panel was replaced, the page not reloaded
    screenshot(page, "workbench-case-after-not-reached")

    # case 2: a promise, its date typed
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url.endswith(f"/renewals/cases/{cases[1].pk}/")
    page.keyboard.press("p")
    promised = business_today() + dt.timedelta(days=3)
    expect(page.locator("#id_promised_on")).to_be_focused()
    page.fill("#id_promised_on", promised.isoformat())
    page.press("#id_promised_on", "Enter")
    _work_panel_swapped(page)
    expect(page.locator("#case-status-badge")).to_have_attribute("data-status", "resolved")

    # case 3: will pay now
    page.locator("body").click(position={"x": 5, "y": 5})
    with page.expect_navigation():
        page.keyboard.press("n")
    assert page.url.endswith(f"/renewals/cases/{cases[2].pk}/")
    page.keyboard.press("w")
    _work_panel_swapped(page)
    screenshot(page, "workbench-case-third")

    attempts = list(ContactAttempt.objects.order_by("id").values_list("case_id", "outcome", "reached"))
    assert attempts == [(cases[0].pk, "no_answer", False), (cases[1].pk, "promise", True),
                        (cases[2].pk, "will_pay_now", True)]
    follow = Case.objects.get(type="promise_follow_up")
    assert (follow.policy_id, follow.promised_on, follow.next_action_on) == (
        cases[1].policy_id, promised, promised + dt.timedelta(days=1))


def test_a_lead_reassigns_one_and_bulk_assigns_ten(cases, make_user, login, page):
    make_user("wb_lead", ["team_lead"], ["GD"])
    clerk = make_user("wb_clerk2", ["clerk"], ["GD-GZ"])
    login(page, "wb_lead", next_url=f"/renewals/cases/{cases[5].pk}/")
    page.select_option("#assign-form select[name=assignee]", str(clerk.pk))
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#case-ok")).to_be_visible()
    assert Case.objects.get(pk=cases[5].pk).assignee == clerk

    page.goto(page.url.split("/renewals/")[0] + "/renewals/cases/?queue=unassigned")
    expect(page.locator("#bulk-assign")).to_be_visible()
    page.select_option("#bulk-assignee", str(clerk.pk))
    page.fill("#bulk-limit", "10")
    screenshot(page, "workbench-lead-bulk-assign", element=page.locator("#bulk-assign"))
    with page.expect_navigation():
        page.click("#bulk-assign-submit")
    expect(page.locator(".alert-success, .alert-info").first).to_be_visible()
    assert Case.objects.filter(assignee=clerk).count() == 11
    # the ten most urgent of the unassigned (the reassigned one was not among them)
    assert set(Case.objects.filter(assignee=clerk).exclude(pk=cases[5].pk).values_list("priority", flat=True)) == {
        100, 99, 98, 97, 96, 94, 93, 92, 91, 90}
    page.goto(page.url.split("/renewals/")[0] + "/")
    expect(page.locator("#workbench-home")).to_be_visible()
    screenshot(page, "workbench-lead-home")
