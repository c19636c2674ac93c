import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from billing.services.matching import payment_match
from billing.services.payments import payment_create
from billing.services.reconciliation import (
    reconciliation_csv,
    reconciliation_day_totals,
    reconciliation_for,
    reconciliation_xlsx,
)
from billing.services.schedules import installments_extend
from billing.services.suspense import payment_refund
from conftest import AS_OF

pytestmark = pytest.mark.django_db
D = Decimal
DAY = dt.date(2026, 11, 28)


@pytest.fixture
def day_of_money(portfolio, make_user):
    installments_extend(as_of=AS_OF)
    finance = make_user("fin", ["finance"])
    lines = [("a", "300.00", "保单8860000000000001续期"),  # matched and allocated
             ("b", "88.00", "不知道是什么"),  # suspense
             ("c", "50.00", "退款")]  # refunded
    for identity, amount, text in lines:
        payment, _ = payment_create(source="bank", account_no="6222020200000000001", identity=identity,
                                    value_date=DAY, amount=D(amount), remittance=text)
        payment_match(payment=payment, as_of=AS_OF)
    from billing.models import Payment
    payment_refund(payment=Payment.objects.get(identity="c"), actor=finance, reason="not ours")


def test_totals_by_source_and_account_add_up(day_of_money):
    recon = reconciliation_for(day=DAY)
    [group] = recon["groups"]
    assert (group["source"], group["lines"], group["received"], group["allocated"], group["suspense"],
            group["refunded"], group["difference"]) == ("bank", 3, D("438.00"), D("300.00"), D("88.00"),
                                                         D("50.00"), D("0.00"))
    assert [line.reference or line.payer_name or str(line.amount) for line in recon["open_lines"]] == ["88.00", "50.00"]


def test_day_totals_are_the_days_lines_summed(day_of_money):
    """The finance dashboard's days (reconciliation_day_totals) sum the same lines as the day's page;
    a day without money has zeros."""
    before, day = reconciliation_day_totals(first=DAY - dt.timedelta(days=1), last=DAY)[::-1]
    assert (day["day"], day["lines"], day["received"], day["allocated"], day["credit"],
            day["waiting"], day["suspense"], day["refunded"], day["difference"]) == (
        DAY, 3, D("438.00"), D("300.00"), D("0.00"), D("0.00"), D("88.00"), D("50.00"), D("0.00"))
    [group] = reconciliation_for(day=DAY)["groups"]
    assert all(day[c] == group[c] for c in ("received", "allocated", "credit", "waiting", "suspense", "refunded"))
    assert (before["day"], before["lines"], before["received"], before["difference"]) == (
        DAY - dt.timedelta(days=1), 0, D("0.00"), D("0.00"))


def test_xlsx_has_typed_numbers_and_dates(day_of_money):
    book = load_workbook(io.BytesIO(reconciliation_xlsx(recon=reconciliation_for(day=DAY))))
    summary = book["summary"]
    assert summary["E2"].value == 438 and summary["E2"].number_format == "#,##0.00"
    detail = book["lines not fully allocated"]
    assert isinstance(detail["A2"].value, dt.datetime) and detail["A2"].value.date() == DAY
    assert detail["I2"].value == 88


def test_csv_lists_every_line(day_of_money):
    rows = reconciliation_csv(recon=reconciliation_for(day=DAY)).decode("utf-8-sig").splitlines()
    assert len(rows) == 4 and rows[1].startswith("2026-11-28,bank,6222020200000000001,CNY")
