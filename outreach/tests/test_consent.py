"""Consent is written only through outreach's services, with the trail: an SMS reply "TD"/"退订"
(the provider's signed uplink push) and the e-mail's signed unsubscribe link opt out; the pending
contacts on that channel are suppressed and the timeline shows both."""

import datetime as dt
import json

import pytest

from outreach.models import ConsentChange, MessageTemplate, PlannedContact
from outreach.services.consent import unsubscribe_token
from outreach.services.dispatch import contacts_dispatch
from outreach.services.receipts import receipt_signature
from outreach.services.templates import template_create, templates_current
from outreach.tests.conftest import GZ, at, plan
from policies.models import Customer

pytestmark = pytest.mark.django_db


def _push(client, items, *, url="/outreach/callbacks/sms/replies/", secret="receipt-secret"):
    body = json.dumps(items, ensure_ascii=False).encode()
    timestamp = str(int(dt.datetime.now(dt.UTC).timestamp()))
    return client.post(url, data=body, content_type="application/json", headers={
        "X-Timestamp": timestamp, "X-Signature": receipt_signature(body=body, timestamp=timestamp, secret=secret)})


@pytest.fixture
def secret(settings):
    settings.OUTREACH_SMS_CALLBACK_SECRET = "receipt-secret"


@pytest.mark.parametrize("word", ["TD", "退订", " t "])
def test_an_sms_reply_opts_out_and_suppresses_the_pending_texts(client, gz, secret, word):
    plan({"step_id": 1, "code": "T+1", "channel": "sms"}, {"step_id": 2, "code": "T+2", "channel": "email"})
    response = _push(client, [{"phone_number": "13812345678", "content": word, "send_time": "2026-12-01 09:00:00",
                               "sign_name": "续期示范人寿", "dest_code": "", "sequence_id": 1}])
    assert (response.status_code, response.json()["code"], response.json()["opt_outs"]) == (200, 0, 1)
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == ["sms"]
    assert sorted(PlannedContact.objects.values_list("channel", "status", "reason")) == [
        ("email", "planned", ""), ("sms", "suppressed", "opted_out")]
    [change] = ConsentChange.objects.all()
    assert (change.channel, change.action, change.source) == ("sms", "opt_out", "sms_reply")
    # asked again: nothing more (no second trail row)
    assert _push(client, [{"phone_number": "13812345678", "content": "TD"}]).json()["opt_outs"] == 0


def test_another_reply_changes_nothing(client, gz, secret):
    assert _push(client, [{"phone_number": "13812345678", "content": "好的，明天交"}]).json()["opt_outs"] == 0
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == []


def test_a_reply_push_with_a_bad_signature_is_refused_and_changes_nothing(client, gz, secret):
    assert _push(client, [{"phone_number": "13812345678", "content": "TD"}], secret="guessed").status_code == 403
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == [] and not ConsentChange.objects.exists()


def test_the_email_carries_a_signed_unsubscribe_link_that_opts_out(client, gz, smtp_server, default_templates):
    plan({"step_id": 1, "code": "T+1", "channel": "email"})
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    [message] = smtp_server.messages
    body = message.get_content()
    link = message["List-Unsubscribe"].strip().strip("<>")
    assert link in body and "退订邮件提醒" in body
    path = link[link.index("/outreach/unsubscribe/"):]
    page = client.get(path)  # a mail scanner's GET: asks, changes nothing
    assert page.status_code == 200 and Customer.objects.get(pk=gz.holder_id).opt_outs == []
    assert client.post(path).status_code == 200
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == ["email"]
    assert ConsentChange.objects.get().source == "email_link"
    # the next e-mail step is not e-mailed: suppressed, on the timeline
    plan({"step_id": 2, "code": "T+7", "channel": "email"})
    assert PlannedContact.objects.get(step_id=2).reason == "opted_out"


def test_a_forged_unsubscribe_link_is_refused(client, gz):
    token = unsubscribe_token(customer_id=gz.holder_id)
    assert client.post(f"/outreach/unsubscribe/{token[:-2]}xx/").status_code == 404
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == []


def test_the_timeline_shows_the_opt_out_and_the_suppression(client, gz, secret, make_user):
    _push(client, [{"phone_number": "13812345678", "content": "退订"}])
    plan({"step_id": 1, "code": "T+1", "channel": "sms"})
    client.force_login(make_user("clerk", ["clerk"], ["GD-GZ"]))
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="consent-trail"' in page and 'data-action="opt_out"' in page and 'data-status="suppressed"' in page
    api = client.get(f"/api/v1/policies/{GZ}/contacts/").json()
    assert api["consent"][0]["source"] == "sms_reply" and api["contacts"][0]["reason"] == "opted_out"


def test_a_marketing_sms_carries_the_opt_out_line_and_waits_for_approval(default_templates, make_user):
    lead = make_user("tl", ["team_lead"], ["GD"])
    template = template_create(channel="sms", language="zh-hans", body="{{ name }}，续期有礼。", actor=lead,
                               provider_template_code="SMS_RD_PROMO", sign_name="续期示范人寿", purpose="marketing")
    assert template.body.endswith("回T退订") and template.approval == "pending"
    # until the provider approves it, the SMS in use stays the approved version 1
    assert templates_current(channels=["sms"], kinds=["reminder"])[("sms", "reminder", "zh-hans")].version == 1
    MessageTemplate.objects.filter(pk=template.pk).update(approval="approved")
    assert templates_current(channels=["sms"], kinds=["reminder"])[("sms", "reminder", "zh-hans")].version == 2


def test_a_clerk_records_consent_with_the_trail_in_scope_only(gz, make_user):
    from core.errors import OutOfScope
    from outreach.models import ContactWindow
    from outreach.services.consent import customer_consent_update

    clerk = make_user("clerk", ["clerk"], ["GD-GZ"])
    plan({"step_id": 1, "code": "T+1", "channel": "email"})
    when = at(2026, 12, 1, 9, 0)
    customer = customer_consent_update(policy=gz, actor=clerk, occurred_at=when, preferred_channel="sms",
                                       opt_out=("email",), time_zone="Asia/Urumqi")
    assert (customer.preferred_channel, customer.opt_outs) == ("sms", ["email"])
    assert ContactWindow.objects.get(customer=customer).time_zone == "Asia/Urumqi"
    assert sorted(ConsentChange.objects.values_list("channel", "action", "source")) == [
        ("email", "opt_out", "clerk"), ("sms", "preference", "clerk")]
    assert PlannedContact.objects.get().reason == "opted_out"
    customer_consent_update(policy=gz, actor=clerk, occurred_at=when, opt_in=("email",))
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == []
    with pytest.raises(OutOfScope):
        customer_consent_update(policy=gz, actor=make_user("bj", ["clerk"], ["BJ"]), occurred_at=when,
                                opt_out=("sms",))
    assert Customer.objects.get(pk=gz.holder_id).opt_outs == []
