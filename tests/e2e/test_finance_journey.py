"""The finance journey in a real browser, in Chinese (the default) and in English:

1. a finance user imports a bank CSV (cn-online-banking layout): one line names a policy and pays
   its oldest installment exactly (booked at once), one line names nothing (to suspense);
2. the same user matches the suspense line by hand to the policy; the amount is above the approval
   threshold, so it waits for a second person (maker-checker) and the maker gets no Approve button;
3. a second finance user approves it, and the policy's money panel shows the installments paid and
   both payments.

Expectations come from the data (the installments the schedule made as of the business date),
not from the calendar. Chinese-mode tests assert Chinese texts when the zh_Hans catalog is
compiled, and structure only when it is not.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.services import user_set_language
from billing.models import Assignment, Installment, MatchingRule, Payment
from billing.services.schedules import installments_extend
from billing.tests.factories import MatchingRuleFactory
from core.dates import business_today
from tests.e2e.conftest import screenshot, switch_language, zh_catalog_compiled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY_NO = "8860000000000001"
LANGUAGES = ["zh-hans", "en"]
PREMIUM = Decimal("300.00")
UNKNOWN_AMOUNT = Decimal("1500.00")
CSV_HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要"

TEXTS = {
    "en": {
        "html_lang": "en",
        "imports_title": "Statement import",
        "suspense_title": "Suspense",
        "import_report": "Import report",
        "pending_title": "Matches awaiting a decision",
        "awaits_second": "a second finance user must approve it",
        "awaiting_approval": "Awaiting approval",
        "another_approves": "Another finance user approves",
        "approved": "Approved and allocated.",
        "paid": "Paid",
        "by_hand": "By hand",
    },
    "zh-hans": {
        "html_lang": "zh-CN",
        "imports_title": "流水导入",
        "suspense_title": "暂收挂账",
        "import_report": "导入报告",
        "pending_title": "待决定的匹配",
        "awaits_second": "须由另一位财务人员复核",
        "awaiting_approval": "待复核",
        "another_approves": "需由另一位财务人员复核",
        "approved": "已复核并核销。",
        "paid": "已缴费",
        "by_hand": "人工匹配",
    },
}


def check_text(language: str) -> bool:
    return language == "en" or zh_catalog_compiled()


def expect_language(page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", TEXTS[language]["html_lang"])


def bank_csv(tmp_path, day) -> str:
    """A statement exported from Chinese online banking: one line naming the policy and paying
    its premium exactly, one line from an unknown account naming no policy."""
    rows = [
        CSV_HEADER,
        f"{day:%Y-%m-%d},{PREMIUM},人民币,张伟,6222020200001234,FIN-E2E-0001,保单{POLICY_NO}续期保费",
        f"{day:%Y-%m-%d},{UNKNOWN_AMOUNT},人民币,张伟,6217000011112222,FIN-E2E-0002,转账",
    ]
    path = tmp_path / "bank-statement.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def finance_setup(settings, portfolio):
    """The threshold below the unknown line (set before the live server serves a page), the
    default policy-number rule (transactional flushes delete the migration's rules) and the
    schedules as of the business date."""
    settings.BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD = "1000.00"
    MatchingRule.objects.all().delete()
    MatchingRuleFactory(position=10, reference=True, amount_tolerance=Decimal("0.00"), action=MatchingRule.Action.AUTO)
    today = business_today()
    installments_extend(as_of=today)
    open_installments = list(Installment.objects.filter(policy__policy_no=POLICY_NO, status__in=Installment.OPEN_STATUSES)
                             .order_by("sequence"))
    # the file's 300.00 pays one installment, the 1,500.00 five more: the schedule must hold six
    assert len(open_installments) >= 6, open_installments
    assert {i.amount_due for i in open_installments[:6]} == {PREMIUM}
    return today


def import_statement(page, live_server, language: str, csv_path: str) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/billing/imports/")
    expect_language(page, language)
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(t["imports_title"])
        expect(page.locator("nav")).to_contain_text(t["imports_title"])
        expect(page).to_have_title(re.compile(rf"^{t['imports_title']} · "))
    page.set_input_files("input[name=file]", csv_path)
    page.select_option("select[name=format]", "csv")
    expect(page.locator("select[name=format] option[value=csv]")).to_contain_text("CSV")
    page.select_option("select[name=template]", "cn-online-banking")
    screenshot(page, f"{language}-fin-1-imports")
    with page.expect_navigation():
        page.click("main form[enctype='multipart/form-data'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/billing/imports/\d+/$"))
    report = page.locator("#import-report")
    expect(report).to_be_visible()
    expect(page.locator("#r-lines")).to_have_text("2")
    expect(page.locator("#r-matched")).to_have_text("1")
    expect(page.locator("#r-suspense")).to_have_text("1")
    if check_text(language):
        expect(page.locator("main h1")).to_contain_text(t["import_report"])
    lines = page.locator("main table tbody tr")
    expect(lines).to_have_count(2)
    screenshot(page, f"{language}-fin-2-import-report")


def match_by_hand(page, live_server, language: str) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/billing/suspense/")
    expect_language(page, language)
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(t["suspense_title"])
    rows = page.locator("#suspense-lines tbody tr")
    expect(rows).to_have_count(1)  # the booked line is not in suspense
    expect(rows.first).to_contain_text("1500.00")
    screenshot(page, f"{language}-fin-3-suspense")
    with page.expect_navigation():
        rows.first.locator("a").click()
    expect(page).to_have_url(re.compile(r"/billing/payments/\d+/$"))
    expect(page.locator("#unassigned")).to_have_text("1500.00")
    page.fill("input[name=q]", POLICY_NO)
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    candidates = page.locator("#candidates tbody tr")
    expect(candidates).to_have_count(1)
    expect(candidates.first).to_contain_text(POLICY_NO)
    candidates.first.locator("button.pick").click()
    expect(page.locator("#id_policy_no")).to_have_value(POLICY_NO)
    page.fill("#id_amount", "1500.00")
    screenshot(page, f"{language}-fin-4-payment")
    with page.expect_navigation():
        page.click("#match-form button[type=submit]")
    expect(page.locator("main .alert")).to_be_visible()
    matches = page.locator("#matches tbody tr")
    expect(matches).to_have_count(1)
    expect(matches.first).to_contain_text(POLICY_NO)
    expect(matches.first).to_contain_text("1500.00")
    expect(page.locator("#unassigned")).to_have_text("0.00")
    if check_text(language):
        expect(page.locator("main .alert")).to_contain_text(t["awaits_second"])
        expect(matches.first).to_contain_text(t["awaiting_approval"])
    screenshot(page, f"{language}-fin-5-payment-matched")


def expect_pending_without_approve(page, live_server, language: str) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/billing/suspense/")
    pending = page.locator("#pending tbody tr")
    expect(pending).to_have_count(1)
    expect(pending.first).to_contain_text(POLICY_NO)
    expect(pending.first).to_contain_text("1500.00")
    expect(page.locator("#pending button.approve")).to_have_count(0)  # maker-checker: not the maker
    if check_text(language):
        expect(page.locator("#pending")).to_contain_text(t["pending_title"])
        expect(pending.first).to_contain_text(t["another_approves"])
    screenshot(page, f"{language}-fin-6-suspense-pending-maker")


def approve(page, live_server, language: str) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/billing/suspense/")
    expect_language(page, language)
    pending = page.locator("#pending tbody tr")
    expect(pending).to_have_count(1)
    if check_text(language):
        expect(page.locator("#pending")).to_contain_text(t["pending_title"])
    screenshot(page, f"{language}-fin-7-suspense-pending-checker")
    with page.expect_navigation():
        pending.first.locator("button.approve").click()
    expect(page.locator("#pending")).to_have_count(0)
    if check_text(language):
        expect(page.locator("main .alert")).to_contain_text(t["approved"])
    screenshot(page, f"{language}-fin-8-approved")


def expect_money_panel(page, live_server, language: str) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/policies/{POLICY_NO}/")
    expect_language(page, language)
    panel = page.locator("#money-panel")
    expect(panel).to_be_visible()
    installments = list(Installment.objects.filter(policy__policy_no=POLICY_NO).order_by("sequence"))
    # the oldest open installments were the first due on or after the paid-to date: six of 300.00
    paid = [i for i in installments if i.status == Installment.Status.PAID]
    assert [i.amount_paid for i in paid] == [PREMIUM] * 6
    assert paid == installments[:6]
    rows = panel.locator("#installments tbody tr")
    expect(rows).to_have_count(len(installments))
    for index, installment in enumerate(installments):
        row = rows.nth(index)
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(str(installment.sequence))
        expect(cells.nth(1)).to_have_text(installment.due_date.isoformat())
        status_cell = cells.nth(5)
        if index < 6:
            expect(row).to_have_class(re.compile(r"\binstallment-paid\b"))
            expect(cells.nth(4)).to_have_text("300.00")
            if check_text(language):
                expect(status_cell).to_have_text(t["paid"])
        else:
            expect(row).not_to_have_class(re.compile(r"\binstallment-paid\b"))
            expect(cells.nth(4)).to_have_text("0.00")
            if check_text(language):
                expect(status_cell).not_to_have_text(t["paid"])
    payments = panel.locator("#payments tbody tr")
    expect(payments).to_have_count(2)
    expect(payments.filter(has_text="1500.00")).to_have_count(1)
    expect(payments.filter(has_text="300.00")).to_have_count(1)
    manual = payments.filter(has_text="1500.00")
    expect(manual).to_contain_text("finance_hq")
    expect(manual).to_contain_text("finance_hq2")
    if check_text(language):
        expect(manual).to_contain_text(t["by_hand"])
    screenshot(page, f"{language}-fin-9-policy-money")


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_imports_matches_by_hand_and_a_second_person_approves(
    language, live_server, finance_setup, make_user, new_page, login, tmp_path,
):
    maker = make_user("finance_hq", ["finance"], ["HQ"])
    checker = make_user("finance_hq2", ["finance"], ["HQ"])
    if language == "en":
        user_set_language(user=checker, language="en")  # the second user's saved choice
    csv_path = bank_csv(tmp_path, finance_setup)

    maker_page = new_page()
    login(maker_page, "finance_hq")
    expect_language(maker_page, "zh-hans")
    if language == "en":
        switch_language(maker_page, "en")
        maker.refresh_from_db()
        assert maker.language == "en"
    import_statement(maker_page, live_server, language, csv_path)
    match_by_hand(maker_page, live_server, language)
    assignment = Assignment.objects.get(payment__amount=UNKNOWN_AMOUNT)
    assert assignment.status == Assignment.Status.PENDING_APPROVAL
    assert assignment.matched_by == maker
    # nothing is allocated before the second person approves
    assert Installment.objects.filter(policy__policy_no=POLICY_NO, status=Installment.Status.PAID).count() == 1
    expect_pending_without_approve(maker_page, live_server, language)

    checker_page = new_page()
    login(checker_page, "finance_hq2")
    approve(checker_page, live_server, language)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.CONFIRMED
    assert assignment.approved_by == checker
    assert Payment.objects.get(amount=UNKNOWN_AMOUNT).status == Payment.Status.MATCHED
    expect_money_panel(checker_page, live_server, language)


# Raw codes that must not reach a person on the finance pages (each page shows labels).
RAW_CODES = {
    "imports": ["csv"],
    "reconciliation": ["bank"],
    "debits": ["open"],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_pages_show_labels_in_the_users_language(
    language, live_server, finance_setup, make_user, page, login, tmp_path,
):
    """Every finance page with data on it: the import list, the auto-debit batches, the day's
    reconciliation and the matching rules; labels rather than codes, and screenshots of each."""
    from billing.services.debits import debit_batch_create
    from billing.services.statements import statement_import

    user = make_user("finance_hq", ["finance"], ["HQ"])
    if language == "en":
        user_set_language(user=user, language="en")
    today = finance_setup
    with open(bank_csv(tmp_path, today), "rb") as handle:
        statement_import(name="bank-statement.csv", data=handle.read(), format="csv", template="cn-online-banking",
                         actor=user, as_of=today)
    first_open = (Installment.objects.filter(policy__policy_no=POLICY_NO, status__in=Installment.OPEN_STATUSES)
                  .order_by("sequence").first())
    batch = debit_batch_create(collection_date=first_open.due_date, actor=user)
    assert batch.line_count == 1

    login(page, "finance_hq")
    expect_language(page, language)
    label = {"en": {"csv": "Bank CSV", "bank": "Bank statement", "open": "Created"},
             "zh-hans": {"csv": "银行 CSV", "bank": "银行流水", "open": "新建"}}[language]

    page.goto(f"{live_server.url}/billing/imports/")
    imports = page.locator("#imports tbody tr")
    expect(imports).to_have_count(1)
    format_cell = imports.first.locator("td").nth(2)
    if check_text(language):
        expect(format_cell).to_contain_text(label["csv"])
    expect(format_cell).not_to_have_text("csv")
    screenshot(page, f"{language}-fin-10-imports-list")

    page.goto(f"{live_server.url}/billing/debits/")
    batches = page.locator("#batches tbody tr")
    expect(batches).to_have_count(1)
    expect(batches.first).to_contain_text(batch.reference)
    status_cell = batches.first.locator("td").nth(4)
    if check_text(language):
        expect(status_cell).to_have_text(label["open"])
    expect(status_cell).not_to_have_text("open")
    screenshot(page, f"{language}-fin-11-debits")

    page.goto(f"{live_server.url}/billing/reconciliation/?day={today.isoformat()}")
    groups = page.locator("#recon-summary tbody tr")
    expect(groups).to_have_count(1)
    source_cell = groups.first.locator("td").first
    if check_text(language):
        expect(source_cell).to_have_text(label["bank"])
    expect(source_cell).not_to_have_text("bank")
    expect(groups.first.locator("td").nth(4)).to_have_text("1800.00")  # received
    screenshot(page, f"{language}-fin-12-reconciliation")

    # the finance dashboard: its last seven days' reconciliation arrives after the page (htmx)
    page.goto(f"{live_server.url}/reporting/finance/?from={today.replace(day=1).isoformat()}&to={today.isoformat()}")
    days = page.locator("#reconciliation tbody tr")
    expect(days).to_have_count(7)
    expect(days.first.locator("td").nth(2)).to_have_text("1800.00")  # today's money, received
    screenshot(page, f"{language}-fin-12b-finance-dashboard")

    page.goto(f"{live_server.url}/billing/rules/")
    rules = page.locator("#rules tbody tr")
    expect(rules).to_have_count(1)
    expect(rules.first).to_contain_text("保单号")
    screenshot(page, f"{language}-fin-13-rules")
    with page.expect_navigation():
        rules.first.locator("a").click()
    expect(page.locator("input[name=name]")).to_have_value("保单号")
    screenshot(page, f"{language}-fin-14-rule-edit")

    # empty states: a day without money, a filter that finds nothing
    page.goto(f"{live_server.url}/billing/reconciliation/?day=2001-01-01")
    expect(page.locator("#recon-summary tbody tr")).to_have_count(1)
    expect(page.locator("#recon-summary tbody td")).to_have_count(1)
    screenshot(page, f"{language}-fin-15-reconciliation-empty")
