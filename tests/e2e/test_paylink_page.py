"""A customer opens a payment link on a phone, in Chinese, pays through the local fake of Alipay
(the cashier page, the notification to our live server, the way back), and the link then says it
was used; an expired link says so politely. Screenshots in test-artifacts/."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Installment, Payment
from billing.services.schedules import installments_extend_chunk
from billing.tests.platform_fixtures import platform_keys, platforms  # noqa: F401 (the local fakes)
from outreach.models import PaymentLink
from outreach.paylinks import paylink_issue
from policies.models import Policy
from tests.e2e.conftest import TIMEOUT_MS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BJ = "8860000000000002"  # 王芳, annual 1,200.00 due 2026-02-28
@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_a_customer_pays_through_a_link_on_a_phone(live_server, portfolio, platforms, settings,  # noqa: F811
                                                   phone):
    settings.PAYLINK_BASE_URL = settings.PAYMENT_NOTIFY_BASE_URL = live_server.url
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=1, id_to=10**9)
    bj = Policy.objects.get(policy_no=BJ)
    link = paylink_issue(policy=bj, now=timezone.now())

    phone.goto(f"{live_server.url}/p/{link.code}/")
    expect(phone.locator("#paylink-amount")).to_have_text("¥1200.00")
    expect(phone.locator("#paylink-name")).to_have_text("王*")
    expect(phone.locator("#paylink-policy")).to_have_text(BJ)
    assert phone.locator("html").get_attribute("lang") == "zh-CN"
    expect(phone.locator("#pay-alipay")).to_have_text("使用支付宝缴费")
    expect(phone.locator("#pay-wechatpay")).to_have_text("使用微信支付缴费")
    # the page fits the phone: nothing wider than the screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "paylink-1-phone-page")

    with phone.expect_navigation():
        phone.locator("#pay-alipay").tap()
    expect(phone.locator("#amount")).to_have_text("¥1200.00")  # the fake Alipay's cashier
    screenshot(phone, "paylink-2-alipay-cashier", element=phone.locator("main"))
    with phone.expect_navigation(url=f"{live_server.url}/p/{link.code}/done/**"):
        phone.locator("#pay").tap()

    expect(phone.locator("#paylink-paid")).to_be_visible()
    expect(phone.locator("#paylink-paid")).to_contain_text("谢谢，我们已收到您的缴费。")
    screenshot(phone, "paylink-3-paid")
    assert platforms.alipay.deliveries[-1]["answer"] == "success"
    payment = Payment.objects.get()
    assert (payment.source, str(payment.amount)) == ("alipay", "1200.00")
    assert Installment.objects.filter(policy=bj).order_by("sequence").first().status == "paid"


def test_an_expired_link_says_so_politely_in_chinese(live_server, portfolio, phone):
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=1, id_to=10**9)
    link = paylink_issue(policy=Policy.objects.get(policy_no=BJ), now=timezone.now())
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    phone.goto(f"{live_server.url}/p/{link.code}/")
    expect(phone.locator("#paylink-expired")).to_be_visible()
    expect(phone.locator("#pay-alipay")).to_have_count(0)
    expect(phone.locator("#paylink-expired")).to_contain_text("抱歉，该缴费链接已过期。")
    screenshot(phone, "paylink-4-expired")
