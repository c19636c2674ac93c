"""Payment links (outreach.paylinks): the link a reminder carries or a clerk reads out, its page
on a phone (no login), the hand-over to Alipay and WeChat Pay (local fakes, their SDKs), and what
the page says once expired or used. GZ: 张伟, monthly 300.00, k82 due 2026-11-30; BJ: 王芳, annual
1,200.00 due 2026-02-28 (the pages ask the business date, and BJ owes the same all year)."""

import datetime as dt
import re
import urllib.request
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import Operation
from billing.models import Installment, Payment, PlatformOrder
from billing.tests.platform_fixtures import alipay_post, wechatpay_post
from outreach.models import MessageTemplate, PaymentLink, PlannedContact
from outreach.paylinks import PaymentLinkVariable, code_display, paylink_issue, paylink_page
from outreach.services.dispatch import contacts_dispatch
from outreach.services.templates import template_render
from outreach.tests.conftest import BJ, GZ, at, plan
from policies.models import Policy

pytestmark = pytest.mark.django_db
NOW = at(2026, 12, 3, 10, 0)


@pytest.fixture
def bj(gz):
    return Policy.objects.get(policy_no=BJ)


def _open(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _pay(client, link: PaymentLink, platform: str):
    return client.post(f"/p/{link.code}/{platform}/")


def test_a_link_is_short_and_readable_and_reused_by_the_reminders(gz, settings):
    settings.PAYLINK_BASE_URL = "https://pay.example.cn"
    link = paylink_issue(policy=gz, now=NOW)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{12}", link.code)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code_display(link.code))
    assert link.expires_at == NOW + dt.timedelta(days=7)
    # the next reminder, two days later, carries the same link; six and a half days later it has
    # less than a day to run: a new one
    assert paylink_issue(policy=gz, now=NOW + dt.timedelta(days=2)) == link
    template = MessageTemplate(subject="", body="{{ name }}您好，点此交费：{{ payment_link }}")
    _subject, body = template_render(template, {"name": "张伟", "payment_link": PaymentLinkVariable(policy=gz, now=NOW)})
    assert body == f"张伟您好，点此交费：https://pay.example.cn/p/{link.code}/"
    assert paylink_issue(policy=gz, now=NOW + dt.timedelta(days=6, hours=12)) != link
    assert PaymentLink.objects.count() == 2


def test_an_sms_reminder_carries_the_link_when_its_text_uses_it(gz, sms_gateway, default_templates, settings):
    settings.PAYLINK_BASE_URL = "https://pay.example.cn"
    MessageTemplate.objects.filter(channel="sms", language="zh-hans").update(
        body="{{ name }}您好：保单{{ policy_no }}续期保费{{ amount }}元，点此交费 {{ payment_link }}")
    plan({"code": "T+1", "channel": "sms"})
    assert contacts_dispatch(now=at(2026, 12, 1, 8, 0))["sent"] == 1
    link = PaymentLink.objects.get()
    assert (link.policy, link.source) == (gz, "reminder")
    assert sms_gateway.messages[0]["params"]["payment_link"] == f"https://pay.example.cn/p/{link.code}/"


def test_the_page_shows_the_masked_name_the_policy_and_the_amount_due(bj, client):
    link = paylink_issue(policy=bj, now=timezone.now())
    response = client.get(f"/p/{link.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="open"' in html
    assert '<dd class="col-8" id="paylink-name">王*</dd>' in html
    assert f'<dd class="col-8" id="paylink-policy">{BJ}</dd>' in html
    assert '<div class="amount" id="paylink-amount">¥1200.00</div>' in html
    assert "王芳" not in html and "13987654321" not in html
    # the code read back over the phone, in lower case with dashes, finds the same link
    assert client.get(f"/p/{code_display(link.code).lower()}/").status_code == 200
    assert client.get("/p/ABCDEFGHJKLM/").status_code == 404


def test_the_amount_due_is_to_the_cent(gz):
    Installment.objects.filter(policy=gz, sequence=82).update(amount_paid=Decimal("120.50"), status="partially_paid")
    link = paylink_issue(policy=gz, now=NOW)
    assert paylink_page(code=link.code, now=NOW, as_of=dt.date(2026, 12, 3)).amount == Decimal("179.50")
    # at the end of December k83 is due too
    assert paylink_page(code=link.code, now=NOW, as_of=dt.date(2026, 12, 31)).amount == Decimal("479.50")


def test_an_expired_link_pays_nothing_and_says_so(bj, platforms, client):
    link = paylink_issue(policy=bj, now=timezone.now())
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    page = client.get(f"/p/{link.code}/")
    refused = _pay(client, link, "alipay")

    assert 'data-state="expired"' in page.content.decode() and 'id="paylink-expired"' in page.content.decode()
    assert "pay-alipay" not in page.content.decode()
    assert refused.status_code == 410 and 'id="paylink-expired"' in refused.content.decode()
    assert not PlatformOrder.objects.exists() and not Payment.objects.exists()


def test_a_paid_link_then_says_already_paid(bj, platforms, client):
    link = paylink_issue(policy=bj, now=timezone.now())
    handed = _pay(client, link, "alipay")
    assert handed.status_code == 302 and handed["Location"].startswith(platforms.alipay.gateway + "?")
    cashier = _open(handed["Location"])
    assert "¥1200.00" in cashier
    order = PlatformOrder.objects.get()
    assert (order.policy, order.amount, order.reference) == (bj, Decimal("1200.00"), f"paylink:{link.code}")
    platforms.alipay.pay(order.out_trade_no, notify=False)
    assert alipay_post(client, platforms.alipay.notification(order.out_trade_no)).content == b"success"

    page = client.get(f"/p/{link.code}/").content.decode()
    again = _pay(client, link, "wechatpay")

    assert 'data-state="paid"' in page and 'id="paylink-paid"' in page
    assert again.status_code == 409
    assert PlatformOrder.objects.count() == 1 and Payment.objects.count() == 1
    first = Installment.objects.filter(policy=bj).order_by("sequence").first()
    assert (first.status, first.amount_paid) == ("paid", Decimal("1200.00"))


def test_wechat_pay_hands_over_the_same_amount_in_fen(bj, platforms, client):
    link = paylink_issue(policy=bj, now=timezone.now())
    handed = _pay(client, link, "wechatpay")
    assert handed.status_code == 302 and handed["Location"].startswith(platforms.wechatpay.base_url + "/h5pay?")
    order = PlatformOrder.objects.get()
    assert platforms.wechatpay.orders[order.out_trade_no]["total"] == 120000
    assert f"redirect_url=http%3A%2F%2Ftestserver%2Fp%2F{link.code}%2Fdone%2F" in handed["Location"]
    # a second tap hands over the same order
    assert _pay(client, link, "wechatpay").status_code == 302
    assert PlatformOrder.objects.count() == 1


def test_money_through_a_link_cancels_the_remaining_reminders(gz, platforms, client):
    plan({"code": "T+7", "channel": "sms", "date": dt.date(2026, 12, 7)})
    assert PlannedContact.objects.get().status == "planned"
    link = paylink_issue(policy=gz, now=timezone.now())
    from billing.services.platform_payments import platform_order_create

    order, url = platform_order_create(policy=gz, platform="wechatpay", reference=f"paylink:{link.code}",
                                       amount=Decimal("300.00"), subject="续期保费", expires_at=link.expires_at,
                                       return_url="http://testserver/done/", client_ip="203.0.113.7",
                                       now=timezone.now())
    platforms.wechatpay.pay(order.out_trade_no, notify=False)
    assert wechatpay_post(client, *platforms.wechatpay.notification(order.out_trade_no)).status_code == 204
    contact = PlannedContact.objects.get()
    assert (contact.status, contact.reason) == ("cancelled", "paid")


def test_a_clerk_makes_a_link_to_read_out_on_the_policy_page(gz, make_user, client):
    clerk = make_user("clerk_gz", ["clerk"], ["GD"])
    client.force_login(clerk)
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert 'id="paylink-none"' in page and 'id="paylink-issue"' in page

    client.post(f"/outreach/paylinks/{GZ}/")

    link = PaymentLink.objects.get()
    assert (link.source, link.created_by) == ("clerk", clerk)
    page = client.get(f"/policies/{GZ}/").content.decode()
    assert f'<strong class="font-monospace" id="paylink-code">{code_display(link.code)}</strong>' in page
    assert Operation.objects.filter(action="paylink_issue", actor=clerk, object_ref=GZ).count() == 1


def test_a_clerk_of_another_branch_makes_no_link(gz, make_user, client):
    client.force_login(make_user("clerk_bj", ["clerk"], ["BJ"]))
    assert client.post(f"/outreach/paylinks/{GZ}/").status_code == 404
    assert not PaymentLink.objects.exists()
