"""The finance pages answer, check permissions, and do what their forms say."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Assignment, MatchingRule, Payment
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from conftest import AS_OF

pytestmark = pytest.mark.django_db

PAGES = ["/billing/imports/", "/billing/suspense/", "/billing/debits/", "/billing/reconciliation/", "/billing/rules/"]


@pytest.fixture
def finance(make_user, portfolio, client):
    installments_extend(as_of=AS_OF)
    user = make_user("fin_a", ["finance"])
    client.force_login(user)
    return user


@pytest.mark.parametrize("url", PAGES)
def test_finance_pages_answer_for_finance_and_refuse_a_clerk(url, finance, client, make_user):
    assert client.get(url).status_code == 200
    client.force_login(make_user("clerk_x", ["clerk"], ["GD-GZ"]))
    assert client.get(url).status_code == 403


def test_matching_rule_form_names_a_bad_regular_expression_beside_the_field(finance, client):
    response = client.post("/billing/rules/", {"position": 5, "name": "broken", "active": "on", "kind": "reference",
                                               "pattern": "([0-9]{16}", "window_days": 30, "action": "auto"})
    assert response.status_code == 200
    assert "Not a valid regular expression" in response.content.decode() or "正则" in response.content.decode()
    assert not MatchingRule.objects.filter(name="broken").exists()


def test_matching_rule_form_shows_other_amounts_with_its_help_and_refuses_it_for_the_payer_name(finance, client):
    page = client.get("/billing/rules/").content.decode()
    assert 'name="accepts_partial"' in page
    assert "12" in page and ("partial payment" in page or "部分缴费" in page)  # the help text
    data = {"position": 40, "name": "by name", "active": "on", "kind": "payer_name", "window_days": 30,
            "action": "propose", "accepts_partial": "on", "amount_tolerance": "0.00"}
    response = client.post("/billing/rules/", data)
    assert response.status_code == 200 and not MatchingRule.objects.filter(name="by name").exists()
    response = client.post("/billing/rules/", {**data, "kind": "payer_account"})
    assert response.status_code == 302
    assert MatchingRule.objects.get(name="by name").accepts_partial is True


def test_manual_match_from_the_payment_page_and_approval_by_a_second_user(finance, client, make_user, settings):
    settings.BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD = "100.00"
    payment, _ = payment_create(source="bank", account_no="A", identity="p1", value_date=dt.date(2026, 11, 28),
                                amount=Decimal("300.00"), payer_name="张先生")
    page = client.get(f"/billing/payments/{payment.pk}/?q=8860000000000001").content.decode()
    assert "8860000000000001" in page
    response = client.post(f"/billing/payments/{payment.pk}/", {"policy_no": "8860000000000001", "amount": "300.00"})
    assert response.status_code == 302
    assignment = Assignment.objects.get(payment=payment)
    assert assignment.status == "pending_approval"
    # the maker cannot approve their own match
    client.post(f"/billing/matches/{assignment.pk}/approve/")
    assignment.refresh_from_db()
    assert assignment.status == "pending_approval"
    client.force_login(make_user("fin_b", ["finance"]))
    client.post(f"/billing/matches/{assignment.pk}/approve/")
    assignment.refresh_from_db()
    payment.refresh_from_db()
    assert (assignment.status, payment.status) == ("confirmed", Payment.Status.MATCHED)


def test_payment_page_search_by_one_character_of_a_name_says_why_it_finds_nothing(finance, client):
    payment, _ = payment_create(source="bank", account_no="A", identity="p2", value_date=dt.date(2026, 11, 28),
                                amount=Decimal("300.00"), payer_name="张先生")
    page = client.get(f"/billing/payments/{payment.pk}/", {"q": "张"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="search-error"' in html and "请输入姓名的前 2 个字或更多。" in html
    assert 'id="candidates"' not in html


def test_debit_batch_created_and_exported_from_the_page(finance, client):
    response = client.post("/billing/debits/", {"collection_date": "2026-11-30"})
    assert response.status_code == 302
    from billing.models import DebitBatch
    batch = DebitBatch.objects.get()
    xml = client.get(f"/billing/debits/{batch.pk}/pain008/")
    assert xml.status_code == 200 and b"<CtrlSum>300.00</CtrlSum>" in xml.content
    batch.refresh_from_db()
    assert batch.status == "open"  # a download (GET) changes nothing
    assert client.post(f"/billing/debits/{batch.pk}/sent/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == "exported"


def test_reconciliation_exports(finance, client):
    response = client.get("/billing/reconciliation/?day=2026-11-28&export=xlsx")
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_the_reconciliation_page_sums_in_the_database_and_pages_the_open_lines(finance, client):
    """55 lines of 10.00 that match nothing, one of 300.00 paying GZ's installment: one group of 56
    lines, 850.00 received, 300.00 allocated, 550.00 in suspense; the open lines 50 to a page."""
    from billing.services.matching import payment_match

    day = dt.date(2026, 11, 28)
    for n in range(55):
        payment_create(source="bank", account_no="6222020200000000001", identity=f"open-{n:02d}", value_date=day,
                       amount=Decimal("10.00"), payer_name=f"付款人{n:02d}")
    paid, _ = payment_create(source="bank", account_no="6222020200000000001", identity="paid", value_date=day,
                             amount=Decimal("300.00"), remittance="保单8860000000000001续期")
    payment_match(payment=paid, as_of=AS_OF)
    first = client.get("/billing/reconciliation/?day=2026-11-28")
    [group] = first.context["recon"]["groups"]
    assert (group["lines"], group["received"], group["allocated"], group["suspense"],
            group["difference"]) == (56, Decimal("850.00"), Decimal("300.00"), Decimal("550.00"), Decimal("0.00"))
    assert (first.context["page"].paginator.count, len(first.context["page"])) == (55, 50)
    second = client.get("/billing/reconciliation/?day=2026-11-28&page=2")
    assert [line.payer_name for line in second.context["page"]] == [f"付款人{n:02d}" for n in range(50, 55)]
    assert "第 2 页，共 2 页" in second.content.decode()
    # the sums are kept until the money changes: a late line of the day shows at once
    payment_create(source="bank", account_no="6222020200000000001", identity="late", value_date=day,
                   amount=Decimal("5.00"), payer_name="付款人99")
    again = client.get("/billing/reconciliation/?day=2026-11-28")
    [group] = again.context["recon"]["groups"]
    assert (group["lines"], group["received"], group["suspense"]) == (57, Decimal("855.00"), Decimal("555.00"))
    assert again.context["page"].paginator.count == 56
