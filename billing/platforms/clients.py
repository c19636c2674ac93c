"""The platforms' SDK clients, configured from the settings: python-alipay-sdk's AliPay and
wechatpayv3's WeChatPay. Each SDK fixes the platform's production address; the gateway comes from
the settings instead (production: the platform's; tests and bin/dev: the local fakes)."""

from __future__ import annotations

import threading
from pathlib import Path

from alipay import AliPay
from django.conf import settings
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core

_lock = threading.Lock()
_clients: dict[tuple, object] = {}


def key_text(value: str) -> str:
    """A key setting: PEM text as is, else the path of a file holding it."""
    value = (value or "").strip()
    if not value or value.startswith("-----BEGIN"):
        return value
    return Path(value).read_text().strip()


def _dev_value(setting: str, file_name: str) -> str:
    value = getattr(settings, setting, "")
    if value:
        return value
    return (Path(settings.PLATFORM_DEV_KEYS_DIR) / file_name).read_text().strip()


def alipay_client() -> AliPay:
    config = (settings.ALIPAY_APP_ID, settings.ALIPAY_GATEWAY, settings.ALIPAY_APP_PRIVATE_KEY,
              settings.ALIPAY_PUBLIC_KEY)
    with _lock:
        client = _clients.get(("alipay", *config))
        if client is None:
            client = AliPay(appid=settings.ALIPAY_APP_ID, app_notify_url=None, sign_type="RSA2",
                            app_private_key_string=key_text(settings.ALIPAY_APP_PRIVATE_KEY),
                            alipay_public_key_string=key_text(settings.ALIPAY_PUBLIC_KEY))
            # the SDK knows only the production and sandbox addresses
            client._gateway = settings.ALIPAY_GATEWAY
            _clients[("alipay", *config)] = client
    return client  # type: ignore[return-value]


class _Core(Core):
    """wechatpayv3's Core, its gateway from the settings. The SDK sets api.mch.weixin.qq.com in
    __init__ and fetches the platform certificates from it at once, so the address is a property
    that ignores the SDK's assignment."""

    def __init__(self, *, gateway: str, **kwargs):
        self._configured_gateway = gateway.rstrip("/")
        super().__init__(**kwargs)

    @property
    def _gate_way(self) -> str:  # type: ignore[override]
        return self._configured_gateway

    @_gate_way.setter
    def _gate_way(self, value: str) -> None:
        pass


class _WeChatPay(WeChatPay):
    """WeChatPay whose Core is _Core (WeChatPay.__init__ builds its Core itself: the same
    attributes are set here; wechatpayv3 2.0.4)."""

    def __init__(self, *, gateway: str, wechatpay_type, mchid, private_key, cert_serial_no, appid, apiv3_key,
                 notify_url=None, cert_dir=None, timeout=None):
        self._type = wechatpay_type
        self._mchid = mchid
        self._appid = appid
        self._notify_url = notify_url
        self._partner_mode = False
        self._core = _Core(gateway=gateway, mchid=mchid, cert_serial_no=cert_serial_no, private_key=private_key,
                           apiv3_key=apiv3_key, cert_dir=cert_dir, timeout=timeout)


def wechatpay_config() -> dict:
    return {"gateway": settings.WECHATPAY_GATEWAY, "mchid": settings.WECHATPAY_MCHID,
            "appid": settings.WECHATPAY_APPID, "private_key": settings.WECHATPAY_PRIVATE_KEY,
            "cert_serial_no": _dev_value("WECHATPAY_CERT_SERIAL_NO", "wechatpay_merchant_serial.txt"),
            "apiv3_key": _dev_value("WECHATPAY_APIV3_KEY", "wechatpay_apiv3_key.txt"),
            "cert_dir": settings.WECHATPAY_CERT_DIR or None}


def wechatpay_client() -> WeChatPay:
    """One client per configuration and process: its construction fetches the platform
    certificates (GET /v3/certificates), which it then keeps and renews on an unknown serial."""
    config = wechatpay_config()
    key = ("wechatpay", *config.values())
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _WeChatPay(wechatpay_type=WeChatPayType.H5, gateway=config["gateway"], mchid=config["mchid"],
                                appid=config["appid"], private_key=key_text(config["private_key"]),
                                cert_serial_no=config["cert_serial_no"], apiv3_key=config["apiv3_key"],
                                cert_dir=config["cert_dir"], timeout=(5, 15))
            _clients[key] = client
    return client
