"""Migration 0014 turns the English reasons matching and allocation used to write into codes with
parameters (by pattern; what matches no pattern stays as a person's note)."""

import importlib
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Payment
from billing.tests.factories import AssignmentFactory, PaymentFactory
from policies.models import Policy

pytestmark = pytest.mark.django_db
migration = importlib.import_module("billing.migrations.0014_partial_defaults_and_reason_codes_data")
GZ, BJ = "8860000000000001", "8860000000000002"


def _line(reason, **fields):
    """A 300.00 line (billing.tests.factories.PaymentFactory) with the reason as the old code wrote it."""
    payment = PaymentFactory(amount=Decimal("300.00"), **fields)
    Payment.objects.filter(pk=payment.pk).update(status_reason=reason)
    return payment


def test_old_english_reasons_become_codes_with_their_parameters(portfolio):
    gz = Policy.objects.get(policy_no=GZ)
    lines = {
        "a": _line("no rule matched", remittance="转账"),
        "b": _line("no rule matched", remittance=f"保单{GZ}续期"),
        "c": _line("several policies fit", payer_account="6222020200001234"),
        "d": _line("foreign currency USD: kept unconverted", currency="USD"),
        "e": _line(f"conflicting reference: the text names {BJ}", remittance=f"for {BJ}"),
        "f": _line(f"over-payment of 200.00 on {GZ}: nothing left due; refund"),
        "g": _line("not money received"),
        "h": _line("客户来电说明：下月补缴"),
    }
    for key in ("c", "e"):
        AssignmentFactory(payment=lines[key], policy=gz, amount=Decimal("300.00"), status="proposed", rule="r")
    with connection.cursor() as cursor:
        for statement in migration.REASONS_SQL:
            cursor.execute(statement)
    got = {key: Payment.objects.values_list("reason_code", "reason_params", "status_reason").get(pk=p.pk)
           for key, p in lines.items()}
    assert got == {
        "a": ("no_reference", {}, ""),
        "b": ("amount_fits_no_installment", {"policy_no": GZ, "amount": "300.00"}, ""),
        # GZ's account is registered on GZ alone: a name rule had proposed it
        "c": ("payer_name_several_policies", {"policy_no": GZ}, ""),
        "d": ("foreign_currency", {"currency": "USD"}, ""),
        "e": ("conflicting_reference", {"referenced": BJ, "policy_no": GZ}, ""),
        "f": ("overpayment_nothing_due", {"excess": "200.00", "policy_no": GZ}, ""),
        "g": ("not_money_received", {}, ""),
        "h": ("", {}, "客户来电说明：下月补缴"),
    }
