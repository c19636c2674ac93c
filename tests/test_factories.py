"""The factories of <app>/tests/factories.py make what the product itself would: valid ID numbers,
users who can sign in with their roles, schedules the nightly run would make, money recorded by
the services."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.roles import perm
from accounts.tests.factories import PASSWORD, TokenFactory, UserFactory
from billing.models import Installment, Payment
from billing.tests.factories import AssignmentFactory, InstallmentFactory, MatchingRuleFactory, PaymentFactory
from policies.tests.factories import BranchFactory, CustomerFactory, PolicyFactory, PolicyStatusChangeFactory
from policies.validation import resident_id_birth_date, resident_id_clean, resident_id_gender
from risk.tests.factories import AllowedPayerFactory, ClaimFactory, FlagFactory

pytestmark = pytest.mark.django_db


def test_customers_carry_valid_resident_ids_that_agree_with_birth_date_and_gender():
    for customer in CustomerFactory.create_batch(12):
        assert resident_id_clean(customer.id_no) == customer.id_no
        assert resident_id_birth_date(customer.id_no) == customer.birth_date
        assert resident_id_gender(customer.id_no) == customer.gender
        assert len(customer.phone) == 11


def test_a_user_signs_in_with_the_roles_and_branches_given():
    hq = BranchFactory(code="HQ", name="总公司")
    gz = BranchFactory(code="GZ", name="广州中心支公司", parent=hq)
    assert (hq.path, gz.path) == ("/HQ/", "/HQ/GZ/")

    user = UserFactory(username="clerk_gz", roles=["clerk"], branches=["GZ"])

    assert user.check_password(PASSWORD)
    assert user.has_perm(perm("work_cases")) and not user.has_perm(perm("import_statements"))
    assert list(user.branches.values_list("code", flat=True)) == ["GZ"]
    assert UserFactory(language="en").language == "en"
    assert TokenFactory().user.is_service_user


def test_a_branch_or_product_named_by_code_is_the_existing_one():
    branch = BranchFactory(code="GD-GZ", name="广州中心支公司")
    policy = PolicyFactory(branch__code="GD-GZ", product__code="WL20", product__grace_days=60)
    assert policy.branch == branch
    assert PolicyFactory(product__code="WL20").product == policy.product


def test_a_policy_has_no_schedule_until_asked_then_the_nightly_one():
    assert not PolicyFactory().installments.exists()

    # issued 2024-01-15, annual, paid to 2026-01-15 (two years): k = 2 due 2026-01-15 is the first
    # open one, k = 3 due 2027-01-15 is within 13 months of 2026-11-25
    policy = PolicyFactory(schedule_as_of=dt.date(2026, 11, 25))

    assert list(policy.installments.order_by("sequence").values_list("sequence", "due_date", "amount_due")) == [
        (2, dt.date(2026, 1, 15), Decimal("1000.00")),
        (3, dt.date(2027, 1, 15), Decimal("1000.00")),
    ]


def test_hand_made_rows_keep_the_models_rules():
    policy = PolicyFactory(frequency="monthly", modal_premium=Decimal("300.00"), lapsed=True)
    assert policy.lapse_date == dt.date(2026, 3, 17)  # paid to 2026-01-15 + 61 days
    installment = InstallmentFactory(policy=policy, sequence=3, paid=True)
    assert (installment.due_date, installment.grace_end) == (dt.date(2024, 4, 15), dt.date(2024, 6, 14))
    assert (installment.status, installment.amount_paid) == (Installment.Status.PAID, Decimal("300.00"))
    assert PolicyStatusChangeFactory(policy=policy, voided=True).voided_at is not None


def test_money_goes_through_the_services():
    payment = PaymentFactory(amount=Decimal("500.00"))
    assert payment.status == Payment.Status.SUSPENSE
    AssignmentFactory(payment=payment, amount=Decimal("500.00"))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.MATCHED
    assert MatchingRuleFactory(payer_account=True).pattern == ""


def test_risk_rows():
    policy = PolicyFactory()
    assert ClaimFactory(policy=policy).reported_date == dt.date(2026, 9, 11)
    assert AllowedPayerFactory(customer=policy.holder).payer_name
    flag = FlagFactory(policy=policy)
    assert (flag.kind, flag.policy_ids) == ("unpaid_installments", [policy.pk])
