"""The local fakes of Alipay and WeChat Pay for tests (billing.platforms.fakes), with keys made
for the test session: the fakes hold the platforms' keys, the settings the merchant's."""

import datetime as dt
from types import SimpleNamespace

import pytest

from billing.platforms.fakes import FakeAlipay, FakeWechatPay
from billing.platforms.keys import PlatformKeys

ALIPAY_APP_ID = "2021000000000001"
WECHATPAY_MCHID, WECHATPAY_APPID = "1900000001", "wx0000000000000001"
# nothing listens on the discard port: a notification the fake would send there is refused at
# once (the tests hand the fake's signed notification to the view themselves)
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def platform_keys():
    return PlatformKeys.generate()


@pytest.fixture
def platforms(settings, platform_keys):
    alipay = FakeAlipay(keys=platform_keys, app_id=ALIPAY_APP_ID)
    alipay.start()
    wechatpay = FakeWechatPay(keys=platform_keys, mchid=WECHATPAY_MCHID, appid=WECHATPAY_APPID)
    wechatpay.start()
    settings.ALIPAY_GATEWAY, settings.ALIPAY_APP_ID = alipay.gateway, ALIPAY_APP_ID
    settings.WECHATPAY_GATEWAY, settings.WECHATPAY_MCHID, settings.WECHATPAY_APPID = (
        wechatpay.base_url, WECHATPAY_MCHID, WECHATPAY_APPID)
    settings.WECHATPAY_CERT_DIR = ""
    for name, value in platform_keys.settings().items():
        setattr(settings, name, value)
    settings.PAYLINK_BASE_URL = "http://testserver"
    settings.PAYMENT_NOTIFY_BASE_URL = NOWHERE
    yield SimpleNamespace(alipay=alipay, wechatpay=wechatpay, keys=platform_keys)
    alipay.stop()
    wechatpay.stop()


def alipay_post(client, params: dict):
    return client.post("/billing/notify/alipay/", data=params)


def wechatpay_post(client, headers: dict, body: str):
    return client.post("/billing/notify/wechatpay/", data=body.encode(), content_type="application/json",
                       headers={k: v for k, v in headers.items()})


def aware(y, m, d, hh=12) -> dt.datetime:
    from core.dates import SHANGHAI

    return dt.datetime(y, m, d, hh, tzinfo=SHANGHAI)
