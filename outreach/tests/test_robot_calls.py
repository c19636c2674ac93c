"""Robot calls through Aliyun Dyvms's IvrCall (its SDK) against the local fake provider; call
reports by signed push, mapped to our call-result schema, with their effects on the plan, the
timeline and the workbench."""

import datetime as dt
import json

import pytest

from outreach.models import CallResult, PlannedContact
from outreach.selectors import policy_contacts
from outreach.services.dispatch import contacts_dispatch
from outreach.services.receipts import receipt_signature
from outreach.tests.conftest import GZ, at, plan
from policies.models import Customer
from renewals.models import Case
from renewals.tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
CALL = {"code": "T+1", "kind": "robot_call", "step_id": 11, "date": dt.date(2026, 12, 1)}


def _push(client, items, *, secret="voice-secret"):
    body = json.dumps(items, ensure_ascii=False).encode()
    timestamp = str(int(dt.datetime.now(dt.UTC).timestamp()))
    return client.post("/outreach/callbacks/voice/", data=body, content_type="application/json",
                       headers={"X-Timestamp": timestamp,
                                "X-Signature": receipt_signature(body=body, timestamp=timestamp, secret=secret)})


def _called(gz, voice_gateway, *, keys="", status="200000"):
    """The T+1 call of 张伟 (300.00 due 2026-11-30) rung at 10:00 on 1 December, answered with `keys`."""
    voice_gateway.script["13812345678"] = (status, keys, 42)
    plan(CALL)
    assert contacts_dispatch(now=at(2026, 12, 1, 10, 0))["sent"] == 1
    return voice_gateway.reports(at=at(2026, 12, 1, 10, 1))


@pytest.fixture
def calling(gz, voice_gateway, channel_templates):
    return gz


def test_the_call_goes_through_the_sdk_with_the_policys_figures(calling, voice_gateway):
    _called(calling, voice_gateway)
    (call,) = voice_gateway.calls
    assert (call["phone"], call["start_code"], call["out_id"]) == ("13812345678", "TTS_RD_OVERDUE",
                                                                   f"call:{PlannedContact.objects.get().pk}")
    assert call["params"] == {"name": "张伟", "policy_no": GZ, "product": "福寿安康终身寿险", "amount": "300.00",
                              "due_date": "2026-11-30", "grace_end": "2027-01-29"}
    assert call["menu"] == {"1": "TTS_RD_PROMISE_3", "2": "TTS_RD_PROMISE_7", "3": "TTS_RD_HARDSHIP",
                            "4": "TTS_RD_SORRY", "9": "TTS_RD_WRONG"}
    contact = PlannedContact.objects.get()
    assert (contact.channel, contact.status, contact.address, contact.provider_ref) == (
        "phone", "sent", "138****5678", call["call_id"])
    # asked again (a crashed worker's retry) with the same OutId: the provider does not ring twice
    assert contacts_dispatch(now=at(2026, 12, 1, 10, 5))["claimed"] == 0 and voice_gateway.requests == 1


def test_a_promise_moves_the_next_step_past_the_date_and_opens_the_follow_up(client, calling, voice_gateway):
    plan({"code": "T+2", "channel": "sms", "step_id": 12, "date": dt.date(2026, 12, 2)})  # due tomorrow 08:00
    reports = _called(calling, voice_gateway, keys="1")  # 1: I pay within 3 days
    response = _push(client, reports)
    assert (response.status_code, response.json()["recorded"], response.json()["promise"]) == (200, 1, 1)
    result = CallResult.objects.get()
    assert (result.outcome, result.promised_on, result.duration_seconds, result.provider_id, result.keys) == (
        "promise", dt.date(2026, 12, 4), 42, reports[0]["call_id"], "1")
    # the SMS of 2 December waits for the day after the promise
    sms = PlannedContact.objects.get(channel="sms")
    assert (sms.status, sms.planned_at, sms.reason) == ("planned", at(2026, 12, 5, 8, 0), "promised")
    # a step that falls inside the promise (T+7 on 3 December) is planned for the day after too
    plan({**CALL, "code": "T+7", "step_id": 17, "date": dt.date(2026, 12, 3)})
    t7 = PlannedContact.objects.get(stage_code="T+7")
    assert (t7.status, t7.planned_at, t7.reason) == ("planned", at(2026, 12, 5, 8, 0), "promised")
    # the workbench's follow-up waits until the day after the promised date
    follow = Case.objects.get(policy=calling, type="promise_follow_up")
    assert (follow.status, follow.promised_on, follow.next_action_on) == (
        "waiting_customer", dt.date(2026, 12, 4), dt.date(2026, 12, 5))
    # the timeline shows the call and its outcome
    row = next(r for r in policy_contacts(policy=calling) if r["stage_code"] == "T+1")
    assert (row["status"], row["call_outcome"], row["promised_on"], row["call_duration"]) == (
        "delivered", "promise", dt.date(2026, 12, 4), 42)
    # the provider pushes the same report again: kept once, nothing moves twice
    assert _push(client, reports).json()["recorded"] == 0
    assert CallResult.objects.count() == 1 and Case.objects.filter(type="promise_follow_up").count() == 1


@pytest.mark.parametrize(("keys", "outcome", "why"), [("3", "hardship", "机器人外呼：客户表示经济困难。"),
                                                      ("4", "dissatisfied", "机器人外呼：客户表示不满。")])
def test_hardship_and_dissatisfaction_open_a_case(client, calling, voice_gateway, keys, outcome, why):
    _push(client, _called(calling, voice_gateway, keys=keys))
    assert CallResult.objects.get().outcome == outcome
    case = Case.objects.get(policy=calling, type="overdue_follow_up")
    assert (case.status, case.question) == ("open", why)
    assert case.history.filter(kind="note", reason=why).exists()


def test_a_wrong_number_marks_the_phone_failed_and_opens_contact_repair(client, calling, voice_gateway):
    Customer.objects.filter(pk=calling.holder_id).update(email="")  # no other channel
    _push(client, _called(calling, voice_gateway, keys="9"))  # 9: I am not the policyholder
    assert CallResult.objects.get().outcome == "wrong_number"
    assert PlannedContact.objects.get().status == "bounced"
    holder = Customer.objects.get(pk=calling.holder_id)
    assert (holder.contact_validity["phone"], holder.contact_validity["sms"]) == ("failed", "failed")
    assert Case.objects.filter(policy=calling, type="contact_repair", status="open").count() == 1


def test_a_number_out_of_service_is_a_wrong_number_and_no_answer_is_not_reached(client, calling, voice_gateway):
    _push(client, _called(calling, voice_gateway, status="200007"))  # 空号
    assert CallResult.objects.get().outcome == "wrong_number"
    CallResult.objects.all().delete()
    PlannedContact.objects.all().delete()
    Customer.objects.filter(pk=calling.holder_id).update(contact_validity={})  # the number works again
    voice_gateway.calls.clear()
    _push(client, _called(calling, voice_gateway, status="200005"))  # 用户未接
    result = CallResult.objects.get()
    assert (result.outcome, result.duration_seconds) == ("not_reached", 0)
    assert PlannedContact.objects.get().status == "failed"
    assert not Case.objects.filter(policy=calling).exists()


def test_a_report_with_a_bad_signature_changes_nothing(client, calling, voice_gateway):
    response = _push(client, _called(calling, voice_gateway, keys="1"), secret="wrong")
    assert response.status_code == 403
    assert not CallResult.objects.exists() and PlannedContact.objects.get().status == "sent"


def test_calls_ring_only_in_overdue_days_1_to_30(calling, voice_gateway):
    plan(CALL)
    assert contacts_dispatch(now=at(2026, 12, 31, 10, 0))["sent"] == 0  # day 31
    contact = PlannedContact.objects.get()
    assert (contact.status, contact.reason) == ("suppressed", "call_window") and voice_gateway.calls == []


def test_a_call_due_in_the_quiet_hours_waits_for_the_morning(calling, voice_gateway):
    plan(CALL)
    assert contacts_dispatch(now=at(2026, 12, 1, 22, 30))["sent"] == 0
    assert PlannedContact.objects.get().planned_at == at(2026, 12, 2, 8, 0)
    assert contacts_dispatch(now=at(2026, 12, 2, 8, 0))["sent"] == 1


def test_the_weekly_cap_counts_calls_with_the_other_channels(calling, voice_gateway, settings):
    settings.OUTREACH_WEEKLY_CAP = 1
    plan({"code": "T+1", "channel": "sms", "step_id": 12, "date": dt.date(2026, 12, 1)}, CALL)
    # the call comes first in the step order; the SMS of the same day is over the cap
    assert set(PlannedContact.objects.values_list("channel", "status", "reason")) == {
        ("phone", "planned", ""), ("sms", "suppressed", "capped")}


def test_after_a_claims_hand_off_nothing_more_is_sent(calling, voice_gateway):
    plan(CALL)  # pending before the claim
    CaseFactory(policy=calling, type="handoff_claims", status="open", opened_on=dt.date(2026, 12, 1))
    assert contacts_dispatch(now=at(2026, 12, 1, 10, 0))["sent"] == 0  # suppressed at dispatch
    assert set(PlannedContact.objects.values_list("status", "reason")) == {("suppressed", "claim")}
    plan({"code": "T+2", "channel": "sms", "step_id": 12, "date": dt.date(2026, 12, 2)})  # and at planning
    assert PlannedContact.objects.get(stage_code="T+2").reason == "claim"
    assert voice_gateway.calls == []
