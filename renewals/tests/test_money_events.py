"""A lapse reversed the moment in-grace money lands (issue 9): the money event of billing makes
renewals void the lapse in the allocation's own transaction, on every path money takes.

GZ (8860000000000001): monthly 300.00, issued 2020-01-31, first unpaid installment due 2026-11-30;
60 days' grace inclusive -> last grace day 2027-01-29, lapse effective 2027-01-30. The next
installment is due 2026-12-31: last grace day 2027-03-01, lapse 2027-03-02.
"""

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from accounts.tests.factories import TokenFactory
from billing.models import Installment, Payment
from billing.services.statements import statement_import
from billing.services.suspense import payment_match_manual
from billing.services.webhooks import webhook_signature
from billing.tests.factories import PaymentFactory
from conftest import AS_OF
from policies.models import Policy, PolicyStatusChange
from policies.selectors import policy_status_on
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db
GZ = "8860000000000001"
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要\n"


def _gz() -> Policy:
    return Policy.objects.get(policy_no=GZ)


def _statement(line: str, *, as_of: dt.date, name: str = "late.csv") -> dict:
    return statement_import(name=name, data=(HEADER + line + "\n").encode(), format="csv",
                            template="cn-online-banking", as_of=as_of)


@pytest.fixture
def lapsed(portfolio):
    nightly_run(as_of=AS_OF)
    nightly_run(as_of=dt.date(2027, 1, 30))
    policy = _gz()
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2027, 1, 30))
    return policy


def _api_status(make_user) -> dict:
    user = make_user("clerk", ["clerk"], ["GD-GZ"])
    client = Client(headers={"Authorization": f"Token {TokenFactory(user=user).key}"})
    response = client.get(f"/api/v1/policies/{GZ}/status/")
    assert response.status_code == 200
    return response.json()


def test_a_statement_with_in_grace_money_reverses_the_lapse_at_import(lapsed, make_user):
    # 300.00 valued 2027-01-29 (the last grace day) arrives in the statement of 2027-02-01; no night has run
    report = _statement("2027-01-29,300.00,CNY,张伟,6222020200001234,LATE1,保单8860000000000001续期保费",
                        as_of=dt.date(2027, 2, 1))
    assert report["matched"] == 1
    policy = _gz()
    assert (policy.status, policy.lapse_date) == ("in_force", None)
    assert _api_status(make_user)["status"] == "in_force"
    # the history keeps the lapse, voided, with the reason; every day it covered answers in force
    lapse = PolicyStatusChange.objects.get(policy=policy, status="lapsed")
    assert lapse.effective_date == dt.date(2027, 1, 30)
    assert lapse.voided_at is not None
    assert lapse.void_reason == "money valued inside grace was imported after the lapse"
    assert policy_status_on(policy=policy, on=dt.date(2027, 1, 30)) == "in_force"
    assert policy_status_on(policy=policy, on=dt.date(2027, 2, 1)) == "in_force"
    # the trail says why: the policy's update carries the reversal's rule and the import's job
    event = policy.events.filter(pgh_label="update", status="in_force").latest("pgh_id")
    metadata = event.pgh_context.metadata
    assert metadata["rule"] == "lapse_reversal" and metadata["job"] == "import_statement:late.csv"
    assert Installment.objects.get(policy=policy, due_date=dt.date(2026, 11, 30)).paid_value_date == dt.date(2027, 1, 29)
    # the night that follows changes nothing more
    nightly_run(as_of=dt.date(2027, 2, 1))
    assert _gz().status == "in_force"
    assert PolicyStatusChange.objects.filter(policy=policy, voided_at__isnull=True, status="lapsed").count() == 0


def test_another_installment_past_its_grace_lapses_the_policy_again_on_its_own_date(lapsed):
    nightly_run(as_of=dt.date(2027, 3, 5))  # still lapsed since 2027-01-30
    _statement("2027-01-29,300.00,CNY,张伟,6222020200001234,LATE2,8860000000000001", as_of=dt.date(2027, 3, 5))
    policy = _gz()
    # 2026-12-31's installment is unpaid and its grace ended 2027-03-01: lapsed again from 2027-03-02
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2027, 3, 2))
    changes = [(c.effective_date, c.voided_at is None)
               for c in PolicyStatusChange.objects.filter(policy=policy, status="lapsed").order_by("effective_date")]
    assert changes == [(dt.date(2027, 1, 30), False), (dt.date(2027, 3, 2), True)]
    assert policy_status_on(policy=policy, on=dt.date(2027, 3, 1)) == "in_force"
    assert policy_status_on(policy=policy, on=dt.date(2027, 3, 2)) == "lapsed"


def test_money_valued_after_grace_leaves_the_lapse(lapsed):
    _statement("2027-01-30,300.00,CNY,张伟,6222020200001234,LATE3,8860000000000001", as_of=dt.date(2027, 2, 1))
    policy = _gz()
    assert (policy.status, policy.lapse_date) == ("lapsed", dt.date(2027, 1, 30))
    assert PolicyStatusChange.objects.get(policy=policy, status="lapsed").voided_at is None


def test_a_manual_match_of_in_grace_money_reverses_the_lapse(lapsed, make_user):
    finance = make_user("finance", ["finance"])
    payment = PaymentFactory(value_date=dt.date(2027, 1, 20), amount=Decimal("300.00"))
    assert payment.status == Payment.Status.SUSPENSE
    payment_match_manual(payment=payment, policy=_gz(), amount=Decimal("300.00"), actor=finance,
                         as_of=dt.date(2027, 2, 3))
    assert (_gz().status, _gz().lapse_date) == ("in_force", None)


def test_a_payment_platform_callback_of_in_grace_money_reverses_the_lapse(lapsed, client, settings):
    settings.PAYMENT_WEBHOOK_SECRET = "secret"
    body = json.dumps({"platform": "wechatpay", "transaction_id": "4200002027012900001", "amount": "300.00",
                       "currency": "CNY", "paid_at": "2027-01-29T23:10:00+08:00", "payer_name": "张伟",
                       "policy_no": GZ}).encode()
    response = client.post("/api/v1/webhooks/payments/", body, content_type="application/json",
                           HTTP_X_SIGNATURE=webhook_signature(body=body, secret="secret"),
                           HTTP_X_TIMESTAMP=str(int(time.time())))
    assert response.status_code == 201
    assert (_gz().status, _gz().lapse_date) == ("in_force", None)


def test_a_bounced_mobile_opens_contact_repair_only_when_no_other_channel_works(portfolio):
    # GZ's holder has an e-mail address that works: no case. BJ's holder has a mobile only: a case.
    from outreach.services.receipts import customers_mobile_fail
    from renewals.models import Case

    holders = list(Policy.objects.filter(policy_no__in=[GZ, "8860000000000002"]).values_list("holder_id", flat=True))
    customers_mobile_fail(customer_ids=holders, as_of=dt.date(2026, 11, 26))
    cases = list(Case.objects.filter(type="contact_repair").values_list("policy__policy_no", "status", "opened_on"))
    assert cases == [("8860000000000002", "open", dt.date(2026, 11, 26))]
    customers_mobile_fail(customer_ids=holders, as_of=dt.date(2026, 11, 27))  # again: still one open case
    assert Case.objects.filter(type="contact_repair").count() == 1
