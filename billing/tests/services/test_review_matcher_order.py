"""Review of issue 9: the set-based matcher books a line only when no other line of the file could
reach the same policy, so the import gives the outcome of matching the lines one by one, in
order (billing.services.bulk_matching's docstring). Two files where another line does reach it:

A: line 1, 720.00 valued 2026-11-24, names ...11 (monthly 120.00, k = 46 due 2026-11-28, k = 47
   2026-12-28) and ...12 (quarterly 600.00, k = 19 due 2026-11-28): 120.00 + 600.00; line 2,
   120.00 valued 2026-11-25, names ...11 alone. One by one: line 1 pays k = 46, line 2 k = 47.
B: line 1, 200.00 valued 2026-11-24 from ...04's registered account, no policy number (k = 67
   due 2026-12-15, k = 68 2027-01-15); line 2, 200.00 valued 2026-11-25, names ...04. One by
   one: line 1 pays k = 67, line 2 k = 68.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction

from billing.models import Allocation, Payment
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.tests.services.money_data import policies_add
from conftest import AS_OF

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要"
J, K, DD = "8860000000000011", "8860000000000012", "8860000000000004"
FILE_A = [("2026-11-24", "720.00", "冯敏", "", "RV01", f"{J} {K}"),
          ("2026-11-25", "120.00", "冯敏", "", "RV02", f"保单{J}")]
FILE_B = [("2026-11-24", "200.00", "刘洋", "6222000000000004", "RV01", "续期保费"),
          ("2026-11-25", "200.00", "刘洋", "", "RV02", f"保单{DD}")]


@pytest.fixture
def policies(portfolio):
    policies_add(J, K, DD)
    installments_extend(as_of=AS_OF)


def _allocations() -> dict:
    return {p.reference: sorted((a.installment.policy.policy_no, a.installment.sequence, a.amount, a.value_date)
                                for a in Allocation.objects.filter(assignment__payment=p).select_related(
                                    "installment__policy"))
            for p in Payment.objects.filter(reference__startswith="RV")}


def _by_import(lines) -> dict:
    csv = "\n".join([HEADER, *(",".join([line[0], line[1], "CNY", *line[2:]]) for line in lines)]) + "\n"
    statement_import(name="order.csv", data=csv.encode(), format="csv", template="cn-online-banking", as_of=AS_OF)
    return _allocations()


def _one_by_one(lines) -> dict:
    for value_date, amount, name, account, reference, text in lines:
        payment, _ = payment_create(source="bank", account_no=settings.MAIN_RECEIVING_ACCOUNT, identity=reference,
                                    value_date=dt.date.fromisoformat(value_date), amount=D(amount), payer_name=name,
                                    payer_account=account, reference=reference, remittance=text)
        payment_match(payment=payment, as_of=AS_OF)
    return _allocations()


def _rolled_back(run, lines):
    with transaction.atomic():
        result = run(lines)
        transaction.set_rollback(True)
    return result


def test_a_line_naming_the_policy_among_others_keeps_the_file_order(policies):
    one_by_one = _rolled_back(_one_by_one, FILE_A)
    assert one_by_one == {
        "RV01": [(J, 46, D("120.00"), dt.date(2026, 11, 24)), (K, 19, D("600.00"), dt.date(2026, 11, 24))],
        "RV02": [(J, 47, D("120.00"), dt.date(2026, 11, 25))],
    }
    assert _rolled_back(_by_import, FILE_A) == one_by_one


def test_a_line_from_the_policys_account_keeps_the_file_order(policies):
    one_by_one = _rolled_back(_one_by_one, FILE_B)
    assert one_by_one == {
        "RV01": [(DD, 67, D("200.00"), dt.date(2026, 11, 24))],
        "RV02": [(DD, 68, D("200.00"), dt.date(2026, 11, 25))],
    }
    assert _rolled_back(_by_import, FILE_B) == one_by_one
