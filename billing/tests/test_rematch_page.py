"""The one-off re-match for finance (issue 9): the page previews which open suspense lines the
current rules would now match, writes nothing on GET, and books the confirmed lines through the
matcher, with the trail."""

import datetime as dt
from decimal import Decimal

import pytest

from audit.models import Operation
from billing.models import Allocation, Assignment, Installment, MatchingRule, Payment, PaymentEvent
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.tests.services.money_data import policies_add

pytestmark = pytest.mark.django_db
D = Decimal
C = "8860000000000003"
DAY = dt.date(2026, 11, 20)
REFERENCE_RULE = "保单号（附言或参考号）"
CSV = ("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
       f"2026-11-20,2500.00,CNY,陈静,,RM-1,保单{C} premium part 1/2\n"
       "2026-11-20,88.00,CNY,李四,6228000000000009,RM-2,不知道是什么钱\n")


@pytest.fixture
def old_rules_left_a_partial_in_suspense(portfolio, make_user, client):
    """Before issue 9 the shipped rules took exact amounts only: the partial transfer stayed in suspense."""
    policies_add(C)
    installments_extend(as_of=DAY)
    MatchingRule.objects.update(accepts_partial=False)
    statement_import(name="old.csv", data=CSV.encode(), format="csv", template="cn-online-banking", as_of=DAY)
    assert list(Payment.objects.order_by("reference").values_list("reference", "status", "reason_code")) == [
        ("RM-1", "suspense", "amount_fits_no_installment"), ("RM-2", "suspense", "no_reference")]
    client.force_login(make_user("fin_rm", ["finance"]))
    return client


def _writes() -> tuple:
    return (PaymentEvent.objects.count(), Assignment.objects.count(), Allocation.objects.count(),
            Operation.objects.filter(action="suspense_rematch").count())


def test_suspense_list_shows_the_reason_in_chinese(old_rules_left_a_partial_in_suspense):
    client = old_rules_left_a_partial_in_suspense
    page = client.get("/billing/suspense/").content.decode()
    assert f"金额 2500.00 与保单 {C} 的任何未缴期次都不符。" in page
    assert "附言中的保单号、登记的付款账号和投保人姓名都未指向任何保单。" in page
    detail = client.get(f"/billing/payments/{Payment.objects.get(reference='RM-1').pk}/").content.decode()
    assert f"金额 2500.00 与保单 {C} 的任何未缴期次都不符。" in detail


def test_preview_lists_what_the_new_rule_matches_and_confirm_books_it(old_rules_left_a_partial_in_suspense):
    client = old_rules_left_a_partial_in_suspense
    assert client.get("/billing/suspense/rematch/").context["candidates"] == []  # the old rules match nothing
    MatchingRule.objects.filter(name=REFERENCE_RULE).update(accepts_partial=True)
    line = Payment.objects.get(reference="RM-1")

    before = _writes()
    response = client.get("/billing/suspense/rematch/")
    assert response.status_code == 200
    assert _writes() == before  # a GET never writes
    [row] = [(c.payment.reference, [(p.policy_no, a) for p, a in c.outcome.splits], c.outcome.rule, c.outcome.status)
             for c in response.context["candidates"]]
    assert row == ("RM-1", [(C, D("2500.00"))], REFERENCE_RULE, "matched")
    page = response.content.decode()
    assert f'data-payment="{line.pk}"' in page and C in page and "2500.00" in page

    response = client.post("/billing/suspense/rematch/", {"payment": [line.pk]})
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.status, line.reason_code) == ("matched", "")
    installment = Installment.objects.get(policy__policy_no=C, sequence=7)
    assert (installment.amount_paid, installment.status) == (D("2500.00"), "partially_paid")
    suspense_page = client.get("/billing/suspense/").content.decode()
    assert f'/billing/payments/{line.pk}/"' not in suspense_page
    assert "不知道是什么钱" in suspense_page  # the hopeless line stays
    # the trail: the operation with its counts, the payment's change under the re-match's job
    operation = Operation.objects.get(action="suspense_rematch")
    assert (operation.actor.username, operation.details) == (
        "fin_rm", {"matched": 1, "proposed": 0, "suspense": 0, "skipped": 0})
    event = PaymentEvent.objects.filter(pgh_obj_id=line.pk, pgh_label="update").latest("pgh_id")
    assert event.pgh_context.metadata["job"].startswith("suspense_rematch:")
    assert event.pgh_context.metadata["username"] == "fin_rm"
    # nothing left for the current rules to match
    assert client.get("/billing/suspense/rematch/").context["candidates"] == []


def test_the_rematch_page_is_finance_only(old_rules_left_a_partial_in_suspense, client, make_user):
    client.force_login(make_user("clerk_rm", ["clerk"], ["GD-GZ"]))
    assert client.get("/billing/suspense/rematch/").status_code == 403
    assert client.post("/billing/suspense/rematch/", {"payment": [1]}).status_code == 403
