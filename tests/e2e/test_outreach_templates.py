"""A team lead edits the e-mail reminder in a real browser and previews it, live (HTMX), on a
sample policy in Chinese and in English; saving makes new versions of what changed."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from billing.services.schedules import installments_extend_chunk
from outreach.models import MessageTemplate
from outreach.templates_default import DEFAULTS
from tests.e2e.conftest import screenshot, switch_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GZ_NO = "8860000000000001"  # 张伟, monthly 300.00


def _shipped_templates():
    for row in DEFAULTS:  # a transactional test's flush removed the migration's rows
        MessageTemplate.objects.get_or_create(channel=row["channel"], kind="reminder", language=row["language"],
                                              version=1, defaults={**row, "active": True})
    MessageTemplate.objects.filter(channel="sms").update(approval=MessageTemplate.Approval.APPROVED)


def test_a_team_lead_edits_a_template_and_previews_it_in_both_languages(live_server, portfolio, make_user, new_page,
                                                                        login):
    _shipped_templates()
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=1, id_to=10**9)  # k82 due 2026-11-30
    make_user("lead_gd", ["team_lead"], ["GD"])
    page = new_page()
    login(page, "lead_gd")
    page.goto(f"{live_server.url}/outreach/templates/")
    expect(page.locator("#template-list tr[data-channel='sms'] [data-approval='approved']").first).to_be_visible()
    screenshot(page, "outreach-templates-1-list")
    with page.expect_navigation():
        page.locator("#template-list tr[data-channel='email'] a.btn").click()

    form = page.locator("#template-form")
    form.locator("input[name=sample]").fill(GZ_NO)
    with page.expect_response(lambda r: "/preview/" in r.url):
        form.locator("textarea[name=body_zh]").fill("{{ name }}您好：保单{{ policy_no }}应交{{ amount }}元，"
                                                    "宽限期至{{ grace_end|date:'Y-m-d' }}。")
    expect(page.locator("#preview-zh .preview-body")).to_have_text(
        "张*您好：保单8860000000000001应交300.00元，宽限期至2027-01-29。")
    with page.expect_response(lambda r: "/preview/" in r.url):
        form.locator("textarea[name=body_en]").fill("Dear {{ name }}, {{ amount }} CNY is due for policy "
                                                    "{{ policy_no }}.")
    expect(page.locator("#preview-en .preview-body")).to_have_text(
        "Dear 张*, 300.00 CNY is due for policy 8860000000000001.")
    expect(page.locator("#preview-zh .preview-subject")).to_have_text(f"保单{GZ_NO}续期保费提醒")
    screenshot(page, "outreach-templates-2-preview-both-languages", element=page.locator("#template-preview"))

    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("main .alert-success")).to_be_visible()
    screenshot(page, "outreach-templates-3-saved")
    assert sorted(MessageTemplate.objects.filter(channel="email", active=True).values_list("language", "version")) == [
        ("en", 2), ("zh-hans", 2)]

    # the same editor with the interface in English: the new versions, previewed in both languages
    with page.expect_navigation():
        page.locator("#template-list tr[data-channel='email'] a.btn").click()
    switch_language(page, "en")
    expect(page.locator("main h1")).to_contain_text("Edit message template")
    expect(page.locator("#preview-en .preview-body")).to_contain_text("300.00 CNY is due for policy")
    expect(page.locator("#preview-zh .preview-body")).to_contain_text("应交300.00元")
    screenshot(page, "outreach-templates-4-editor-in-english")
