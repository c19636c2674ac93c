"""The demo's payments through links (simulation/day_15_paylinks.py): a customer twenty days
overdue pays the link of the reminder through a platform's local fake, and billing books it on the
demo's date."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest

from billing.models import Installment, Payment, PlatformOrder
from outreach.models import PaymentLink
from simulation import day_15_paylinks

pytestmark = pytest.mark.django_db


def test_a_demo_day_has_a_customer_pay_through_a_link(gz, monkeypatch):
    Installment.objects.filter(policy=gz, sequence=82).update(status="overdue")  # due 2026-11-30
    monkeypatch.setattr(day_15_paylinks, "PAY_PER_THOUSAND", 1000)  # everyone twenty days overdue pays
    counts = Counter()
    day_15_paylinks.day(world=SimpleNamespace(seed=1, story_share=0.0), day=dt.date(2026, 12, 20),
                        previous=dt.date(2026, 12, 18), end=dt.date(2026, 12, 31), cast=None, counts=counts,
                        working=True)
    assert counts["paylink_alipay"] + counts["paylink_wechatpay"] == 1
    payment = Payment.objects.get()
    assert (payment.amount, payment.value_date, payment.source in ("alipay", "wechatpay")) == (
        Decimal("300.00"), dt.date(2026, 12, 20), True)
    assert Installment.objects.get(policy=gz, sequence=82).status == "paid"
    assert PaymentLink.objects.get().policy == gz and PlatformOrder.objects.get().status == "paid"
