import datetime as dt
from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from billing.models import Assignment, Installment, MatchingRule, Payment
from billing.services.matching import payment_match
from billing.services.schedules import installments_extend
from billing.tests.factories import MatchingRuleFactory, PaymentFactory
from conftest import AS_OF

pytestmark = pytest.mark.django_db
D = Decimal
GZ, BJ = "8860000000000001", "8860000000000002"


@pytest.fixture
def rules(portfolio):
    installments_extend(as_of=AS_OF)
    MatchingRule.objects.all().delete()  # the shipped defaults; these tests set their own
    return {"reference": MatchingRuleFactory(position=10, name="ref", reference=True),
            "account": MatchingRuleFactory(position=20, name="account", payer_account=True),
            "name": MatchingRuleFactory(position=30, name="name", payer_name=True, action="propose")}


def _line(amount, value_date=dt.date(2026, 11, 28), **fields):
    """A bank line received on the company's account (billing.tests.factories.PaymentFactory)."""
    return PaymentFactory(amount=D(amount), value_date=value_date, **fields)


def _admin_edit(client, rule, **changes):
    """Change a rule the way an administrator does: through the admin's change form."""
    from django.forms.models import model_to_dict

    data = {k: ("" if v is None else v) for k, v in model_to_dict(rule).items() if k != "id"}
    data.update(changes)
    response = client.post(f"/admin/billing/matchingrule/{rule.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.fixture
def admin_client_(client):
    admin = UserFactory(username="rules_admin", roles=["admin"], branches=["HQ"], is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_policy_number_glued_to_chinese_text_is_found_and_booked(rules):
    payment = _line("300.00", remittance="保单8860000000000001续期保费")
    outcome = payment_match(payment=payment, as_of=AS_OF)
    assert (outcome.status, outcome.rule) == ("matched", "ref")
    first = Installment.objects.filter(policy__policy_no=GZ).order_by("sequence").first()
    assert (first.amount_paid, first.status) == (D("300.00"), "paid")


def test_one_transfer_for_two_policies_is_split_by_what_each_owes(rules):
    # GZ owes 300.00 due 2026-11-30 (window 90 days from 2026-11-28 reaches 2027-02-26: 300 x 3 = 900.00)
    # BJ owes 1200.00 due 2026-02-28 (the 2027-02-28 one is outside the window)
    payment = _line("2100.00", remittance=f"{GZ} {BJ}")
    outcome = payment_match(payment=payment, as_of=AS_OF)
    assert outcome.status == "matched"
    assert sorted((p.policy_no, a) for p, a in outcome.splits) == [(GZ, D("900.00")), (BJ, D("1200.00"))]


def test_reference_rule_amount_tolerance_edited_in_the_admin_changes_the_outcome(rules, admin_client_):
    assert payment_match(payment=_line("299.00", remittance=GZ), as_of=AS_OF).status == "suspense"
    _admin_edit(admin_client_, rules["reference"], amount_tolerance="1.00", window_days=10)
    assert payment_match(payment=_line("299.00", remittance=GZ), as_of=AS_OF).status == "matched"


def test_payer_account_rule_and_a_conflicting_reference(rules):
    # paid from GZ's registered account, exact amount: booked
    assert payment_match(payment=_line("300.00", payer_account="6222020200001234"), as_of=AS_OF).status == "matched"
    # the same account but the text names BJ's policy and the amount is BJ's: the reference rule books BJ
    outcome = payment_match(payment=_line("1200.00", remittance=BJ, payer_account="6222020200001234"), as_of=AS_OF)
    assert [p.policy_no for p, _a in outcome.splits] == [BJ]
    # the text names BJ but the amount fits only GZ via the account: proposed, never booked
    outcome = payment_match(payment=_line("300.00", remittance=f"for {BJ}", payer_account="6222020200001234"),
                            as_of=AS_OF)
    assert (outcome.status, outcome.reason_code, outcome.reason_params) == (
        "proposed", "conflicting_reference", {"referenced": BJ, "policy_no": GZ})


def test_payer_account_rule_switched_off_in_the_admin(rules, admin_client_):
    _admin_edit(admin_client_, rules["account"], active="")
    payment = _line("300.00", payer_account="6222020200001234")
    rules_now = list(MatchingRule.objects.filter(active=True))
    assert payment_match(payment=payment, as_of=AS_OF, rules=rules_now).status == "suspense"


def test_payer_name_rule_proposes_and_reordering_in_the_admin_lets_it_decide_first(rules, admin_client_):
    # 王芳 holds BJ; the name rule proposes for a person to confirm
    outcome = payment_match(payment=_line("1200.00", payer_name="王芳"), as_of=AS_OF)
    assert outcome.status == "proposed"
    assert Assignment.objects.get(payment__payer_name="王芳").status == "proposed"
    # the account rule books GZ; moved after the name rule with the name rule set to auto, the name decides
    line = dict(amount="300.00", payer_name="张伟", payer_account="6222020200001234")
    assert payment_match(payment=_line(**line), as_of=AS_OF).rule == "account"
    _admin_edit(admin_client_, rules["name"], position=5, action="auto")
    assert payment_match(payment=_line(**line), as_of=AS_OF).rule == "name"


def test_foreign_currency_goes_to_suspense_unconverted(rules):
    payment = _line("300.00", remittance=GZ, currency="EUR")
    assert payment_match(payment=payment, as_of=AS_OF).status == "suspense"
    payment.refresh_from_db()
    assert (payment.status, payment.currency, payment.amount) == (Payment.Status.SUSPENSE, "EUR", D("300.00"))
