"""The set-based bulk matcher and the per-line matcher agree (issue 9): one mixed statement,
imported (set-based where it can, per line for the rest) and matched line by line from scratch,
gives the same outcome on every line: status, reason, policies, amounts allocated per
installment. The shipped matching rules decide (policy number and payer account accept other
amounts, payer name proposes).

Given (money_data.POLICIES; value date 2026-11-24, business date 2026-11-25):
 1 exact        300.00 names GZ: its k = 82 (2026-11-30, 300.00) paid                      set-based
 2 partial    2,500.00 names 8860000000000003: k = 7 (5,000.00) partially paid 2,500.00      set-based
 3 over-pay   1,500.00 names 8860000000000007 (monthly 100.00 from 2026-12-15): what falls
              due before 2027-11-24 is k = 66 .. 77, 12 x 100.00 = 1,200.00; 300.00 back to
              suspense (overpayment_beyond_12_months, to 2027-11-23)                        per line
 4 account      200.00 from 8860000000000004's account: k = 67 paid                        set-based
 5 account    150.00 from 8860000000000008's account (400.00 due): k = 57 partially paid   set-based
 6 conflict     250.00 from 8860000000000009's account, the text names the surrendered
              8860000000000010: proposed to ...09 (conflicting_reference)                  per line
 7 several      720.00 names ...11 and ...12: 120.00 + 600.00, both paid                   per line
 8 several       50.00 names ...13 and ...14: fits no share (several_policies_referenced)   per line
 9 name         333.00 from 赵敏, holder of ...15 and ...16: proposed to ...15               per line
10 hopeless      88.00 from nobody we know (no_reference)                                  set-based
11 currency   1,200.00 USD naming BJ: kept unconverted (foreign_currency)                  per line
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction

from billing.models import Allocation, Assignment, Installment, Payment
from billing.services.matching import payment_match
from billing.services.payments import payment_create
from billing.services.schedules import installments_extend
from billing.services.statements import statement_import
from billing.tests.services.money_data import policies_add
from conftest import AS_OF

pytestmark = pytest.mark.django_db
D = Decimal
DAY = dt.date(2026, 11, 24)
HEADER = "交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要"
LINES = [
    ("300.00", "CNY", "张伟", "6222020200001234", "EQ01", "保单8860000000000001续期保费"),
    ("2500.00", "CNY", "陈静", "", "EQ02", "保单8860000000000003 premium part 1/2"),
    ("1500.00", "CNY", "郑爽", "", "EQ03", "8860000000000007 一年保费"),
    ("200.00", "CNY", "刘洋", "6222000000000004", "EQ04", "续期保费"),
    ("150.00", "CNY", "孙丽", "6222000000000008", "EQ05", "保费"),
    ("250.00", "CNY", "周杰", "6222000000000009", "EQ06", "保单8860000000000010"),
    ("720.00", "CNY", "冯敏", "", "EQ07", "8860000000000011 8860000000000012"),
    ("50.00", "CNY", "", "", "EQ08", "8860000000000013 8860000000000014"),
    ("333.00", "CNY", "赵敏", "", "EQ09", "续期保费"),
    ("88.00", "CNY", "李四", "6228000000000009", "EQ10", "不知道是什么钱"),
    ("1200.00", "USD", "王芳", "", "EQ11", "8860000000000002"),
]
GZ, C, G, DD, H, I_, S, J, K, L, M, ZM = ("8860000000000001", "8860000000000003", "8860000000000007",
                                         "8860000000000004", "8860000000000008", "8860000000000009",
                                         "8860000000000010", "8860000000000011", "8860000000000012",
                                         "8860000000000013", "8860000000000014", "8860000000000015")


@pytest.fixture
def mixed(portfolio):
    policies_add()
    installments_extend(as_of=AS_OF)


def _outcomes() -> dict:
    """Per line (by the bank's reference): status, reason, assignments, allocations."""
    result = {}
    for payment in Payment.objects.filter(reference__startswith="EQ"):
        assignments = sorted((a.policy.policy_no, a.status, a.amount)
                             for a in Assignment.objects.filter(payment=payment).select_related("policy"))
        allocations = sorted((a.installment.policy.policy_no, a.installment.sequence, a.amount, a.value_date)
                             for a in Allocation.objects.filter(assignment__payment=payment, reversed_at__isnull=True)
                             .select_related("installment__policy"))
        result[payment.reference] = (payment.status, payment.reason_code, payment.reason_params, assignments,
                                     allocations)
    return result


def _installments() -> list:
    return list(Installment.objects.exclude(amount_paid=0).order_by("policy__policy_no", "sequence")
                .values_list("policy__policy_no", "sequence", "amount_paid", "status", "paid_value_date"))


def _by_import() -> tuple[dict, list, dict]:
    csv = "\n".join([HEADER, *(",".join([DAY.isoformat(), *line]) for line in LINES)]) + "\n"
    report = statement_import(name="mixed.csv", data=csv.encode(), format="csv", template="cn-online-banking",
                              as_of=AS_OF)
    # the lines written once, with their outcome, were decided set-based (a per-line match
    # updates the stored line, which the trail records)
    from billing.models import PaymentEvent

    set_based = {p.reference for p in Payment.objects.filter(reference__startswith="EQ")
                 if PaymentEvent.objects.filter(pgh_obj_id=p.pk, pgh_label="update").count() == 0}
    return _outcomes(), _installments(), {"report": report, "set_based": set_based}


def _line_by_line() -> tuple[dict, list]:
    for amount, currency, name, account, reference, text in LINES:
        payment, _ = payment_create(source="bank", account_no=settings.MAIN_RECEIVING_ACCOUNT, identity=reference,
                                    value_date=DAY, amount=D(amount), currency=currency, payer_name=name,
                                    payer_account=account, reference=reference, remittance=text)
        payment_match(payment=payment, as_of=AS_OF)
    return _outcomes(), _installments()


def _rolled_back(run):
    with transaction.atomic():
        result = run()
        transaction.set_rollback(True)
    return result


def test_bulk_and_per_line_matchers_agree_on_a_mixed_statement(mixed):
    imported, imported_installments, extra = _rolled_back(_by_import)
    per_line, per_line_installments = _rolled_back(_line_by_line)

    # the import did decide the common cases set-based, the rest line by line
    assert extra["set_based"] == {"EQ01", "EQ02", "EQ04", "EQ05", "EQ10"}
    assert {k: extra["report"][k] for k in ("new", "matched", "proposed", "suspense")} == {
        "new": 11, "matched": 6, "proposed": 2, "suspense": 3}

    assert imported == per_line
    assert imported_installments == per_line_installments

    monthly = [(G, k, D("100.00"), DAY) for k in range(66, 78)]
    assert per_line == {
        "EQ01": ("matched", "", {}, [(GZ, "confirmed", D("300.00"))], [(GZ, 82, D("300.00"), DAY)]),
        "EQ02": ("matched", "", {}, [(C, "confirmed", D("2500.00"))], [(C, 7, D("2500.00"), DAY)]),
        "EQ03": ("suspense", "overpayment_beyond_12_months",
                 {"excess": "300.00", "policy_no": G, "until": "2027-11-23"},
                 [(G, "confirmed", D("1200.00"))], monthly),
        "EQ04": ("matched", "", {}, [(DD, "confirmed", D("200.00"))], [(DD, 67, D("200.00"), DAY)]),
        "EQ05": ("matched", "", {}, [(H, "confirmed", D("150.00"))], [(H, 57, D("150.00"), DAY)]),
        "EQ06": ("proposed", "conflicting_reference", {"referenced": S, "policy_no": I_},
                 [(I_, "proposed", D("250.00"))], []),
        "EQ07": ("matched", "", {}, [(J, "confirmed", D("120.00")), (K, "confirmed", D("600.00"))],
                 [(J, 46, D("120.00"), DAY), (K, 19, D("600.00"), DAY)]),
        "EQ08": ("suspense", "several_policies_referenced", {"policy_nos": f"{L} {M}"}, [], []),
        "EQ09": ("proposed", "payer_name_several_policies", {"policy_no": ZM}, [(ZM, "proposed", D("333.00"))], []),
        "EQ10": ("suspense", "no_reference", {}, [], []),
        "EQ11": ("suspense", "foreign_currency", {"currency": "USD"}, [], []),
    }
    assert per_line_installments == sorted([
        (GZ, 82, D("300.00"), "paid", DAY),
        (C, 7, D("2500.00"), "partially_paid", None),
        *[(G, k, D("100.00"), "paid", DAY) for k in range(66, 78)],
        (DD, 67, D("200.00"), "paid", DAY),
        (H, 57, D("150.00"), "partially_paid", None),
        (J, 46, D("120.00"), "paid", DAY),
        (K, 19, D("600.00"), "paid", DAY),
    ])
