"""The platforms' payment notifications (billing.services.platform_payments) against the local
fakes of Alipay and WeChat Pay: real HTTP servers speaking the platforms' protocols through their
SDKs, signing with keys made for the session. Given an order handed over for policy GZ (monthly
300.00: k82 due 2026-11-30, k83 2026-12-31), when the platform notifies, then the money is one
payment, booked on the policy by billing's rules."""

import datetime as dt
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Installment, Payment, PlatformOrder
from billing.services.platform_payments import platform_order_create, policy_payable
from billing.tests.platform_fixtures import alipay_post, wechatpay_post
from policies.models import Policy

GZ = "8860000000000001"
AS_OF = dt.date(2026, 12, 3)


@pytest.fixture
def gz(portfolio):
    from billing.services.schedules import installments_extend_chunk

    ids = Policy.objects.values_list("pk", flat=True)
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=min(ids), id_to=max(ids))
    return Policy.objects.get(policy_no=GZ)


def _order(policy, platform: str, amount: str = "300.00", reference: str = "paylink:TEST00000001"):
    """The order handed over; the buyer's browser then opens the platform's cashier."""
    order, url = platform_order_create(policy=policy, platform=platform, reference=reference, amount=Decimal(amount),
                                 subject=f"续期保费 {policy.policy_no}", expires_at=timezone.now() + dt.timedelta(days=1),
                                 return_url="http://testserver/p/TEST00000001/done/", client_ip="203.0.113.7",
                                 now=timezone.now())
    _open(url)
    return order, url


def _open(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _k(policy, sequence: int) -> Installment:
    return Installment.objects.get(policy=policy, sequence=sequence)


def test_what_a_link_asks_for_is_what_is_due_to_the_cent(gz):
    # before k82 falls due: the next installment; after: every installment due
    assert policy_payable(policy=gz, as_of=dt.date(2026, 11, 25)).amount == Decimal("300.00")
    assert policy_payable(policy=gz, as_of=dt.date(2026, 12, 31)).amount == Decimal("600.00")
    Installment.objects.filter(policy=gz, sequence=82).update(amount_paid=Decimal("120.50"), status="partially_paid")
    assert policy_payable(policy=gz, as_of=AS_OF).amount == Decimal("179.50")


def test_an_alipay_notification_delivered_twice_creates_one_payment(gz, platforms, client):
    order, url = _order(gz, "alipay")
    assert url.startswith(platforms.alipay.gateway + "?")
    cashier = _open(url)  # the fake checks our RSA2 signature and shows the order
    assert "¥300.00" in cashier and "确认付款" in cashier
    platforms.alipay.pay(order.out_trade_no, notify=False)
    params = platforms.alipay.notification(order.out_trade_no)

    first, second = alipay_post(client, params), alipay_post(client, platforms.alipay.notification(order.out_trade_no))

    assert (first.status_code, first.content, second.content) == (200, b"success", b"success")
    trade_no = platforms.alipay.orders[order.out_trade_no]["trade_no"]
    payment = Payment.objects.get()
    assert (payment.source, payment.identity, payment.amount, payment.status) == (
        "alipay", f"alipay:{trade_no}", Decimal("300.00"), "matched")
    assert payment.assignments.get().policy == gz
    k82 = _k(gz, 82)
    assert (k82.status, k82.amount_paid) == ("paid", Decimal("300.00"))
    order.refresh_from_db()
    assert (order.status, order.trade_no, order.payment_id) == ("paid", trade_no, payment.pk)


def test_a_wechatpay_notification_delivered_twice_creates_one_payment(gz, platforms, client):
    order, url = _order(gz, "wechatpay")
    assert url.startswith(platforms.wechatpay.base_url + "/h5pay?prepay_id=wx")
    assert "redirect_url=http%3A%2F%2Ftestserver%2Fp%2FTEST00000001%2Fdone%2F" in url
    assert platforms.wechatpay.orders[order.out_trade_no]["total"] == 30000  # in fen
    assert "¥300.00" in _open(url)
    platforms.wechatpay.pay(order.out_trade_no, notify=False)

    answers = [wechatpay_post(client, *platforms.wechatpay.notification(order.out_trade_no)) for _ in range(2)]

    assert [a.status_code for a in answers] == [204, 204]
    transaction_id = platforms.wechatpay.orders[order.out_trade_no]["transaction_id"]
    payment = Payment.objects.get()
    assert (payment.source, payment.identity, payment.amount) == ("wechatpay", f"wechatpay:{transaction_id}",
                                                                  Decimal("300.00"))
    assert _k(gz, 82).status == "paid"


def test_a_notification_with_a_bad_signature_changes_nothing(gz, platforms, client):
    ali, _url = _order(gz, "alipay")
    platforms.alipay.pay(ali.out_trade_no, notify=False)
    wx, _url = _order(gz, "wechatpay", reference="paylink:TEST00000002")
    platforms.wechatpay.pay(wx.out_trade_no, notify=False)

    refused_ali = alipay_post(client, platforms.alipay.notification(ali.out_trade_no, tamper="signature"))
    refused_wx = wechatpay_post(client, *platforms.wechatpay.notification(wx.out_trade_no, tamper="signature"))

    # Alipay: anything but "success" (it sends again); WeChat Pay: 4XX with {"code": "FAIL"}
    assert (refused_ali.status_code, refused_ali.content) == (401, b"fail")
    assert refused_wx.status_code == 401 and refused_wx.json()["code"] == "FAIL"
    assert not Payment.objects.exists()
    k82 = _k(gz, 82)
    assert (k82.status, k82.amount_paid) == ("overdue", Decimal("0.00")) or k82.amount_paid == Decimal("0.00")
    assert set(PlatformOrder.objects.values_list("status", flat=True)) == {"created"}


def test_less_than_ordered_is_a_partial_payment(gz, platforms, client):
    order, _url = _order(gz, "alipay")
    platforms.alipay.pay(order.out_trade_no, amount="120.50", notify=False)
    assert alipay_post(client, platforms.alipay.notification(order.out_trade_no)).content == b"success"
    k82 = _k(gz, 82)
    assert (k82.status, k82.amount_paid) == ("partially_paid", Decimal("120.50"))


def test_more_than_ordered_pays_the_next_installment(gz, platforms, client):
    order, _url = _order(gz, "wechatpay")
    platforms.wechatpay.pay(order.out_trade_no, amount_fen=35000, notify=False)
    assert wechatpay_post(client, *platforms.wechatpay.notification(order.out_trade_no)).status_code == 204
    assert (_k(gz, 82).status, _k(gz, 82).amount_paid) == ("paid", Decimal("300.00"))
    assert (_k(gz, 83).status, _k(gz, 83).amount_paid) == ("partially_paid", Decimal("50.00"))


def test_money_for_an_order_we_do_not_know_is_kept(gz, platforms, client):
    order, _url = _order(gz, "alipay")
    platforms.alipay.pay(order.out_trade_no, notify=False)
    PlatformOrder.objects.filter(pk=order.pk).delete()  # an order of another system on the same account
    assert alipay_post(client, platforms.alipay.notification(order.out_trade_no)).content == b"success"
    payment = Payment.objects.get()
    assert (payment.amount, payment.status) == (Decimal("300.00"), "suspense")


def test_the_fakes_refuse_to_pay_an_expired_order(gz, platforms):
    order, _url = _order(gz, "alipay")
    PlatformOrder.objects.filter(pk=order.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    platforms.alipay.orders[order.out_trade_no]["time_expire"] = "2026-01-01 00:00:00"
    with pytest.raises(ValueError, match="TRADE_HAS_CLOSE"):
        platforms.alipay.pay(order.out_trade_no, notify=False)
    assert not Payment.objects.exists()
