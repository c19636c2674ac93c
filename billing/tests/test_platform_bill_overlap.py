"""A trade paid through a payment link (the platform's notification books it at once) and listed
again in the next day's merchant bill is one money line, not two: the bill's lines are keyed as
the notifications are (account "alipay:<main account>", identity "alipay:<trade number>")."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from billing.models import Payment
from billing.services.platform_payments import platform_payment_record
from billing.services.statements import statement_import
from billing.tests.importers.helpers import fixture
from core.dates import SHANGHAI

pytestmark = pytest.mark.django_db
TRADE = "2026112022001412345678901234"  # line 6 of the fixture bill: 300.00 on 2026-11-20


def test_a_trade_notified_then_listed_in_the_bill_is_stored_once():
    payment, created = platform_payment_record(
        platform="alipay", out_trade_no="RD261120ABCDEF123456", trade_no=TRADE, amount=Decimal("300.00"),
        paid_at=dt.datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI), payer_account="", as_of=dt.date(2026, 11, 20))
    assert created

    report = statement_import(name="alipay-bill.csv", data=fixture("alipay_merchant_trade_gbk.csv"), format="alipay",
                              as_of=dt.date(2026, 11, 25))

    # lines 6-9: line 6 is the notified trade (a duplicate); 7 and 9 credits and 8 its refund are new
    assert (report["lines"], report["new"], report["duplicate"]) == (4, 3, 1)
    assert Payment.objects.filter(identity=f"alipay:{TRADE}").count() == 1
    assert Payment.objects.get(identity=f"alipay:{TRADE}").pk == payment.pk
    assert set(Payment.objects.values_list("account_no", flat=True)) == {f"alipay:{settings.MAIN_RECEIVING_ACCOUNT}"}
    # the bill's credits add 1,200.00 + 2,400.00 to the notified 300.00
    credits = Payment.objects.filter(direction="credit").values_list("amount", flat=True)
    assert sum(credits, Decimal(0)) == Decimal("3900.00")
