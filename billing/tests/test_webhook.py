import json
import time
from decimal import Decimal

import pytest

from billing.models import Installment, Payment
from billing.services.schedules import installments_extend
from billing.services.webhooks import webhook_signature
from conftest import AS_OF

pytestmark = pytest.mark.django_db
SECRET = "test-webhook-secret"


@pytest.fixture
def ready(portfolio, settings):
    settings.PAYMENT_WEBHOOK_SECRET = SECRET
    installments_extend(as_of=AS_OF)


def _post(client, payload: dict, *, secret=SECRET, timestamp=None):
    body = json.dumps(payload).encode()
    return client.post("/api/v1/webhooks/payments/", body, content_type="application/json",
                       HTTP_X_SIGNATURE=webhook_signature(body=body, secret=secret),
                       HTTP_X_TIMESTAMP=str(timestamp if timestamp is not None else int(time.time())))


PAYLOAD = {"platform": "alipay", "transaction_id": "2026112822001", "amount": "300.00", "currency": "CNY",
           "paid_at": "2026-11-28T23:30:00+08:00", "payer_name": "张伟", "policy_no": "8860000000000001"}


def test_a_signed_callback_creates_the_payment_once_and_allocates_it(ready, client):
    first = _post(client, PAYLOAD)
    assert first.status_code == 201 and first.json()["status"] == "matched"
    again = _post(client, PAYLOAD)
    assert again.status_code == 200 and again.json()["created"] is False
    assert Payment.objects.filter(source="alipay").count() == 1
    paid = Installment.objects.get(policy__policy_no="8860000000000001", status="paid")
    assert str(paid.paid_value_date) == "2026-11-28"  # 23:30 in Shanghai is still the 28th
    assert paid.amount_paid == Decimal("300.00")


def test_a_bad_signature_or_a_stale_timestamp_is_refused(ready, client):
    assert _post(client, PAYLOAD, secret="wrong").status_code == 403
    assert _post(client, PAYLOAD, timestamp=int(time.time()) - 301).status_code == 403
    assert Payment.objects.count() == 0


def test_a_malformed_body_is_a_400_naming_the_problem(ready, client):
    response = _post(client, {**PAYLOAD, "amount": "3.001"})
    assert response.status_code == 400 and "amount" in response.json()["errors"]
