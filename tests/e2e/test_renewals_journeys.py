"""The renewals journeys in a real browser, in Chinese (the default) and in English:

1. after the night of 2026-11-25 a team lead opens the nightly operations page and sees the run,
   its steps and the lapse of the Beijing policy; a clerk is refused (403);
2. reinstatement with maker-checker: a Beijing clerk enters an application for the lapsed Beijing
   policy with a "yes" in the health declaration (referred to underwriting), an underwriter
   accepts it, a Beijing team lead approves it; the quote's interest is booked as a charge. The
   clerk has no way to approve it (no menu item, 403 on the page).
3. a hold on collection: the same clerk asks for one on the policy page, the lead approves it.

The pages quote for today's business date, so journey 2 needs today inside the Beijing policy's
reinstatement window. Chinese-mode tests assert Chinese texts when the zh_Hans catalog is
compiled, and structure only when it is not.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from accounts.services import user_set_language
from billing.models import Charge
from conftest import AS_OF, policies_csv
from core.dates import business_today
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.models import Application, Hold, NightlyRun
from renewals.services.pipeline import nightly_run
from renewals.services.reinstatement import reinstatement_quote
from tests.e2e.conftest import screenshot, switch_language, zh_catalog_compiled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NIGHT = dt.date(2026, 11, 25)
BJ_POLICY_NO = "8860000000000002"  # H30, annual 1200.00 due 2026-02-28, 30 days' grace
LAPSE_DATE = dt.date(2026, 3, 31)
WINDOW_END = dt.date(2028, 3, 30)  # lapse date + 2 years - 1 day
LANGUAGES = ["zh-hans", "en"]
# a second Beijing policy, in force and paid to 2027-03-15, for the hold
BJ_SECOND_NO = "8860000000000003"
BJ_SECOND_POLICY = (
    f"{BJ_SECOND_NO},H30,BJ,AG003,赵敏,active,李强,resident_id,110105198505050011,1985-05-05,M,13700001111,,,"
    ",,,2025-03-15,annual,10,1500.00,80000.00,bank_transfer,,,,2027-03-15,in_force,"
)
HOLD_REASON = "客户住院治疗，暂缓催收"
UW_NOTE = "住院一次，已痊愈，同意复效"

TEXTS = {
    "en": {
        "html_lang": "en",
        "operations_title": "Nightly operations",
        "lapse_step": "Lapse after the grace period",
        "finished": "Finished",
        "underwriting_title": "Underwriting queue",
        "approvals_title": "Approvals",
        "enter_reinstatement": "Enter a reinstatement application",
        "referred_message": "referred to underwriting",
        "referred": "Referred to underwriting",
        "accepted": "Accepted by underwriting",
        "approved": "Approved",
        "approved_message": "Approved.",
        "decision_recorded": "Decision recorded.",
        "yes": "Yes",
        "lapsed": "Lapsed",
        "hold_asked": "Hold asked for: a team lead approves it.",
        "awaiting_approval": "Awaiting approval",
    },
    "zh-hans": {
        "html_lang": "zh-CN",
        "operations_title": "夜间批处理",
        "lapse_step": "宽限期满中止",
        "finished": "已完成",
        "underwriting_title": "核保队列",
        "approvals_title": "待审批",
        "enter_reinstatement": "录入复效申请",
        "referred_message": "转核保",
        "referred": "已转核保",
        "accepted": "核保通过",
        "approved": "已审批",
        "approved_message": "已审批。",
        "decision_recorded": "已记录",
        "yes": "是",
        "lapsed": "中止",
        "hold_asked": "已申请暂停催收，待组长审批。",
        "awaiting_approval": "待复核",
    },
}


def check_text(language: str) -> bool:
    return language == "en" or zh_catalog_compiled()


def expect_language(page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", TEXTS[language]["html_lang"])


def run_the_night() -> NightlyRun:
    run = nightly_run(as_of=NIGHT)
    assert run.status == NightlyRun.Status.FINISHED
    policy = Policy.objects.get(policy_no=BJ_POLICY_NO)
    assert (policy.status, policy.lapse_date) == ("lapsed", LAPSE_DATE)
    return run


@pytest.fixture
def night(portfolio):
    """The pipeline of 2026-11-25 over the two-policy portfolio: the Beijing policy lapses."""
    return run_the_night()


@pytest.fixture
def night_with_second_bj_policy(portfolio):
    """The same night with another Beijing policy (in force) in the feed, for the hold."""
    report = policies_import(files=[("policies.csv", policies_csv(BJ_SECOND_POLICY))], as_of=AS_OF)
    assert [f["rejected"] for f in report["files"]] == [0], report
    run_the_night()
    policy = Policy.objects.get(policy_no=BJ_SECOND_NO)
    assert policy.status == "in_force"
    return policy


def nav_link(page, url: str):
    return page.locator(f"nav a.nav-link[href='{url}']")


@pytest.mark.parametrize("language", LANGUAGES)
def test_team_lead_sees_the_nightly_run_and_a_clerk_is_refused(
    language, live_server, night, make_user, new_page, login,
):
    lead = make_user("lead_gd", ["team_lead"], ["GD"])
    make_user("clerk_gz", ["clerk"], ["GD-GZ"])
    t = TEXTS[language]

    page = new_page()
    login(page, "lead_gd")
    expect_language(page, "zh-hans")
    if language == "en":
        switch_language(page, "en")
        lead.refresh_from_db()
        assert lead.language == "en"
    link = nav_link(page, "/renewals/operations/")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    expect(page).to_have_url(f"{live_server.url}/renewals/operations/")
    expect_language(page, language)
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(t["operations_title"])
        expect(page).to_have_title(re.compile(rf"^{t['operations_title']} · "))
        expect(link).to_have_text(t["operations_title"])
    runs = page.locator("main .run")
    expect(runs).to_have_count(1)
    run = page.locator("main .run[data-as-of='2026-11-25']")
    expect(run).to_be_visible()
    expect(run.locator("h2")).to_contain_text("2026-11-25")
    expect(run.locator(".badge")).to_have_class(re.compile(r"\bbg-success\b"))
    expect(run.locator("button", has_text=re.compile("."))).to_have_count(0)  # nothing to resume
    if check_text(language):
        expect(run.locator(".badge")).to_have_text(t["finished"])
    steps = list(night.steps.order_by("position"))
    rows = run.locator("tbody tr")
    expect(rows).to_have_count(len(steps))
    lapse = next(s for s in steps if s.step == "lapse")
    assert lapse.rows == 1  # the Beijing policy, by the rule
    for index, step in enumerate(steps):
        row = rows.nth(index)
        expect(row).to_have_attribute("data-step", step.step)
        expect(row.locator("td").first).not_to_have_text(step.step)  # a label, not the code
        expect(row.locator("td").nth(2)).to_have_text(str(step.rows))
        expect(row.locator("td").nth(3)).to_have_text(str(step.chunks))
        expect(row.locator("td").nth(5)).to_have_text("")  # no errors
        if check_text(language):
            expect(row.locator("td").nth(1)).to_have_text(t["finished"])
    lapse_row = run.locator("tbody tr[data-step='lapse']")
    expect(lapse_row.locator("td").nth(2)).to_have_text("1")
    if check_text(language):
        expect(lapse_row.locator("td").first).to_have_text(t["lapse_step"])
    screenshot(page, f"{language}-ren-1-operations")

    clerk_page = new_page()
    login(clerk_page, "clerk_gz")
    expect(nav_link(clerk_page, "/renewals/operations/")).to_have_count(0)
    response = clerk_page.goto(f"{live_server.url}/renewals/operations/")
    assert response.status == 403
    expect(clerk_page.locator("main .run")).to_have_count(0)


def enter_reinstatement(page, live_server, language: str, quote) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/policies/{BJ_POLICY_NO}/")
    expect_language(page, language)
    expect(page.locator("#policy-no")).to_have_text(BJ_POLICY_NO)
    panel = page.locator("#applications-panel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(f"{quote.total:.2f}")
    expect(panel).to_contain_text(quote.on.isoformat())
    expect(page.locator("#applications")).to_have_count(0)  # nothing entered yet
    if check_text(language):
        expect(page.locator("#policy-status")).to_have_text(t["lapsed"])
    details = page.locator("#reinstatement-form")
    summary = details.locator("summary")
    if check_text(language):
        expect(summary).to_have_text(t["enter_reinstatement"])
    summary.click()
    expect(details).to_have_attribute("open", "")
    form = details.locator("form")
    expect(form.locator("input[name=applied_on]")).to_have_value(business_today().isoformat())
    for question in ("hospitalised", "diagnosed", "under_treatment", "medication", "disability"):
        expect(form.locator(f"input[name={question}][value=no]")).to_be_checked()  # "no" unless changed
    form.locator("input[name=hospitalised][value=yes]").check()
    screenshot(page, f"{language}-ren-2-policy-reinstatement-form")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/policies/{BJ_POLICY_NO}/")
    expect(page.locator("main .alert-info")).to_be_visible()
    rows = page.locator("#applications tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(business_today().isoformat())
    expect(rows.first).to_contain_text("clerk_bj")
    expect(page.locator("#reinstatement-form")).to_have_count(0)  # one open application at a time
    if check_text(language):
        expect(page.locator("main .alert-info")).to_contain_text(t["referred_message"])
        expect(rows.first.locator(".app-status")).to_have_text(t["referred"])
    screenshot(page, f"{language}-ren-3-policy-referred")


def underwriter_accepts(page, live_server, language: str) -> None:
    t = TEXTS[language]
    link = nav_link(page, "/renewals/underwriting/")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    expect_language(page, language)
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(t["underwriting_title"])
        expect(page).to_have_title(re.compile(rf"^{t['underwriting_title']} · "))
    cards = page.locator("main .referred")
    expect(cards).to_have_count(1)
    card = page.locator(f"main .referred[data-policy='{BJ_POLICY_NO}']")
    expect(card).to_contain_text("王芳")
    expect(card).to_contain_text("clerk_bj")
    answers = card.locator("li strong")
    expect(answers).to_have_count(5)
    expect(card.locator("li strong.text-danger")).to_have_count(1)  # the one "yes"
    if check_text(language):
        expect(card.locator("li strong.text-danger")).to_have_text(t["yes"])
    card.locator("textarea[name=note]").fill(UW_NOTE)
    screenshot(page, f"{language}-ren-5-underwriting")
    with page.expect_navigation():
        card.locator("button.accept").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("main .referred")).to_have_count(0)
    if check_text(language):
        expect(page.locator("main .alert-success")).to_contain_text(t["decision_recorded"])


def ask_for_hold(page, live_server, language: str, start: dt.date, end: dt.date) -> None:
    t = TEXTS[language]
    page.goto(f"{live_server.url}/policies/{BJ_SECOND_NO}/")
    expect(page.locator("#policy-no")).to_have_text(BJ_SECOND_NO)
    expect(page.locator("#holds")).to_have_count(0)
    expect(page.locator("#reinstatement-form")).to_have_count(0)  # in force: nothing to reinstate
    details = page.locator("#hold-form")
    details.locator("summary").click()
    form = details.locator("form")
    form.locator("input[name=start]").fill(start.isoformat())
    form.locator("input[name=end]").fill(end.isoformat())
    form.locator("input[name=reason]").fill(HOLD_REASON)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/policies/{BJ_SECOND_NO}/")
    expect(page.locator("main .alert-success")).to_be_visible()
    holds = page.locator("#holds tbody tr")
    expect(holds).to_have_count(1)
    expect(holds.first).to_contain_text(start.isoformat())
    expect(holds.first).to_contain_text(end.isoformat())
    expect(holds.first).to_contain_text(HOLD_REASON)
    if check_text(language):
        expect(page.locator("main .alert-success")).to_have_text(t["hold_asked"])
        expect(holds.first).to_contain_text(t["awaiting_approval"])
    screenshot(page, f"{language}-ren-4-policy-hold-asked")


def lead_approves(page, live_server, language: str, quote) -> None:
    t = TEXTS[language]
    link = nav_link(page, "/renewals/approvals/")
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    expect_language(page, language)
    if check_text(language):
        expect(page.locator("main h1")).to_have_text(t["approvals_title"])
        expect(page).to_have_title(re.compile(rf"^{t['approvals_title']} · "))
    rows = page.locator("#approvals tbody tr")
    expect(rows).to_have_count(1)
    row = page.locator(f"#approvals tbody tr[data-policy='{BJ_POLICY_NO}']")
    expect(row).to_contain_text("王芳")
    expect(row).to_contain_text("clerk_bj")
    expect(row).to_contain_text(f"{quote.total:.2f}")
    if check_text(language):
        expect(row).to_contain_text(t["accepted"])
    hold = page.locator("#suspensions tbody tr", has_text=BJ_SECOND_NO)
    expect(hold).to_have_count(1)
    expect(hold).to_contain_text(HOLD_REASON)
    expect(hold).to_contain_text("clerk_bj")
    screenshot(page, f"{language}-ren-6-approvals")
    with page.expect_navigation():
        row.locator("button.approve").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("#approvals tbody tr[data-policy]")).to_have_count(0)
    if check_text(language):
        expect(page.locator("main .alert-success")).to_have_text(t["approved_message"])
    with page.expect_navigation():
        hold.locator("button[name=decision][value=approve]").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("#suspensions")).to_have_count(0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_reinstatement_and_hold_approved_by_a_second_person(
    language, live_server, night_with_second_bj_policy, make_user, new_page, login,
):
    today = business_today()
    if not LAPSE_DATE <= today <= WINDOW_END:
        pytest.skip(f"the pages quote for today ({today}), which must fall in the Beijing policy's "
                    f"reinstatement window {LAPSE_DATE}..{WINDOW_END}")
    clerk = make_user("clerk_bj", ["clerk"], ["BJ"])
    underwriter = make_user("underwriter_hq", ["underwriter"], ["HQ"])
    lead = make_user("lead_bj", ["team_lead"], ["BJ"])
    if language == "en":  # each user's saved choice, as the language button stores it
        for user in (clerk, underwriter, lead):
            user_set_language(user=user, language="en")
    t = TEXTS[language]
    quote = reinstatement_quote(policy=Policy.objects.get(policy_no=BJ_POLICY_NO), on=today)
    assert quote.lines and quote.interest > 0

    clerk_page = new_page()
    login(clerk_page, "clerk_bj")
    enter_reinstatement(clerk_page, live_server, language, quote)
    application = Application.objects.get(policy__policy_no=BJ_POLICY_NO)
    assert (application.status, application.created_by) == (Application.Status.REFERRED, clerk)
    assert application.details["declaration"] == {"hospitalised": True, "diagnosed": False,
                                                  "under_treatment": False, "medication": False,
                                                  "disability": False}
    # maker-checker: the clerk has no Approvals menu item and the page refuses them
    expect(nav_link(clerk_page, "/renewals/approvals/")).to_have_count(0)
    expect(nav_link(clerk_page, "/renewals/underwriting/")).to_have_count(0)
    assert clerk_page.goto(f"{live_server.url}/renewals/approvals/").status == 403
    # a hold on collection for the other Beijing policy, also for a second person to approve
    hold_start, hold_end = today + dt.timedelta(days=5), today + dt.timedelta(days=14)
    ask_for_hold(clerk_page, live_server, language, hold_start, hold_end)
    hold = Hold.objects.get()
    assert (hold.policy, hold.start, hold.end, hold.status, hold.requested_by) == (
        night_with_second_bj_policy, hold_start, hold_end, "requested", clerk)

    underwriter_page = new_page()
    login(underwriter_page, "underwriter_hq")
    underwriter_accepts(underwriter_page, live_server, language)
    application.refresh_from_db()
    assert (application.status, application.decided_by) == (Application.Status.ACCEPTED, underwriter)
    assert application.details["underwriting_note"] == UW_NOTE

    lead_page = new_page()
    login(lead_page, "lead_bj")
    lead_approves(lead_page, live_server, language, quote)
    application.refresh_from_db()
    assert (application.status, application.approved_by) == (Application.Status.APPROVED, lead)

    # the quote's interest is owed as a charge on the policy (the money panel does not list charges)
    charge = Charge.objects.get(policy__policy_no=BJ_POLICY_NO)
    assert (charge.kind, charge.amount, charge.amount_paid, charge.due_date, charge.cancelled) == (
        Charge.Kind.REINSTATEMENT_INTEREST, quote.interest, 0, today, False)
    assert charge.reference == f"application:{application.pk}"
    assert Policy.objects.get(policy_no=BJ_POLICY_NO).status == "lapsed"  # until the money comes in
    hold.refresh_from_db()
    assert (hold.status, hold.approved_by) == ("approved", lead)

    lead_page.goto(f"{live_server.url}/policies/{BJ_POLICY_NO}/")
    expect_language(lead_page, language)
    rows = lead_page.locator("#applications tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("clerk_bj")
    expect(rows.first).to_contain_text("underwriter_hq")
    expect(rows.first).to_contain_text("lead_bj")
    expect(rows.first.locator(".uw-note")).to_have_text(UW_NOTE)
    expect(lead_page.locator("#money-panel")).to_be_visible()
    if check_text(language):
        expect(rows.first.locator(".app-status")).to_have_text(t["approved"])
    screenshot(lead_page, f"{language}-ren-7-policy-approved")

    # the clerk sees the hold approved on the other policy's page
    clerk_page.goto(f"{live_server.url}/policies/{BJ_SECOND_NO}/")
    expect(clerk_page.locator("#holds tbody tr")).to_have_count(1)
    expect(clerk_page.locator("#holds tbody tr")).to_contain_text("lead_bj")
    if check_text(language):
        expect(clerk_page.locator("#holds tbody tr")).to_contain_text(t["approved"])
