"""The team leads' template editor: a change is a new version, SMS versions wait for the provider's
approval, the preview renders both languages on a sample policy and writes nothing."""

import pytest

from outreach.models import MessageTemplate
from outreach.tests.conftest import GZ

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(client, make_user, default_templates):
    user = make_user("tl", ["team_lead"], ["GD"])
    client.force_login(user)
    return user


def test_the_list_shows_versions_and_the_approval_state(client, lead):
    page = client.get("/outreach/templates/").content.decode()
    assert 'id="template-list"' in page and 'data-approval="approved"' in page


def test_a_clerk_may_not_edit_templates(client, make_user, default_templates):
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    assert client.get("/outreach/templates/").status_code == 403
    assert client.post("/outreach/templates/email/reminder/", {"body_zh": "x", "body_en": "y"}).status_code == 403


def test_the_preview_renders_both_languages_on_a_sample_policy(client, gz, lead):
    templates = MessageTemplate.objects.count()
    response = client.post("/outreach/templates/email/reminder/preview/", {
        "subject_zh": "{{ policy_no }}提醒", "body_zh": "{{ name }}：请交纳{{ amount }}元",
        "subject_en": "Policy {{ policy_no }}", "body_en": "Dear {{ name }}, {{ amount }} CNY is due",
        "purpose": "service", "sample": GZ}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "8860000000000001提醒" in page and "张*：请交纳300.00元" in page
    assert "Dear 张*, 300.00 CNY is due" in page
    assert MessageTemplate.objects.count() == templates  # nothing written


def test_a_syntax_error_is_shown_in_the_preview(client, lead):
    page = client.post("/outreach/templates/email/reminder/preview/", {
        "body_zh": "{{ name", "body_en": "{% if %}", "purpose": "service"}).content.decode()
    assert "text-danger" in page


def test_saving_makes_new_versions_of_what_changed_only(client, lead):
    zh = MessageTemplate.objects.get(channel="sms", language="zh-hans")
    en = MessageTemplate.objects.get(channel="sms", language="en")
    response = client.post("/outreach/templates/sms/reminder/", {
        "body_zh": "{{ name }}您好，保单{{ policy_no }}请于{{ due_date|date:'Y-m-d' }}前交费。", "body_en": en.body,
        "template_code_zh": "SMS_RD_REMIND2", "template_code_en": en.provider_template_code,
        "sign_name": zh.sign_name, "purpose": "service"})
    assert response.status_code == 302
    new = MessageTemplate.objects.get(channel="sms", language="zh-hans", active=True)
    assert (new.version, new.approval, new.provider_template_code, new.created_by) == (2, "pending", "SMS_RD_REMIND2",
                                                                                       lead)
    assert MessageTemplate.objects.filter(channel="sms", language="en").count() == 1
    # the provider's answer, recorded by the lead
    client.post("/outreach/templates/sms/reminder/approval/", {"version": 2, "language": "zh-hans", "approved": "on"})
    new.refresh_from_db()
    assert new.approval == "approved"


def test_the_edit_page_shows_both_languages(client, gz, lead):
    page = client.get("/outreach/templates/email/reminder/").content.decode()
    assert 'id="template-form"' in page and 'id="preview-zh"' in page and 'id="preview-en"' in page
