import datetime as dt
from decimal import Decimal

import pytest

from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_create
from billing.services.schedules import installments_extend
from conftest import AS_OF
from policies.models import Policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_once(portfolio):
    installments_extend(as_of=AS_OF)
    policy = Policy.objects.get(policy_no="8860000000000001")
    payment, _ = payment_create(source="bank", account_no="A", identity="x1", value_date=dt.date(2026, 11, 28),
                                amount=Decimal("450.00"), payer_name="张伟")
    payment_assign(payment=payment, policy=policy, amount=Decimal("450.00"), rule="test")
    policy_allocate(policy_id=policy.pk, as_of=AS_OF)
    return policy


def test_installments_api_lists_in_sequence_with_amounts_as_strings(paid_once, make_user, client):
    client.force_login(make_user("clerk_gz", ["clerk"], ["GD-GZ"]))
    body = client.get("/api/v1/policies/8860000000000001/installments/").json()
    assert body["count"] == 13
    assert body["results"][:2] == [
        {"sequence": 82, "due_date": "2026-11-30", "grace_end": "2027-01-29", "amount_due": "300.00",
         "amount_paid": "300.00", "status": "paid", "paid_value_date": "2026-11-28"},
        {"sequence": 83, "due_date": "2026-12-31", "grace_end": "2027-03-01", "amount_due": "300.00",
         "amount_paid": "150.00", "status": "partially_paid", "paid_value_date": None},
    ]


def test_installments_api_is_404_outside_the_branch(paid_once, make_user, client):
    client.force_login(make_user("clerk_bj", ["clerk"], ["BJ"]))
    assert client.get("/api/v1/policies/8860000000000001/installments/").status_code == 404


def test_policy_page_shows_installments_payments_and_allocations(paid_once, make_user, client):
    client.force_login(make_user("clerk_gz", ["clerk"], ["GD-GZ"]))
    page = client.get("/policies/8860000000000001/").content.decode()
    assert 'id="installments"' in page and "2027-01-29" in page
    assert "450.00" in page  # the payment
    assert 'id="allocations"' in page


def test_payments_and_allocations_read_api(paid_once, make_user, client):
    client.force_login(make_user("fin_api", ["finance"]))
    body = client.get("/api/v1/payments/?status=matched").json()
    assert body["count"] == 1
    assert {k: body["results"][0][k] for k in ("amount", "status", "policies")} == {
        "amount": "450.00", "status": "matched", "policies": ["8860000000000001"]}
    allocations = client.get("/api/v1/policies/8860000000000001/allocations/").json()["results"]
    assert [(a["sequence"], a["amount"]) for a in allocations] == [(82, "300.00"), (83, "150.00")]
    client.force_login(make_user("clerk_api", ["clerk"], ["GD-GZ"]))
    assert client.get("/api/v1/payments/").status_code == 403
