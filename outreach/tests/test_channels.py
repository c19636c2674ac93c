"""Issue 16's other channels against local fakes: WeChat template messages and app push (their
HTTP protocols, tokens and signatures), one message for a customer's policies due in the same
week, the channels' cost and budget, an administrator's re-send of a failed batch, and the
delivery proof of lapse notices."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.models import Installment
from billing.services.schedules import installments_extend_chunk
from conftest import AS_OF, GZ_POLICY, policies_csv
from core.errors import ApplicationError
from core.models import Alert
from outreach.models import ChannelBudget, DeliveryProof, PlannedContact
from outreach.services.budget import channel_spending
from outreach.services.dispatch import contacts_dispatch
from outreach.services.messaging import channel_identity_set
from outreach.services.proofs import proofs_purge
from outreach.services.resend import batch_resend
from outreach.tests.conftest import GZ, at, plan
from policies.models import Customer, Policy
from policies.services.imports import policies_import
from renewals.services.steps import STEP_FUNCTIONS, STEPS

pytestmark = pytest.mark.django_db
# 张伟's second policy: monthly 120.00 from 2 December 2021, next due Wednesday 2 December 2026, the
# same ISO week as his first policy's 30 November
GZ2 = "8860000000000003"
GZ2_POLICY = (f"{GZ2},H30,GD-GZ,AG001,黄志强,active,张伟,resident_id,11010519491231002X,1949-12-31,F,"
              "13812345678,zhang@example.cn,广州市天河区中山路1号,,,,2021-12-02,monthly,20,120.00,30000.00,"
              "bank_transfer,,,,2026-12-02,in_force,")


def _prefer(gz, channel: str, value: str) -> Customer:
    holder = gz.holder
    Customer.objects.filter(pk=holder.pk).update(preferred_channel=channel)
    channel_identity_set(customer=holder, channel=channel, value=value)
    return holder


def test_a_wechat_template_message_with_the_access_token(gz, wechat_gateway, channel_templates):
    _prefer(gz, "wechat", "oGZ-openid-0001")
    plan({"code": "T+1"}, {"code": "T+2", "step_id": 2, "date": dt.date(2026, 12, 2)})
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 1
    (message,) = wechat_gateway.messages
    assert (message["openid"], message["template_id"]) == ("oGZ-openid-0001", "RD_RENEWAL_REMINDER")
    assert (message["data"]["keyword1"], message["data"]["keyword2"], message["data"]["keyword3"]) == (
        GZ, "300.00元", "2027-01-29")
    assert message["data"]["first"].startswith("张伟您好：您的保单8860000000000001")
    contact = PlannedContact.objects.get(stage_code="T+1")
    assert (contact.channel, contact.status, contact.provider_ref, contact.address) == (
        "wechat", "sent", str(message["msgid"]), "oGZ-***")
    # the token expired at the platform: fetched again once, the message goes
    wechat_gateway.expire_tokens()
    calls_before = wechat_gateway.token_calls
    assert contacts_dispatch(now=at(2026, 12, 2, 8, 0))["sent"] == 1
    assert wechat_gateway.token_calls == calls_before + 1 and len(wechat_gateway.messages) == 2


def test_a_customer_who_left_the_account_fails_the_channel(gz, wechat_gateway, channel_templates):
    holder = _prefer(gz, "wechat", "oGZ-openid-0001")
    wechat_gateway.unfollowed = {"oGZ-openid-0001"}
    plan({"code": "T+1"})
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    assert PlannedContact.objects.get().status == "failed"
    holder.refresh_from_db()
    assert holder.contact_validity["wechat"] == "failed"


def test_an_app_push_through_getui_with_its_signed_auth(gz, push_gateway, channel_templates):
    _prefer(gz, "app", "cid-gz-0001")
    plan({"code": "T+1"})
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 1
    (message,) = push_gateway.messages
    assert (message["cid"], message["title"]) == ("cid-gz-0001", "续期保费提醒")
    assert "8860000000000001" in message["body"] and "300.00元" in message["body"]
    contact = PlannedContact.objects.get()
    assert (contact.status, contact.provider_ref, contact.idempotency_key) == (
        "sent", message["task_id"], f"rdapp{contact.pk:010d}")


@pytest.fixture
def two_policies(gz):
    report = policies_import(files=[("policies.csv", policies_csv(GZ_POLICY, GZ2_POLICY))], as_of=AS_OF)
    assert report["files"][0]["rejected"] == 0, report
    second = Policy.objects.get(policy_no=GZ2)
    assert second.holder_id == gz.holder_id
    installments_extend_chunk(as_of=AS_OF, id_from=second.pk, id_to=second.pk)
    first_due = Installment.objects.filter(policy=second).order_by("sequence").first()
    assert (first_due.due_date, first_due.amount_due) == (dt.date(2026, 12, 2), Decimal("120.00"))
    return gz, second, first_due.sequence


def test_two_policies_due_in_the_same_week_get_one_message(two_policies, sms_gateway, default_templates):
    gz, second, sequence = two_policies
    # T-7 of each: 23 November for the one due on the 30th, 25 November for the one due on 2 December
    plan({"code": "T-7", "channel": "sms", "date": dt.date(2026, 11, 23)},
         {"code": "T-7", "channel": "sms", "policy_no": GZ2, "sequence": sequence, "date": dt.date(2026, 11, 25)})
    counts = contacts_dispatch(now=at(2026, 11, 23, 8, 0))
    assert (counts["sent"], counts["bundled"]) == (1, 1)
    (message,) = sms_gateway.messages
    assert (message["params"]["policy_no"], message["params"]["amount"], message["params"]["due_date"]) == (
        f"{GZ}、{GZ2}", "420.00", "2026-11-30")
    lead = PlannedContact.objects.get(policy=gz)
    covered = PlannedContact.objects.get(policy=second)
    assert (covered.status, covered.reason, covered.bundle_lead_id, covered.provider_ref) == (
        "sent", "bundled", lead.pk, lead.provider_ref)
    assert contacts_dispatch(now=at(2026, 11, 25, 8, 0))["claimed"] == 0  # nothing left for the 25th


def test_grouping_can_be_switched_off(two_policies, sms_gateway, default_templates, settings):
    settings.OUTREACH_GROUP_SAME_WEEK = False
    gz, second, sequence = two_policies
    plan({"code": "T-7", "channel": "sms", "date": dt.date(2026, 11, 23)},
         {"code": "T-7", "channel": "sms", "policy_no": GZ2, "sequence": sequence, "date": dt.date(2026, 11, 25)})
    contacts_dispatch(now=at(2026, 11, 23, 8, 0))
    contacts_dispatch(now=at(2026, 11, 25, 8, 0))
    assert [m["params"]["policy_no"] for m in sms_gateway.messages] == [GZ, GZ2]


def test_the_budget_warning_appears_near_the_budget(gz, sms_gateway, default_templates, admin_client, settings):
    settings.OUTREACH_WEEKLY_CAP = 10
    # 3 SMS at 0.50 = 1.50 of a 1.80 budget: 83.3%, past the 80% warning
    ChannelBudget.objects.update_or_create(channel="sms", defaults={
        "cost_per_message": Decimal("0.50"), "monthly_budget": Decimal("1.80"), "warn_percent": 80})
    plan(*({"code": f"T+{n}", "channel": "sms", "step_id": n} for n in (1, 2, 3)))
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    sms = next(r for r in channel_spending(now=at(2026, 12, 1, 9, 0)) if r["channel"] == "sms")
    assert (sms["messages"], sms["cost"], sms["percent"], sms["warn"], sms["over"]) == (
        3, Decimal("1.50"), Decimal("83.3"), True, False)
    alert = Alert.objects.get(kind="outreach.budget", key="sms:2026-12")
    assert alert.severity == "warning"
    page = admin_client.get("/outreach/templates/")
    assert 'data-budget-warning="sms"' in page.content.decode()


def test_an_admin_resends_only_what_was_not_delivered(gz, sms_gateway, default_templates, admin_user, settings):
    settings.OUTREACH_WEEKLY_CAP = 10
    plan(*({"code": f"T+{n}", "channel": "sms", "step_id": n} for n in (1, 2)))
    sms_gateway.bad_numbers = {"13812345678"}
    contacts_dispatch(now=at(2026, 12, 1, 8, 0))
    key = PlannedContact.objects.values_list("idempotency_key", flat=True).first()
    PlannedContact.objects.filter(stage_code="T+2").update(status="delivered")  # say one got through after all
    sms_gateway.bad_numbers = set()
    assert batch_resend(batch_key=key, actor=admin_user, now=at(2026, 12, 1, 9, 0)) == 1
    assert contacts_dispatch(now=at(2026, 12, 1, 9, 0))["sent"] == 1
    assert [m["params"]["stage_code"] for m in sms_gateway.messages] == ["T+1"]
    from audit.models import Operation

    assert Operation.objects.filter(action="outreach_batch_resend", object_ref=key).count() == 1
    with pytest.raises(ApplicationError):  # nothing failed is left in it
        batch_resend(batch_key=key, actor=admin_user, now=at(2026, 12, 1, 9, 5))


def test_a_lapse_notice_keeps_its_delivery_proof(gz, sms_gateway, default_templates, client, settings):
    from outreach.tests.test_dispatch_sms import _receipt

    settings.OUTREACH_SMS_CALLBACK_SECRET = "receipt-secret"
    plan({"code": "G+1", "channel": "sms", "date": dt.date(2027, 1, 30)})
    contacts_dispatch(now=at(2027, 1, 30, 8, 0))
    proof = DeliveryProof.objects.get()
    message = sms_gateway.messages[0]
    assert (proof.notice, proof.channel, proof.address, proof.provider_id, proof.sent_at) == (
        "lapse_notice", "sms", "138****5678", message["biz_id"], at(2027, 1, 30, 8, 0))
    assert proof.content.startswith("张伟您好：您的保单8860000000000001")
    _receipt(client, [{"phone_number": "13812345678", "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
                       "biz_id": message["biz_id"], "out_id": message["out_id"], "report_time": "2027-01-30 08:00:09"}])
    proof.refresh_from_db()
    assert proof.delivered_at is not None and proof.receipt["status"] == "delivered"
    # kept for the retention period, then purged
    settings.OUTREACH_PROOF_RETENTION_DAYS = 365
    assert proofs_purge(now=at(2028, 1, 29, 8, 0)) == 0
    # the night does it (step delivery_proofs, after contacts_cancel): the business date's start
    # less 365 days; sent 2027-01-30 08:00, so the night of 2028-01-30 keeps it, that of the 31st not
    names = [name for name, _f, _c in STEPS]
    assert names.index("delivery_proofs") > names.index("contacts_cancel")
    assert STEP_FUNCTIONS["delivery_proofs"](dt.date(2028, 1, 30), 0, 2**62) == 0
    assert STEP_FUNCTIONS["delivery_proofs"](dt.date(2028, 1, 31), 0, 2**62) == 1
    assert not DeliveryProof.objects.exists()


def test_the_policy_page_shows_and_exports_the_proof(gz, sms_gateway, default_templates, admin_client):
    plan({"code": "G+1", "channel": "sms", "date": dt.date(2027, 1, 30)})
    contacts_dispatch(now=at(2027, 1, 30, 8, 0))
    page = admin_client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="delivery-proofs"' in page and 'data-notice="lapse_notice"' in page
    export = admin_client.get(f"/outreach/proofs/{GZ}/export/")
    assert export.status_code == 200 and export["Content-Disposition"].endswith('.xlsx"')
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:4] == (GZ, "lapse_notice", "sms", "138****5678")


def test_the_default_plans_reinstatement_invitation_keeps_its_delivery_proof(portfolio, sms_gateway,
                                                                             default_templates):
    from importlib import import_module

    from django.apps import apps

    from renewals.models import CollectionPlan
    from renewals.services.pipeline import nightly_run

    if not CollectionPlan.objects.filter(is_default=True).exists():  # a flushed database lost the migration's rows
        import_module("renewals.migrations.0005_default_plan").create(apps, None)
    import_module("renewals.migrations.0017_reinstatement_invitation").create(apps, None)
    # given 张伟's premium of 30 November unpaid: the policy lapses on 30 January 2027 (G+1)
    for day in (dt.date(2026, 11, 25), dt.date(2027, 1, 30), dt.date(2027, 1, 31)):
        nightly_run(as_of=day)
    # when the dispatcher sends the morning's messages of 31 January (R+1)
    contacts_dispatch(now=at(2027, 1, 31, 8, 0))
    # then the invitation went, and its proof is kept beside the lapse notice's
    proofs = {p.notice: p for p in DeliveryProof.objects.filter(policy__policy_no=GZ)}
    assert set(proofs) == {"lapse_notice", "reinstatement_invitation"}
    invitation = proofs["reinstatement_invitation"]
    assert (invitation.channel, invitation.address, invitation.sent_at) == ("sms", "138****5678", at(2027, 1, 31, 8, 0))
    message = next(m for m in sms_gateway.messages if m["biz_id"] == invitation.provider_id)
    assert message["params"]["stage_code"] == "R+1"
