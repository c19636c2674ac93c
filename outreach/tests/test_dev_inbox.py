"""bin/dev's local servers: the fake gateway and the SMTP server write what they receive to the
inbox file, and the staff page shows it."""

import pytest

from outreach.dev_inbox import inbox_append, inbox_read
from outreach.services.dispatch import contacts_dispatch
from outreach.tests.conftest import at, plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(settings, tmp_path):
    settings.OUTREACH_DEV_INBOX = str(tmp_path / "inbox.jsonl")


def test_the_fake_gateway_writes_what_it_receives_to_the_inbox(gz, sms_gateway, default_templates, inbox):
    sms_gateway.on_message = lambda m: inbox_append({"channel": "sms", "to": m["phone"], "sign_name": m["sign_name"],
                                                     "template_code": m["template_code"], "params": m["params"]})
    plan({"code": "T+1", "channel": "sms"})
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    [entry] = inbox_read()
    assert (entry["channel"], entry["to"], entry["params"]["policy_no"]) == ("sms", "13812345678", "8860000000000001")


def test_the_staff_page_shows_the_inbox_masked(client, make_user, inbox):
    inbox_append({"channel": "email", "to": "zhang@example.cn", "subject": "保单提醒", "body": "您好"})
    inbox_append({"channel": "sms", "to": "13812345678", "sign_name": "续期示范人寿", "template_code": "SMS_RD_REMIND",
                  "params": {"amount": "300.00"}})
    admin = make_user("root", ["admin"])
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    client.force_login(admin)
    page = client.get("/outreach/dev-inbox/").content.decode()
    assert "138****5678" in page and "z***@example.cn" in page and "保单提醒" in page
    assert "13812345678" not in page


def test_only_staff_who_configure_the_system_see_it(client, make_user, inbox):
    client.force_login(make_user("tl", ["team_lead"]))
    assert client.get("/outreach/dev-inbox/").status_code == 403


def test_each_message_is_labelled_by_its_channel_in_chinese(client, make_user, inbox):
    # given one message of each channel the local fakes of bin/dev receive
    inbox_append({"channel": "email", "to": "zhang@example.cn", "subject": "保单提醒", "body": "您好"})
    inbox_append({"channel": "sms", "to": "13812345678", "sign_name": "续期示范人寿", "template_code": "SMS_RD_REMIND",
                  "params": {"amount": "300.00"}})
    inbox_append({"channel": "phone", "to": "13987654321", "template_code": "TTS_RD_OVERDUE",
                  "params": {"amount": "120.00"}, "biz_id": "1234^00000001"})
    inbox_append({"channel": "wechat", "to": "oGZ-openid-0001", "template_code": "RD_RENEWAL_REMINDER",
                  "params": {"keyword1": "8860000000000001"}, "biz_id": "1"})
    inbox_append({"channel": "app", "to": "cid-gz-0001", "subject": "续期保费提醒", "body": "张伟您好", "biz_id": "t1"})
    admin = make_user("root", ["admin"])
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    client.force_login(admin)
    # when the staff page is read (Chinese by default)
    page = client.get("/outreach/dev-inbox/").content.decode()
    # then each row names its own channel, and every address is masked
    import re

    rows = re.findall(r'<tr data-channel="(\w+)">\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>',
                      page)
    assert rows == [("app", "App 推送", "cid-***"), ("wechat", "微信", "oGZ-***"),
                    ("phone", "机器人外呼", "139****4321"), ("sms", "短信", "138****5678"),
                    ("email", "电子邮箱", "z***@example.cn")]
    assert "13987654321" not in page and "oGZ-openid-0001" not in page and "cid-gz-0001" not in page
