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


def _post(client, payload, *, secret=SECRET, timestamp=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
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


# Each bad value answers 400 naming its field, and nothing is stored (issue 10: "NaN", "Infinity",
# "1e13", "CNYX" and a 201-character transaction id answered 500).
BAD_VALUES = [
    ("amount", "NaN"), ("amount", "Infinity"), ("amount", "-Infinity"), ("amount", "1e13"), ("amount", "1E2"),
    ("amount", "3.001"), ("amount", "0.00"), ("amount", "-300.00"), ("amount", "1000000000000.00"),
    ("amount", "１２.00"), ("amount", " 300.00"), ("amount", "300,00"), ("amount", ""),
    ("amount", 300), ("amount", 300.5), ("amount", None), ("amount", {"value": "300.00"}), ("amount", ["300.00"]),
    ("amount", True),
    ("currency", "CNYX"), ("currency", "cny"), ("currency", "XXX"), ("currency", 156), ("currency", None),
    ("transaction_id", "1" * 201), ("transaction_id", "1" * 65), ("transaction_id", 2026112822001),
    ("transaction_id", "2026 1128"), ("transaction_id", "a\x00b"), ("transaction_id", ""), ("transaction_id", None),
    ("paid_at", "2026-02-30T10:00:00+08:00"), ("paid_at", "2026-13-01T10:00:00+08:00"),
    ("paid_at", "2026-11-28T24:30:00+08:00"), ("paid_at", "2026-11-28T23:30:00"), ("paid_at", "0001-01-01T00:00:00+14:00"),
    ("paid_at", "9999-12-31T23:59:59-14:00"), ("paid_at", "yesterday"), ("paid_at", 1796290829),
    ("platform", "paypal"), ("platform", ["alipay"]), ("platform", None),
    ("payer_name", "张" * 129), ("payer_name", 42), ("payer_account", "6" * 65), ("policy_no", "8" * 33),
    ("policy_no", 8860000000000001), ("remittance", "x" * 513), ("remittance", {"text": "premium"}),
]


@pytest.mark.parametrize(("field", "value"), BAD_VALUES, ids=[f"{f}={str(v)[:24]!r}" for f, v in BAD_VALUES])
def test_each_bad_value_is_a_400_naming_its_field_and_stores_nothing(ready, client, field, value):
    response = _post(client, {**PAYLOAD, field: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    assert Payment.objects.count() == 0


def test_a_missing_field_is_named(ready, client):
    response = _post(client, {k: v for k, v in PAYLOAD.items() if k != "amount"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["amount"]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e13", "300.00", "3E+2"])
def test_a_json_number_for_the_amount_is_refused_without_passing_through_float(ready, client, literal):
    """Python's json takes NaN and Infinity as numbers; they, and any number, are the wrong type for
    an amount (a string, interfaces.md)."""
    body = json.dumps(PAYLOAD).replace('"300.00"', literal).encode()
    response = _post(client, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["amount"]
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("body", [b"[]", b'"payment"', b"null", b"42", b"{", b"\xff\xfe", b"", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(ready, client, body):
    response = _post(client, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["body"]
    assert Payment.objects.count() == 0


def test_the_largest_amount_and_another_currency_are_taken(ready, client):
    """The edges that are allowed: 999999999999.99 (NUMERIC(14,2)) in US dollars, kept in its own
    currency (suspense, never converted)."""
    response = _post(client, {**PAYLOAD, "transaction_id": "T-max_1", "amount": "999999999999.99",
                               "currency": "USD"})
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency, payment.reference) == (Decimal("999999999999.99"), "USD", "T-max_1")


def test_a_payment_without_currency_is_in_yuan(ready, client):
    response = _post(client, {k: v for k, v in PAYLOAD.items() if k != "currency"})
    assert response.status_code == 201
    assert Payment.objects.get().currency == "CNY"


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-1.00", "0.00", "1.001"])
def test_the_service_refuses_an_amount_that_is_not_money_with_a_named_error(amount):
    """A caller other than the callback (whose serializer checks first) gets the service's own
    answer naming the field, also for NaN (compared before it was known finite, it raised
    decimal.InvalidOperation instead)."""
    import datetime as dt

    from billing.services.webhooks import webhook_payment_receive
    from core.dates import SHANGHAI
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as raised:
        webhook_payment_receive(platform="alipay", transaction_id="T-nan", amount=Decimal(amount),
                                paid_at=dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI), as_of=AS_OF)
    assert "amount" in raised.value.errors
    assert not Payment.objects.exists()
