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
