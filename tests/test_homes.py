"""Every role starts at its work (issue 12): after sign-in each role lands on its home, a user
with several roles on the first by precedence with links to the others; every page shows the
business date and last night's result."""

import datetime as dt
from decimal import Decimal

import pytest

from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def night(portfolio):
    # GZ: monthly 300.00 due 2026-11-30, last grace day 2027-01-29: overdue in grace on 2027-01-10
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2027, 1, 10))


def test_a_clerk_lands_on_the_overdue_work_of_their_branch(night, make_user, client):
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    response = client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "renewals/home_work.html"
    summary = response.context["summary"]
    assert summary["as_of"] == dt.date(2027, 1, 10)
    assert summary["overdue_policies"] == 1
    assert [i.policy.policy_no for i in summary["work"]] == ["8860000000000001"]
    assert (summary["work"][0].grace_end, summary["work"][0].owed) == (dt.date(2027, 1, 29), Decimal("300.00"))
    assert "approvals" not in summary  # a clerk approves nothing


def test_the_counts_are_last_nights_policies_each_once(portfolio, make_user, client):
    """The counts come from the night's due lists: a policy counts once, by its oldest open premium.
    GZ's 300.00 falls due 2026-11-30, inside 30 days of 2026-11-25; BJ's next annual premium is
    2027-02-28's. By 2027-01-10 GZ owes 2026-11-30 (in grace to 2027-01-29) and 2026-12-31, and
    2027-01-31 comes due: it counts once, as overdue, not among the 30 days' dues."""
    nightly_run(as_of=dt.date(2026, 11, 25))
    gz, bj = make_user("clerk", ["clerk"], ["GD-GZ"]), make_user("clerk_bj", ["clerk"], ["BJ"])
    client.force_login(gz)
    summary = client.get("/").context["summary"]
    assert (summary["due_30"], summary["overdue_policies"], summary["work"]) == (1, 0, [])
    client.force_login(bj)
    assert client.get("/").context["summary"]["due_30"] == 0
    nightly_run(as_of=dt.date(2027, 1, 10))
    client.force_login(gz)
    summary = client.get("/").context["summary"]
    assert (summary["due_30"], summary["overdue_policies"], len(summary["work"])) == (0, 1, 1)


def test_a_premium_paid_today_moves_the_work_list_at_once(night, make_user, client):
    from billing.services.matching import payment_match
    from billing.services.payments import payment_create

    payment, _ = payment_create(source="bank", account_no="A", identity="paid-today", value_date=dt.date(2027, 1, 11),
                                amount=Decimal("300.00"), payer_name="张伟", reference="8860000000000001")
    payment_match(payment=payment, as_of=dt.date(2027, 1, 11))
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    summary = client.get("/").context["summary"]
    # the count is the night's; the list is live: GZ now owes 2026-12-31's 300.00, in grace for 60
    # days to 2027-03-01
    assert summary["overdue_policies"] == 1
    assert [(i.due_date, i.grace_end, i.owed) for i in summary["work"]] == [
        (dt.date(2026, 12, 31), dt.date(2027, 3, 1), Decimal("300.00"))]
    payment, _ = payment_create(source="bank", account_no="A", identity="paid-today-2", value_date=dt.date(2027, 1, 11),
                                amount=Decimal("300.00"), payer_name="张伟", reference="8860000000000001")
    payment_match(payment=payment, as_of=dt.date(2027, 1, 11))
    assert client.get("/").context["summary"]["work"] == []


def test_a_policy_the_feed_moves_today_leaves_the_old_branchs_work_list(night, make_user, client):
    """The work list is within the user's branches as they are now: the night listed GZ's policy
    for Guangzhou, today's feed moves it to Beijing."""
    from conftest import AS_OF, GZ_POLICY, policies_csv
    from policies.services.imports import policies_import

    policies_import(files=[("policies.csv", policies_csv(GZ_POLICY.replace(",GD-GZ,", ",BJ,")))], as_of=AS_OF)
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    summary = client.get("/").context["summary"]
    assert (summary["overdue_policies"], summary["work"]) == (1, [])  # the count is the night's
    # Beijing has it from the next night's list on
    client.force_login(make_user("clerk_bj", ["clerk"], ["BJ"]))
    assert client.get("/").context["summary"]["work"] == []
    nightly_run(as_of=dt.date(2027, 1, 11))
    assert [i.policy.policy_no for i in client.get("/").context["summary"]["work"]] == ["8860000000000001"]


def test_a_clerk_of_another_branch_sees_none_of_it(night, make_user, client):
    client.force_login(make_user("clerk_bj", ["clerk"], ["BJ"]))
    summary = client.get("/").context["summary"]
    assert summary["overdue_policies"] == 0 and summary["work"] == []


def test_a_lead_sees_what_waits_for_approval(night, make_user, client):
    client.force_login(make_user("lead", ["team_lead"], ["GD"]))
    summary = client.get("/").context["summary"]
    assert summary["approvals"] == 0 and summary["overdue_policies"] == 1


def test_finance_lands_on_todays_money_and_the_auditor_on_the_trail(night, make_user, client):
    from billing.services.payments import payment_create

    payment_create(source="bank", account_no="A", identity="home-1", value_date=dt.date(2027, 1, 10),
                   amount=Decimal("88.00"), payer_name="李四")  # matches nothing: suspense
    client.force_login(make_user("finance", ["finance"]))
    response = client.get("/")
    assert response.templates[0].name == "billing/home.html"
    assert (response.context["suspense_lines"], response.context["suspense_amount"]) == (1, Decimal("88.00"))
    client.force_login(make_user("auditor", ["auditor"]))
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/audit/"


def test_several_roles_land_by_precedence_with_links_to_the_others(night, make_user, client):
    client.force_login(make_user("both", ["finance", "clerk"], ["GD-GZ"]))
    response = client.get("/")
    assert response.templates[0].name == "renewals/home_work.html"  # clerk (30) before finance (40)
    assert [str(link["url"]) for link in response.context["other_homes"]] == ["/home/finance/"]
    assert client.get("/home/finance/").templates[0].name == "billing/home.html"
    assert client.get("/home/admin/").status_code == 404  # not one of theirs


def test_the_banner_shows_the_business_date_and_last_nights_result(night, make_user, client):
    client.force_login(make_user("admin", ["admin"]))
    response = client.get("/")
    assert response.templates[0].name == "renewals/home_admin.html"
    html = response.content.decode()
    assert 'id="business-banner"' in html and 'data-run-status="finished"' in html
    assert "2027-01-10" in html
