"""SMS through Aliyun Dysms's SendBatchSms protocol against the local fake gateway; delivery
receipts by signed callback."""

import datetime as dt
import json

import pytest

from billing.models import Installment
from core.events import CONTACT_BOUNCED, event_subscribe, event_unsubscribe
from outreach.models import PlannedContact
from outreach.services.dispatch import contacts_dispatch
from outreach.services.receipts import receipt_signature
from outreach.tests.conftest import BJ, GZ, at, plan
from policies.models import Customer

pytestmark = pytest.mark.django_db
SMS = {"code": "T+1", "channel": "sms"}


def _bj_first() -> int:
    return Installment.objects.filter(policy__policy_no=BJ).order_by("sequence").values_list("sequence", flat=True)[0]


def _contact(policy_no=GZ) -> PlannedContact:
    return PlannedContact.objects.get(policy__policy_no=policy_no)


def test_two_customers_go_in_one_batch_request_once(gz, sms_gateway, default_templates):
    plan(SMS, {**SMS, "policy_no": BJ, "sequence": _bj_first()})
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 2
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 5))["sent"] == 0
    assert sms_gateway.requests == 1
    gz_sms, bj_sms = sorted(sms_gateway.messages, key=lambda m: m["phone"])
    assert (gz_sms["phone"], gz_sms["sign_name"], gz_sms["template_code"]) == ("13812345678", "续期示范人寿",
                                                                               "SMS_RD_REMIND")
    assert gz_sms["params"] == {"name": "张伟", "policy_no": GZ, "product": "福寿安康终身寿险", "amount": "300.00",
                                "due_date": "2026-11-30", "grace_end": "2027-01-29", "stage_code": "T+1"}
    # 王芳's annual 1,200.00 due 2026-02-28 (issued 29 Feb 2024, clipped), 30 days' grace
    assert (bj_sms["phone"], bj_sms["params"]["amount"], bj_sms["params"]["grace_end"]) == (
        "13987654321", "1200.00", "2026-03-30")
    contact = _contact()
    assert (contact.status, contact.address, contact.provider_ref, contact.template_version.version) == (
        "sent", "138****5678", gz_sms["biz_id"], 1)


def test_flow_control_is_retried_a_minute_later(gz, sms_gateway, default_templates):
    plan(SMS)
    sms_gateway.throttle = 1
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 0
    contact = _contact()
    assert (contact.status, contact.planned_at, contact.attempts) == ("planned", at(2026, 12, 1, 8, 1), 1)
    assert "isv.BUSINESS_LIMIT_CONTROL" in contact.error
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 1))["sent"] == 1
    assert [m["phone"] for m in sms_gateway.messages] == ["13812345678"]


def test_the_gateway_down_ten_minutes_then_back_sends_each_once(gz, sms_gateway, default_templates, settings):
    settings.OUTREACH_WEEKLY_CAP = 10
    plan(*({**SMS, "step_id": n, "code": f"T+{n}"} for n in (1, 2, 3)))
    sms_gateway.down = True  # 08:00 .. 08:10
    for minute in (0, 1, 6):  # tried at 08:00, again 1 minute later, again 5 minutes later
        assert contacts_dispatch(now=at(2026, 12, 1, 8, minute))["sent"] == 0
    assert set(PlannedContact.objects.values_list("status", "planned_at", "attempts")) == {
        ("planned", at(2026, 12, 1, 8, 21), 3)}  # then 15 minutes later
    sms_gateway.down = False
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 10))["sent"] == 0  # back, but nothing is due before 08:21
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 21))["sent"] == 3
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 30))["sent"] == 0
    assert len(sms_gateway.messages) == 3 and {m["params"]["stage_code"] for m in sms_gateway.messages} == {
        "T+1", "T+2", "T+3"}


def test_an_illegal_number_is_failed_not_retried(gz, sms_gateway, default_templates):
    plan(SMS)
    sms_gateway.bad_numbers = {"13812345678"}
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    contact = _contact()
    assert (contact.status, contact.attempts) == ("failed", 1)
    assert contacts_dispatch(now=at(2026, 12, 1, 9, 0))["claimed"] == 0


def test_the_kill_switch_stops_the_gateway_at_once(gz, sms_gateway, default_templates, settings):
    plan(SMS)
    settings.OUTREACH_SMS_ENABLED = False
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["claimed"] == 0
    assert (sms_gateway.requests, _contact().status) == (0, "planned")


def _receipt(client, items, *, secret="receipt-secret", timestamp=None, now=None):
    body = json.dumps(items).encode()
    timestamp = timestamp or str(int((now or dt.datetime.now(dt.UTC)).timestamp()))
    return client.post("/outreach/callbacks/sms/", data=body, content_type="application/json",
                       headers={"X-Timestamp": timestamp,
                                "X-Signature": receipt_signature(body=body, timestamp=timestamp, secret=secret)})


@pytest.fixture
def sent(gz, sms_gateway, default_templates, settings):
    settings.OUTREACH_SMS_CALLBACK_SECRET = "receipt-secret"
    plan(SMS)
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    return sms_gateway.messages[0]


def test_a_delivery_receipt_marks_the_contact_delivered(client, sent):
    response = _receipt(client, [{"phone_number": "13812345678", "success": True, "err_code": "DELIVERED",
                                  "err_msg": "用户接收成功", "biz_id": sent["biz_id"], "out_id": sent["out_id"],
                                  "report_time": "2026-12-01 08:00:09"}])
    assert (response.status_code, response.json()["code"], response.json()["delivered"]) == (200, 0, 1)
    assert _contact().status == "delivered" and _contact().delivered_at is not None


def test_a_receipt_with_a_bad_signature_is_refused_and_changes_nothing(client, sent):
    item = {"phone_number": "13812345678", "success": False, "err_code": "MOBILE_NOT_EXIST", "biz_id": sent["biz_id"]}
    assert _receipt(client, [item], secret="guessed").status_code == 403
    old = str(int((dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)).timestamp()))
    assert _receipt(client, [item], timestamp=old).status_code == 403  # signed, but replayed too late
    assert _contact().status == "sent"
    assert Customer.objects.get(phone="13812345678").contact_validity == {}


def test_a_bounce_marks_the_phone_failed_and_publishes_contact_bounced(client, sent):
    seen = []
    event_subscribe(CONTACT_BOUNCED, seen.append, key="test-bounce")
    try:
        response = _receipt(client, [{"phone_number": "13812345678", "success": False, "err_code": "MOBILE_NOT_EXIST",
                                      "biz_id": sent["biz_id"]}])
    finally:
        event_unsubscribe(CONTACT_BOUNCED, "test-bounce")
    assert response.json()["bounced"] == 1
    assert (_contact().status, _contact().error) == ("bounced", "MOBILE_NOT_EXIST")
    holder = Customer.objects.get(phone="13812345678")
    assert holder.contact_validity == {"sms": "failed", "phone": "failed"}
    [event] = seen
    assert set(event.policy_ids) == {_contact().policy_id} and event.source == "sms_receipt"
    # the next SMS to that customer is not attempted: the next working channel is e-mail
    plan({"step_id": 2, "code": "T+7"})
    assert PlannedContact.objects.get(step_id=2).channel == "email"


def test_a_bounce_of_a_customer_without_another_channel_opens_contact_repair(client, gz, sms_gateway,
                                                                             default_templates, settings):
    from renewals.models import Case

    settings.OUTREACH_SMS_CALLBACK_SECRET = "receipt-secret"
    plan({**SMS, "policy_no": BJ, "sequence": _bj_first()})  # 王芳: a mobile and no e-mail
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    [message] = sms_gateway.messages
    _receipt(client, [{"phone_number": "13987654321", "success": False, "err_code": "MOBILE_NOT_EXIST",
                       "biz_id": message["biz_id"]}])
    assert _contact(BJ).status == "bounced"
    assert Customer.objects.get(phone="13987654321").contact_validity == {"sms": "failed", "phone": "failed"}
    assert list(Case.objects.filter(policy__policy_no=BJ).values_list("type", "status")) == [("contact_repair", "open")]
    # 张伟 (who has e-mail) is not touched
    assert not Case.objects.filter(policy__policy_no=GZ, type="contact_repair").exists()
