"""The policy journeys in a real browser, in Chinese (the default) and in English:

1. a Guangzhou clerk signs in, searches a policy, opens it;
2. the clerk reveals the holder's phone; an auditor finds the reveal in the audit trail and on
   the policy page;
3. a Beijing clerk opening the Guangzhou policy gets the 404 page (and the attempt is trailed).

Chinese-mode tests assert Chinese texts when the zh_Hans catalog is compiled (bin/test compiles
it), and structure only (html lang, ids, the language button) when it is not.
"""

import re

import pytest
from pghistory.models import Events
from playwright.sync_api import expect

from accounts.services import user_set_language
from tests.e2e.conftest import screenshot, switch_language, zh_catalog_compiled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GZ_POLICY_NO = "8860000000000001"
LANGUAGES = ["zh-hans", "en"]

# Visible texts per language. English comes from the templates; Chinese from locale/zh_Hans.
TEXTS = {
    "en": {
        "html_lang": "en",
        "switch_button": "中文",
        "search_title": "Policy search",
        "policy": "Policy",
        "in_force": "In force",
        "reveal": "Reveal",
        "trail_title": "Audit trail",
        "action_reveal": "Reveal",
        "object_customer": "Customer",
        "field_holder_phone": "Policyholder · Mobile phone",
        "not_found": "Not found",
        "sign_out": "Sign out",
    },
    "zh-hans": {
        "html_lang": "zh-CN",
        "switch_button": "English",
        "search_title": "保单查询",
        "policy": "保单",
        "in_force": "有效",
        "reveal": "查看明文",
        "trail_title": "操作轨迹",
        "action_reveal": "查看明文",
        "object_customer": "客户",
        "field_holder_phone": "投保人 · 手机号",
        "not_found": "未找到",
        "sign_out": "退出",
    },
}


def texts(language: str) -> dict[str, str]:
    return TEXTS[language]


def check_text(language: str) -> bool:
    """Whether visible texts can be asserted in this language (English always; Chinese once the
    catalog is compiled)."""
    return language == "en" or zh_catalog_compiled()


def expect_language(page, language: str) -> None:
    t = texts(language)
    expect(page.locator("html")).to_have_attribute("lang", t["html_lang"])
    # the language button offers the other language
    expect(page.locator("#language-switch button[name=language]")).to_have_text(t["switch_button"])


def open_policy_from_search(page, live_server, language: str) -> None:
    t = texts(language)
    page.goto(f"{live_server.url}/policies/")
    expect_language(page, language)
    if check_text(language):
        expect(page).to_have_title(re.compile(rf"^{t['search_title']} · "))
        expect(page.locator("main h1")).to_have_text(t["search_title"])
    page.fill("input[name=q]", GZ_POLICY_NO)
    page.press("input[name=q]", "Enter")  # htmx swaps #results and pushes the URL
    link = page.locator(f"#results a[href='/policies/{GZ_POLICY_NO}/']")
    expect(link).to_have_text(GZ_POLICY_NO)
    row = page.locator("#results tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("张伟")
    expect(row).to_contain_text("110105********002X")
    expect(row).not_to_contain_text("11010519491231002X")
    expect(page).to_have_url(re.compile(rf"/policies/\?q={GZ_POLICY_NO}$"))
    screenshot(page, f"{language}-1-search")
    with page.expect_navigation() as navigation:
        link.click()
    assert navigation.value.status == 200
    expect(page).to_have_url(f"{live_server.url}/policies/{GZ_POLICY_NO}/")


def expect_policy_page(page, language: str) -> None:
    t = texts(language)
    expect_language(page, language)
    expect(page.locator("#policy-no")).to_have_text(GZ_POLICY_NO)
    expect(page.locator("#policy-status")).to_be_visible()
    expect(page.locator("#holder_id_no")).to_have_text("110105********002X")
    expect(page.locator("#holder_phone")).to_have_text("138****5678")
    expect(page.locator("#bank_account")).to_have_text("****1234")
    expect(page.locator("main")).not_to_contain_text("11010519491231002X")
    expect(page.locator("main")).not_to_contain_text("13812345678")
    history = page.locator("#status-history")
    expect(history).to_be_visible()
    expect(history.locator("tbody tr").first).to_contain_text("2020-01-31")
    if check_text(language):
        expect(page.locator("main h1")).to_contain_text(t["policy"])
        expect(page.locator("#policy-status")).to_have_text(t["in_force"])
        expect(history.locator("tbody tr").first).to_contain_text(t["in_force"])
        expect(page.locator(".reveal[data-field=holder_phone]")).to_contain_text(t["reveal"])


def expect_reveal_buttons(page, fields: list[str]) -> None:
    """Only the fields the user's role may reveal have a Reveal button."""
    expect(page.locator(".reveal")).to_have_count(len(fields))
    for field in fields:
        expect(page.locator(f".reveal[data-field={field}]")).to_be_visible()


def reveal_holder_phone(page) -> None:
    with page.expect_response(lambda r: r.url.endswith("/reveal/holder_phone/")) as reveal:
        page.click(".reveal[data-field=holder_phone]")
    assert reveal.value.status == 200
    expect(page.locator("#holder_phone")).to_have_text("13812345678")
    expect(page.locator("#holder_phone .revealed")).to_have_attribute("data-field", "holder_phone")
    # the other fields stay masked
    expect(page.locator("#holder_id_no")).to_have_text("110105********002X")
    expect(page.locator("#bank_account")).to_have_text("****1234")


def expect_reveal_row(row, language: str) -> None:
    t = texts(language)
    expect(row).to_have_attribute("data-action", "reveal")
    expect(row).to_have_attribute("data-model", "policies.Customer")
    expect(row).to_contain_text("clerk_gz")
    expect(row).to_contain_text(GZ_POLICY_NO)
    expect(row.locator("[data-field=holder_phone]")).to_be_visible()
    expect(row).not_to_contain_text("13812345678")
    if check_text(language):
        expect(row.locator("td").nth(3)).to_have_text(t["action_reveal"])
        expect(row.locator("td").nth(4)).to_contain_text(t["object_customer"])
        expect(row.locator("td").nth(5)).to_have_text(t["field_holder_phone"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_clerk_searches_and_opens_a_policy(language, live_server, portfolio, make_user, page, login):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    login(page, "clerk_gz", screenshot_as=f"{language}-0-login")
    expect_language(page, "zh-hans")  # Chinese by default, whatever the browser's locale
    if language == "en":
        switch_language(page, "en")  # the button in the top bar
        clerk.refresh_from_db()
        assert clerk.language == "en"  # remembered for the user, not only in a cookie
    if check_text(language):
        expect(page.locator("nav")).to_contain_text(texts(language)["sign_out"])
    open_policy_from_search(page, live_server, language)
    expect_policy_page(page, language)
    expect_reveal_buttons(page, ["holder_phone"])  # a clerk may reveal phones, not IDs or accounts
    screenshot(page, f"{language}-2-policy")


@pytest.mark.parametrize("language", LANGUAGES)
def test_clerk_reveals_phone_and_auditor_sees_it(language, live_server, portfolio, make_user, new_page, login):
    clerk = make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    auditor = make_user("auditor_hq", ["auditor"], ["HQ"])
    if language == "en":  # the saved choice of each user, as the language button stores it
        user_set_language(user=clerk, language="en")
        user_set_language(user=auditor, language="en")
    t = texts(language)

    clerk_page = new_page()
    login(clerk_page, "clerk_gz", next_url=f"/policies/{GZ_POLICY_NO}/")
    expect_policy_page(clerk_page, language)
    reveal_holder_phone(clerk_page)
    screenshot(clerk_page, f"{language}-3-policy-revealed")

    auditor_page = new_page()
    login(auditor_page, "auditor_hq")
    auditor_page.goto(f"{live_server.url}/audit/")
    expect_language(auditor_page, language)
    if check_text(language):
        expect(auditor_page.locator("main h1")).to_have_text(t["trail_title"])
        expect(auditor_page.locator("nav")).to_contain_text(t["trail_title"])
    auditor_page.select_option("select[name=action]", "reveal")
    with auditor_page.expect_navigation():
        auditor_page.click("main form button[type=submit]")
    expect(auditor_page).to_have_url(re.compile(r"/audit/\?.*action=reveal"))
    rows = auditor_page.locator("table.trail tbody tr")
    expect(rows).to_have_count(1)
    expect_reveal_row(rows.first, language)
    screenshot(auditor_page, f"{language}-4-audit-trail")

    auditor_page.goto(f"{live_server.url}/policies/{GZ_POLICY_NO}/")
    expect_policy_page(auditor_page, language)
    expect_reveal_buttons(auditor_page, ["holder_id_no", "holder_phone", "bank_account"])
    trail_rows = auditor_page.locator("table.trail tbody tr").filter(has_text="clerk_gz")
    expect(trail_rows).to_have_count(1)
    expect_reveal_row(trail_rows.first, language)
    if check_text(language):
        expect(auditor_page.locator("main")).to_contain_text(t["trail_title"])
    screenshot(auditor_page, f"{language}-5-policy-auditor")


@pytest.mark.parametrize("language", LANGUAGES)
def test_clerk_of_another_branch_gets_404(language, live_server, portfolio, make_user, page, login):
    make_user("clerk_bj", ["clerk"], ["BJ"])
    login(page, "clerk_bj")
    if language == "en":
        switch_language(page, "en")
    response = page.goto(f"{live_server.url}/policies/{GZ_POLICY_NO}/")
    assert response.status == 404
    expect_language(page, language)
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("#policy-no")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("张伟")
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(texts(language)["not_found"])
        expect(page).to_have_title(re.compile(rf"^{texts(language)['not_found']} · "))
    screenshot(page, f"{language}-6-not-found")
    # the same answer as a policy that does not exist
    assert page.goto(f"{live_server.url}/policies/8860000000009999/").status == 404
    # the refused attempt on the existing policy is in the trail (the missing one has nothing to trail)
    denied = Events.objects.filter(pgh_label="access_denied", pgh_context__username="clerk_bj")
    assert [e.pgh_obj_model for e in denied] == ["policies.Policy"]
