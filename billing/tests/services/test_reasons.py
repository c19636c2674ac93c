"""Suspense reasons are codes with parameters, rendered in the reader's language: Chinese unless
the user picked English (issue 9)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from billing.models import Payment
from billing.reasons import SENTENCES, reason_text
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from billing.services.suspense import assignment_reject, payment_refund
from conftest import AS_OF

D = Decimal


def test_every_code_has_a_sentence():
    assert set(SENTENCES) == set(Payment.ReasonCode.values)


def test_codes_are_rendered_in_chinese_by_default_with_their_parameters():
    assert reason_text(code="overpayment_nothing_due", params={"excess": "200.00", "policy_no": "8860000000000001"}) \
        == "保单 8860000000000001 多付 200.00 元，该保单已无应缴保费；待退款。"
    assert reason_text(code="no_reference") == "附言中的保单号、登记的付款账号和投保人姓名都未指向任何保单。"
    assert reason_text(code="foreign_currency", params={"currency": "USD"}) == "外币 USD：按原币种保留，未折算。"
    assert reason_text(code="conflicting_reference",
                       params={"referenced": "8860000000000002", "policy_no": "8860000000000001"}) == (
        "附言保单号冲突：附言写的是保单 8860000000000002，规则找到的是保单 8860000000000001。")
    assert reason_text(code="several_policies_referenced", params={"policy_nos": "8860000000000013 8860000000000014"}) \
        == "附言涉及多张保单（8860000000000013 8860000000000014），金额与任何一种分摊方式都不符。"
    assert reason_text(code="amount_fits_no_installment", params={"policy_no": "8860000000000003", "amount": "2500.00"}) \
        == "金额 2500.00 与保单 8860000000000003 的任何未缴期次都不符。"


def test_english_when_asked_a_missing_parameter_as_a_dash_and_a_persons_note_after_the_sentence():
    assert reason_text(code="foreign_currency", params={"currency": "USD"}, language="en") == (
        "Foreign currency USD: kept unconverted.")
    with translation.override("en"):
        assert reason_text(code="manual_reject", params={}, note="wrong policy") == (
            "A person rejected the match to policy —. wrong policy")
    # free text from before the codes (a reason the migration could not map) stays as it was
    assert reason_text(code="", params={}, note="客户来电说明") == "客户来电说明"


@pytest.mark.django_db
def test_a_rejection_writes_a_code_and_keeps_what_the_person_typed(portfolio, make_user, settings):
    settings.BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD = "100.00"
    installments_extend(as_of=AS_OF)
    from billing.services.suspense import payment_match_manual
    from policies.models import Policy

    maker, checker = make_user("fin1", ["finance"]), make_user("fin2", ["finance"])
    payment, _ = payment_create(source="bank", account_no="A", identity="r1", value_date=dt.date(2026, 11, 27),
                                amount=D("300.00"))
    assignment = payment_match_manual(payment=payment, policy=Policy.objects.get(policy_no="8860000000000001"),
                                      amount=D("300.00"), actor=maker, as_of=AS_OF)
    assignment_reject(assignment=assignment, actor=checker, reason="客户说是另一张保单")
    payment.refresh_from_db()
    assert (payment.status, payment.reason_code, payment.reason_params, payment.status_reason) == (
        "suspense", "manual_reject", {"policy_no": "8860000000000001"}, "客户说是另一张保单")
    assert payment.reason_text == "与保单 8860000000000001 的匹配已被人工驳回。 客户说是另一张保单"
    payment_refund(payment=payment, actor=checker, reason="退回付款人")
    payment.refresh_from_db()
    assert (payment.status, payment.reason_code, payment.status_reason) == ("refunded", "manual_reject", "退回付款人")
