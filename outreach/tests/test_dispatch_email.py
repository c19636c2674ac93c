"""The dispatcher sends e-mail for real, through Django's SMTP backend to a local SMTP server
(aiosmtpd), once: run twice, by two workers at once, or across an outage."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from billing.services.statements import statement_import
from outreach.models import PlannedContact
from outreach.services.dispatch import contacts_dispatch
from outreach.services.templates import template_create
from outreach.tests.conftest import GZ, at, plan

EMAIL_STEP = {"code": "T+1", "channel": "email"}  # 张伟 <zhang@example.cn>; k82: 300.00 due 2026-11-30


@pytest.mark.django_db
def test_an_email_goes_at_eight_once_with_its_template_version(gz, smtp_server, default_templates):
    plan(EMAIL_STEP)
    assert contacts_dispatch(now=at(2026, 12, 1, 7, 59))["sent"] == 0
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 1
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 1))["sent"] == 0  # run again: nothing
    [message] = smtp_server.messages
    assert (message["To"], message["Subject"]) == ("zhang@example.cn", "保单8860000000000001续期保费提醒")
    text, _blank, unsubscribe = message.get_content().strip().splitlines()
    assert text == ("张伟您好：您的保单8860000000000001（福寿安康终身寿险）续期保费300.00元应于2026-11-30交纳，"
                    "宽限期至2027-01-29。如已交纳，请忽略本提醒。")
    assert unsubscribe.startswith("退订邮件提醒：http://localhost:8000/outreach/unsubscribe/")
    contact = PlannedContact.objects.get(policy=gz)
    assert (contact.status, contact.address, contact.template_version.version, contact.attempts) == (
        "sent", "z***@example.cn", 1, 1)
    assert message["X-Contact-Id"] == str(contact.pk)


@pytest.mark.django_db
def test_a_new_template_version_is_used_and_recorded(gz, smtp_server, default_templates, make_user):
    lead = make_user("tl", ["team_lead"], ["GD"])
    template_create(channel="email", language="zh-hans", subject="{{ policy_no }}提醒",
                    body="{{ name }}：请于{{ grace_end|date:'Y-m-d' }}前交纳{{ amount }}元。", actor=lead)
    plan(EMAIL_STEP)
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    [message] = smtp_server.messages
    assert (message["Subject"], message.get_content().strip().splitlines()[0]) == ("8860000000000001提醒",
                                                                                   "张伟：请于2027-01-29前交纳300.00元。")
    assert PlannedContact.objects.get(policy=gz).template_version.version == 2


@pytest.mark.django_db
def test_a_contact_planned_at_22_30_goes_at_08_00_the_next_day(gz, smtp_server, default_templates):
    plan(EMAIL_STEP)
    PlannedContact.objects.filter(policy=gz).update(planned_at=at(2026, 12, 1, 22, 30))
    assert contacts_dispatch(now=at(2026, 12, 1, 22, 30)) == {"waiting_window": 1, "claimed": 0, "sent": 0}
    assert contacts_dispatch(now=at(2026, 12, 2, 7, 59))["sent"] == 0
    assert contacts_dispatch(now=at(2026, 12, 2, 8, 0))["sent"] == 1
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_a_payment_imported_at_10_00_cancels_the_14_00_reminder(gz, smtp_server, default_templates):
    plan(EMAIL_STEP)
    PlannedContact.objects.filter(policy=gz).update(planned_at=at(2026, 12, 1, 14, 0))
    contacts_dispatch(now=at(2026, 12, 1, 10, 0))  # nothing due yet
    statement_import(name="s.csv", format="csv", template="cn-online-banking", as_of=dt.date(2026, 12, 1),
                     data=("交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"
                           "2026-12-01,300.00,CNY,张伟,6222020200001234,P10,8860000000000001\n").encode())
    assert contacts_dispatch(now=at(2026, 12, 1, 14, 0))["sent"] == 0
    assert smtp_server.messages == []
    assert PlannedContact.objects.get(policy=gz).status == "cancelled"


@pytest.mark.django_db
def test_the_server_down_ten_minutes_then_back_sends_each_once(gz, smtp_server, default_templates, settings):
    settings.OUTREACH_WEEKLY_CAP = 10
    plan(*({**EMAIL_STEP, "step_id": n, "code": f"T+{n}"} for n in (1, 2, 3)))
    smtp_server.stop()
    down = contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    assert (down["claimed"], down["sent"]) == (3, 0)
    # tried again after 1 minute, then 5 more
    assert set(PlannedContact.objects.values_list("status", "planned_at", "attempts")) == {
        ("planned", at(2026, 12, 1, 8, 1), 1)}
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 1))["sent"] == 0
    assert set(PlannedContact.objects.values_list("planned_at", flat=True)) == {at(2026, 12, 1, 8, 6)}
    smtp_server.start()  # back at 08:10
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 10))["sent"] == 3
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 11))["sent"] == 0
    assert sorted(m["X-Contact-Id"] for m in smtp_server.messages) == sorted(
        str(pk) for pk in PlannedContact.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_command_sends_what_is_due(gz, smtp_server, default_templates, capsys):
    plan(EMAIL_STEP)
    call_command("dispatch_contacts", "--now", "2026-12-01T08:00:00+08:00")
    assert "sent=1" in capsys.readouterr().out
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_contact_once(gz, smtp_server, default_templates, settings):
    settings.OUTREACH_WEEKLY_CAP = 100
    plan(*({**EMAIL_STEP, "step_id": n, "code": f"T+{n}"} for n in range(1, 31)))
    start = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            start.wait()
            results.append(contacts_dispatch(now=at(2026, 12, 1, 8, 0), limit=4))
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r["sent"] for r in results) == 30
    ids = [m["X-Contact-Id"] for m in smtp_server.messages]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert set(PlannedContact.objects.filter(policy__policy_no=GZ).values_list("status", flat=True)) == {"sent"}
