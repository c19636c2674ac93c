"""The outbox: planning set-based, deduped by business identity, consent, cap and quiet hours."""

import datetime as dt

import pytest

from billing.models import Installment
from billing.services.statements import statement_import
from outreach.models import ContactWindow, PlannedContact
from outreach.services.planning import contacts_window_apply
from outreach.tests.conftest import BJ, at, plan
from policies.models import Customer

pytestmark = pytest.mark.django_db


def _rows(**filters):
    return sorted(PlannedContact.objects.filter(**filters).values_list("stage_code", "channel", "status", "reason",
                                                                        "planned_at"))


def test_a_step_planned_twice_is_one_contact_at_eight_in_the_morning(gz):
    assert plan({"code": "T+1"}) == 1
    assert plan({"code": "T+1"}) == 0  # the same installment, step and channel: nothing added
    # 张伟 has no preference and a mobile: SMS, 2026-12-01 08:00 Asia/Shanghai (00:00 UTC)
    assert _rows(policy=gz) == [("T+1", "sms", "planned", "", dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC))]


def test_an_opted_out_channel_is_never_used_and_the_suppression_is_kept(gz):
    Customer.objects.filter(pk=gz.holder_id).update(opt_outs=["sms"])
    plan({"step_id": 1, "code": "T+1"}, {"step_id": 2, "code": "T+7", "channel": "sms"})
    # no fixed channel: the next working one (e-mail); a step fixed on SMS: suppressed, reason opted out
    assert [r[:4] for r in _rows(policy=gz)] == [("T+1", "email", "planned", ""),
                                                 ("T+7", "sms", "suppressed", "opted_out")]


def test_no_working_channel_and_a_failed_phone(schedules):
    # 王芳 has a mobile and no e-mail; her mobile bounced
    Customer.objects.filter(held_policies__policy_no=BJ).update(contact_validity={"sms": "failed", "phone": "failed"})
    bj = {"policy_no": BJ, "sequence": Installment.objects.filter(policy__policy_no=BJ).order_by("sequence")
          .values_list("sequence", flat=True).first()}
    plan({**bj, "code": "T+1"}, {**bj, "step_id": 2, "code": "T+1", "kind": "robot_call"})
    assert [r[1:4] for r in _rows(policy__policy_no=BJ)] == [("phone", "suppressed", "no_channel"),
                                                             ("sms", "suppressed", "no_channel")]


def test_the_weekly_cap_holds_across_channels_and_an_urgent_step_may_exceed_it_by_one(gz, settings):
    settings.OUTREACH_WEEKLY_CAP = 2
    # ISO week Monday 2026-11-30 .. Sunday 2026-12-06; SMS and e-mail count together
    plan({"step_id": 1, "code": "T+1", "date": dt.date(2026, 12, 1)},
         {"step_id": 2, "code": "T+2", "channel": "email", "date": dt.date(2026, 12, 2)})
    plan({"step_id": 3, "code": "T+3", "date": dt.date(2026, 12, 3)})  # a later night: the third of the week
    plan({"step_id": 4, "code": "T+4", "urgent": True, "date": dt.date(2026, 12, 4)})
    plan({"step_id": 5, "code": "T+5", "urgent": True, "date": dt.date(2026, 12, 5)})  # cap + 2: no
    plan({"step_id": 7, "code": "T+7", "date": dt.date(2026, 12, 7)})  # Monday: a new week
    assert [r[:4] for r in _rows(policy=gz)] == [
        ("T+1", "sms", "planned", ""), ("T+2", "email", "planned", ""), ("T+3", "sms", "suppressed", "capped"),
        ("T+4", "sms", "planned", "over_cap_urgent"), ("T+5", "sms", "suppressed", "capped"),
        ("T+7", "sms", "planned", "")]


def test_a_contact_due_at_22_30_waits_for_08_00_the_next_day(gz):
    plan({"code": "T+1"})
    contact = PlannedContact.objects.get(policy=gz)
    PlannedContact.objects.filter(pk=contact.pk).update(planned_at=at(2026, 12, 1, 22, 30))
    assert contacts_window_apply(until=at(2026, 12, 1, 22, 30)) == 1
    contact.refresh_from_db()
    assert (contact.status, contact.planned_at) == ("waiting_window", at(2026, 12, 2, 8, 0))
    assert contacts_window_apply(until=at(2026, 12, 2, 8, 0)) == 0  # 08:00 is inside the window: it stays


def test_the_window_is_the_customers_time_zone(gz):
    # Urumqi is UTC+6: 09:30 in Beijing is 07:30 there, before 08:00 -> 08:00 Urumqi = 10:00 Beijing
    ContactWindow.objects.create(customer_id=gz.holder_id, time_zone="Asia/Urumqi")
    plan({"code": "T+1"})
    PlannedContact.objects.filter(policy=gz).update(planned_at=at(2026, 12, 1, 9, 30))
    contacts_window_apply(until=at(2026, 12, 1, 9, 30))
    assert PlannedContact.objects.get(policy=gz).planned_at == at(2026, 12, 1, 10, 0)


HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"


def test_a_payment_imported_at_10_cancels_the_14_00_reminder(gz):
    plan({"step_id": 1, "code": "T+1", "sequence": 82}, {"step_id": 2, "code": "T-30", "sequence": 83},
         {"step_id": 3, "code": "T+1", "kind": "robot_call", "sequence": 82})
    PlannedContact.objects.filter(policy=gz, step_id=1).update(planned_at=at(2026, 12, 1, 14, 0))
    PlannedContact.objects.filter(policy=gz, step_id=3).update(status="sending")  # already with the gateway
    # 10:00: the bank statement with 300.00 for 2026-11-30's installment is imported
    report = statement_import(name="s.csv", format="csv", template="cn-online-banking", as_of=dt.date(2026, 12, 1),
                              data=(HEADER + "2026-12-01,300.00,CNY,张伟,6222020200001234,P1,8860000000000001\n")
                              .encode())
    assert report["matched"] == 1
    assert sorted(PlannedContact.objects.filter(policy=gz).values_list("stage_code", "kind", "status", "reason")) == [
        ("T+1", "reminder", "cancelled", "paid"),
        ("T+1", "robot_call", "sending", ""),  # handed over: not recalled, not sent again
        ("T-30", "reminder", "planned", "")]  # 2026-12-31's installment is still owed


def test_a_clerks_logged_call_counts_in_the_weekly_cap(gz, settings, make_user):
    from outreach.services.contact_log import contact_log_record

    settings.OUTREACH_WEEKLY_CAP = 2
    clerk = make_user("caller", ["clerk"], ["GD-GZ"])
    contact_log_record(policy=gz, channel="phone", outcome="no_answer", actor=clerk, occurred_at=at(2026, 11, 30, 15, 0))
    plan({"step_id": 1, "code": "T+1", "date": dt.date(2026, 12, 1)},
         {"step_id": 2, "code": "T+2", "channel": "email", "date": dt.date(2026, 12, 2)})
    # Monday's call + T+1 = 2: T+2 is over the cap
    assert [r[:4] for r in _rows(policy=gz)] == [("T+1", "sms", "planned", ""), ("T+2", "email", "suppressed", "capped")]
