"""Local fakes of Alipay and WeChat Pay for the tests, bin/dev and the demo: real HTTP servers that
speak the platforms' protocols as the SDKs use them, check the merchant's signatures, and sign what
they send with the platform's own keys (billing.platforms.keys).

Alipay (openapi gateway): GET /gateway.do?<alipay.trade.wap.pay order string> is the cashier
page (the merchant's RSA2 signature checked); paying sends the asynchronous notification (form
POST, RSA2 over the sorted parameters without sign and sign_type, signed with Alipay's key) to the
order's notify_url and returns the buyer to its return_url.

WeChat Pay (API v3): GET /v3/certificates (the platform certificate, AES-256-GCM encrypted with
the API v3 key), POST /v3/pay/transactions/h5 (answers an h5_url), each request's
WECHATPAY2-SHA256-RSA2048 Authorization checked and each answer signed with the platform key;
the h5_url is the cashier page; paying sends TRANSACTION.SUCCESS (the resource AES-256-GCM
encrypted, the headers signed with the platform key) to the order's notify_url.

Besides the pages a person taps, a test drives them directly: pay(out_trade_no) is the buyer
paying (optionally another amount), deliver(out_trade_no) the notification sent again, and
tamper="signature" a notification whose signature does not hold. bin/dev runs both (the
outreach app's dev-servers command)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from billing.platforms.keys import PlatformKeys

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _load_private(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _load_public(pem: str):
    return serialization.load_pem_public_key(pem.encode())


def _sign(key, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(key, message: str, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except Exception:  # InvalidSignature, a signature that is not base64
        return False
    return True


def _post(url: str, *, body: bytes, headers: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except OSError as exc:  # the merchant's server down: the platform tries again later
        return 0, str(exc)


CASHIER = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:0;background:#f5f5f5}}header{{background:{color};color:#fff;padding:14px}}
main{{padding:20px;text-align:center}}.amount{{font-size:2.2em;margin:16px 0}}
button{{width:100%;padding:14px;font-size:1.1em;border:0;border-radius:6px;background:{color};color:#fff}}</style>
</head><body><header>{title}（本地模拟）</header><main>{body}</main></body></html>"""


class _Server:
    """A ThreadingHTTPServer with the fake's handler; start() answers the base URL. `clock` is the
    platform's time (the demo's history sets its simulated evening): payment and expiry times."""

    server: ThreadingHTTPServer | None = None

    @staticmethod
    def clock() -> dt.datetime:
        return dt.datetime.now(SHANGHAI)

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: str | bytes, content_type: str = "text/html; charset=utf-8",
                        headers: dict | None = None):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                fake.handle(self, "GET", b"")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.handle(self, "POST", self.rfile.read(length))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handle(self, request, method: str, body: bytes) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class FakeAlipay(_Server):
    def __init__(self, *, keys: PlatformKeys, app_id: str):
        self.app_id = app_id
        self.app_public = _load_public(keys.alipay_app_public)
        self.alipay_private = _load_private(keys.alipay_private)
        self.orders: dict[str, dict] = {}  # out_trade_no -> the order as the cashier received it
        self.deliveries: list[dict] = []  # every notification sent: out_trade_no, status, answer
        self.lock = threading.Lock()

    @property
    def gateway(self) -> str:
        return f"{self.base_url}/gateway.do"

    # -- the merchant's request ---------------------------------------------------------------
    def order_from_params(self, params: dict) -> dict:
        """The wap.pay order a signed request describes; raises ValueError as the cashier's error."""
        signature = params.get("sign", "")
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        if params.get("app_id") != self.app_id or not _verify(self.app_public, unsigned, signature):
            raise ValueError("ILLEGAL_SIGN 验签出错")
        if params.get("method") != "alipay.trade.wap.pay":
            raise ValueError("INVALID_METHOD 不支持的接口")
        biz = json.loads(params["biz_content"])
        order = {"out_trade_no": biz["out_trade_no"], "total_amount": biz["total_amount"],
                 "subject": biz["subject"], "time_expire": biz.get("time_expire", ""),
                 "notify_url": params.get("notify_url", ""), "return_url": params.get("return_url", ""),
                 "passback_params": biz.get("passback_params", "")}
        Decimal(order["total_amount"])  # a malformed amount is refused
        with self.lock:
            known = self.orders.get(order["out_trade_no"])
            if known is not None and known.get("trade_no"):
                if known["total_amount"] != order["total_amount"]:
                    raise ValueError("TRADE_HAS_SUCCESS 订单信息不一致")
                return known
            self.orders[order["out_trade_no"]] = order
        return order

    def _expired(self, order: dict) -> bool:
        if not order.get("time_expire"):
            return False
        ends = dt.datetime.strptime(order["time_expire"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        return self.clock() > ends

    # -- the buyer pays -----------------------------------------------------------------------
    def pay(self, out_trade_no: str, *, amount: Decimal | str | None = None, notify: bool = True) -> dict:
        with self.lock:
            order = self.orders[out_trade_no]
            if self._expired(order) and not order.get("trade_no"):
                raise ValueError("TRADE_HAS_CLOSE 交易已经关闭")
            if not order.get("trade_no"):
                now = self.clock().strftime("%Y-%m-%d %H:%M:%S")
                order.update(trade_no=f"{self.clock():%Y%m%d}2200{secrets.randbelow(10**14):014d}",
                             paid_amount=f"{Decimal(str(amount or order['total_amount'])):.2f}", gmt_payment=now,
                             buyer_id=f"2088{secrets.randbelow(10**12):012d}")
        if notify:
            self.deliver(out_trade_no)
        return order

    def notification(self, out_trade_no: str, *, tamper: str = "") -> dict:
        """The asynchronous notification's parameters, signed as Alipay signs them."""
        order = self.orders[out_trade_no]
        amount = order["paid_amount"]
        params = {"notify_time": self.clock().strftime("%Y-%m-%d %H:%M:%S"),
                  "notify_type": "trade_status_sync", "notify_id": uuid.uuid4().hex, "charset": "utf-8",
                  "version": "1.0", "app_id": self.app_id, "auth_app_id": self.app_id,
                  "trade_no": order["trade_no"], "out_trade_no": out_trade_no, "trade_status": "TRADE_SUCCESS",
                  "total_amount": amount, "receipt_amount": amount, "buyer_pay_amount": amount,
                  "invoice_amount": amount, "point_amount": "0.00", "subject": order["subject"],
                  "buyer_id": order["buyer_id"], "seller_id": "2088000000000001",
                  "gmt_create": order["gmt_payment"], "gmt_payment": order["gmt_payment"],
                  "fund_bill_list": json.dumps([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}])}
        if order.get("passback_params"):
            params["passback_params"] = order["passback_params"]
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        params["sign"] = _sign(self.alipay_private, unsigned)
        params["sign_type"] = "RSA2"
        if tamper == "signature":  # the amount changed after signing: the signature no longer holds
            params["total_amount"] = f"{Decimal(amount) * 100:.2f}"
        return params

    def deliver(self, out_trade_no: str, *, tamper: str = "") -> tuple[int, str]:
        """POST the notification to the order's notify_url; Alipay wants the answer `success`."""
        params = self.notification(out_trade_no, tamper=tamper)
        status, answer = _post(self.orders[out_trade_no]["notify_url"], body=urlencode(params).encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        with self.lock:
            self.deliveries.append({"out_trade_no": out_trade_no, "status": status, "answer": answer,
                                    "tamper": tamper})
        return status, answer

    def _return_url(self, order: dict) -> str:
        params = {"charset": "utf-8", "out_trade_no": order["out_trade_no"], "method": "alipay.trade.wap.pay.return",
                  "total_amount": order["paid_amount"], "trade_no": order["trade_no"], "auth_app_id": self.app_id,
                  "version": "1.0", "app_id": self.app_id, "seller_id": "2088000000000001",
                  "timestamp": order["gmt_payment"]}
        params["sign"] = _sign(self.alipay_private, "&".join(f"{k}={v}" for k, v in sorted(params.items())))
        params["sign_type"] = "RSA2"
        url = order["return_url"]
        return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"

    # -- HTTP -----------------------------------------------------------------------------------
    def handle(self, request, method: str, body: bytes) -> None:
        path, _, query = request.path.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if method == "POST":
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        if path == "/gateway.do":
            try:
                order = self.order_from_params(params)
            except (ValueError, KeyError) as exc:
                return request._answer(400, self._page("支付宝", f"<p>错误：{html.escape(str(exc))}</p>"))
            if order.get("trade_no"):
                return request._answer(200, self._page("支付宝", "<p>该订单已支付。</p>"))
            if self._expired(order):
                return request._answer(200, self._page("支付宝", "<p id='closed'>交易已经关闭（订单已过期）。</p>"))
            form = (f"<p>{html.escape(order['subject'])}</p><div class='amount' id='amount'>¥{order['total_amount']}"
                    f"</div><form method='post' action='/cashier/pay'><input type='hidden' name='out_trade_no' "
                    f"value='{html.escape(order['out_trade_no'])}'><button id='pay' type='submit'>确认付款</button>"
                    "</form>")
            return request._answer(200, self._page("支付宝", form))
        if path == "/cashier/pay" and method == "POST":
            try:
                order = self.pay(params.get("out_trade_no", ""))
            except (ValueError, KeyError) as exc:
                return request._answer(400, self._page("支付宝", f"<p>错误：{html.escape(str(exc))}</p>"))
            if order.get("return_url"):
                return request._answer(302, b"", headers={"Location": self._return_url(order)})
            return request._answer(200, self._page("支付宝", "<p>支付成功</p>"))
        return request._answer(404, self._page("支付宝", "<p>Not Found</p>"))

    def _page(self, title: str, body: str) -> str:
        return CASHIER.format(title=title, color="#1677ff", body=body)


class FakeWechatPay(_Server):
    def __init__(self, *, keys: PlatformKeys, mchid: str, appid: str):
        self.mchid, self.appid = mchid, appid
        self.merchant_public = _load_public(keys.wechatpay_merchant_public)
        self.merchant_serial = keys.wechatpay_merchant_serial
        self.platform_private = _load_private(keys.wechatpay_platform_private)
        self.platform_cert = keys.wechatpay_platform_cert
        self.platform_serial = keys.wechatpay_platform_serial
        self.apiv3_key = keys.wechatpay_apiv3_key
        self.wrong_key: rsa.RSAPrivateKey | None = None  # made once, for tampered notifications
        self.orders: dict[str, dict] = {}
        self.deliveries: list[dict] = []
        self.lock = threading.Lock()

    # -- signatures -----------------------------------------------------------------------------
    def _authorized(self, request, method: str, body: bytes) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return False
        fields = dict(part.split("=", 1) for part in rest.split(","))
        fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
        if fields.get("mchid") != self.mchid or fields.get("serial_no") != self.merchant_serial:
            return False
        if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
            return False
        message = f"{method}\n{request.path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body.decode()}\n"
        return _verify(self.merchant_public, message, fields.get("signature", ""))

    def _signed_headers(self, body: str, *, key=None) -> dict:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex.upper()
        signature = _sign(key or self.platform_private, f"{timestamp}\n{nonce}\n{body}\n")
        return {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Signature": signature,
                "Wechatpay-Serial": self.platform_serial, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}

    def _encrypt(self, plaintext: str, associated_data: str) -> dict:
        nonce = secrets.token_hex(6)  # 12 characters, as the platform's
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), plaintext.encode(),
                                                             associated_data.encode())
        return {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": associated_data,
                "ciphertext": base64.b64encode(ciphertext).decode()}

    def _json(self, request, status: int, payload: dict | None) -> None:
        body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
        headers = self._signed_headers(body)
        request._answer(status, body, content_type="application/json; charset=utf-8", headers=headers)

    # -- the API --------------------------------------------------------------------------------
    def _certificates(self) -> dict:
        now = self.clock()
        return {"data": [{"serial_no": self.platform_serial,
                          "effective_time": (now - dt.timedelta(days=1)).isoformat(timespec="seconds"),
                          "expire_time": (now + dt.timedelta(days=5 * 365)).isoformat(timespec="seconds"),
                          "encrypt_certificate": self._encrypt(self.platform_cert, "certificate")}]}

    def _h5_order(self, body: bytes) -> tuple[int, dict]:
        try:
            data = json.loads(body)
            out_trade_no = data["out_trade_no"]
            total = data["amount"]["total"]
            if data.get("mchid") != self.mchid or data.get("appid") != self.appid:
                return 400, {"code": "PARAM_ERROR", "message": "appid和mch_id不匹配"}
            if not 6 <= len(out_trade_no) <= 32 or not isinstance(total, int) or total <= 0:
                return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
            if not data.get("scene_info", {}).get("payer_client_ip") or not data.get("notify_url"):
                return 400, {"code": "PARAM_ERROR", "message": "缺少参数"}
        except (ValueError, KeyError, TypeError, AttributeError):
            return 400, {"code": "PARAM_ERROR", "message": "参数错误"}
        with self.lock:
            known = self.orders.get(out_trade_no)
            if known is not None and known["total"] != total:
                return 400, {"code": "INVALID_REQUEST", "message": "201 商户订单号重复"}
            if known is not None and known.get("transaction_id"):
                return 400, {"code": "ORDERPAID", "message": "该订单已支付"}
            if known is None:
                known = {"out_trade_no": out_trade_no, "total": total, "description": data["description"],
                         "notify_url": data["notify_url"], "attach": data.get("attach", ""),
                         "time_expire": data.get("time_expire", ""), "prepay_id": f"wx{uuid.uuid4().hex[:30]}"}
                self.orders[out_trade_no] = known
        return 200, {"h5_url": f"{self.base_url}/h5pay?prepay_id={known['prepay_id']}&package=1"}

    def _expired(self, order: dict) -> bool:
        return bool(order.get("time_expire")) and self.clock() > dt.datetime.fromisoformat(
            order["time_expire"])

    def pay(self, out_trade_no: str, *, amount_fen: int | None = None, notify: bool = True) -> dict:
        with self.lock:
            order = self.orders[out_trade_no]
            if self._expired(order) and not order.get("transaction_id"):
                raise ValueError("ORDER_CLOSED 订单已关闭")
            if not order.get("transaction_id"):
                order.update(transaction_id=f"4200{secrets.randbelow(10**24):024d}",
                             paid_total=amount_fen if amount_fen is not None else order["total"],
                             success_time=self.clock().isoformat(timespec="seconds"),
                             openid=f"o{secrets.token_urlsafe(20)}")
        if notify:
            self.deliver(out_trade_no)
        return order

    def notification(self, out_trade_no: str, *, tamper: str = "") -> tuple[dict, str]:
        """(headers, body) of TRANSACTION.SUCCESS as the platform sends it."""
        order = self.orders[out_trade_no]
        transaction = {"appid": self.appid, "mchid": self.mchid, "out_trade_no": out_trade_no,
                       "transaction_id": order["transaction_id"], "trade_type": "MWEB", "trade_state": "SUCCESS",
                       "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": order["attach"],
                       "success_time": order["success_time"], "payer": {"openid": order["openid"]},
                       "amount": {"total": order["paid_total"], "payer_total": order["paid_total"],
                                  "currency": "CNY", "payer_currency": "CNY"}}
        body = json.dumps({"id": str(uuid.uuid4()), "create_time": order["success_time"],
                           "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS",
                           "summary": "支付成功",
                           "resource": {"original_type": "transaction",
                                        **self._encrypt(json.dumps(transaction, ensure_ascii=False), "transaction")}},
                          ensure_ascii=False)
        key = None
        if tamper == "signature":  # signed by a key that is not the platform's
            if self.wrong_key is None:
                self.wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key = self.wrong_key
        return self._signed_headers(body, key=key), body

    def deliver(self, out_trade_no: str, *, tamper: str = "") -> tuple[int, str]:
        headers, body = self.notification(out_trade_no, tamper=tamper)
        status, answer = _post(self.orders[out_trade_no]["notify_url"], body=body.encode(),
                               headers={**headers, "Content-Type": "application/json"})
        with self.lock:
            self.deliveries.append({"out_trade_no": out_trade_no, "status": status, "answer": answer,
                                    "tamper": tamper})
        return status, answer

    def handle(self, request, method: str, body: bytes) -> None:
        path, _, query = request.path.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if path.startswith("/v3/"):
            if not self._authorized(request, method, body):
                return self._json(request, 401, {"code": "SIGN_ERROR", "message": "签名错误"})
            if path == "/v3/certificates" and method == "GET":
                return self._json(request, 200, self._certificates())
            if path == "/v3/pay/transactions/h5" and method == "POST":
                status, payload = self._h5_order(body)
                return self._json(request, status, payload)
            return self._json(request, 404, {"code": "NOT_FOUND", "message": "资源不存在"})
        if path == "/h5pay":
            order = next((o for o in self.orders.values() if o["prepay_id"] == params.get("prepay_id")), None)
            if order is None:
                return request._answer(404, self._page("<p>订单不存在</p>"))
            if order.get("transaction_id"):
                return request._answer(200, self._page("<p>该订单已支付。</p>"))
            if self._expired(order):
                return request._answer(200, self._page("<p id='closed'>订单已关闭（已过期）。</p>"))
            redirect = params.get("redirect_url", "")
            page = (f"<p>{html.escape(order['description'])}</p><div class='amount' id='amount'>"
                    f"¥{Decimal(order['total']) / 100:.2f}</div><form method='post' action='/h5pay/confirm'>"
                    f"<input type='hidden' name='prepay_id' value='{order['prepay_id']}'>"
                    f"<input type='hidden' name='redirect_url' value='{html.escape(redirect)}'>"
                    "<button id='pay' type='submit'>确认支付</button></form>")
            return request._answer(200, self._page(page))
        if path == "/h5pay/confirm" and method == "POST":
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            order = next((o for o in self.orders.values() if o["prepay_id"] == form.get("prepay_id")), None)
            if order is None:
                return request._answer(404, self._page("<p>订单不存在</p>"))
            try:
                self.pay(order["out_trade_no"])
            except ValueError as exc:
                return request._answer(400, self._page(f"<p>{html.escape(str(exc))}</p>"))
            redirect = form.get("redirect_url", "")
            if redirect and urlsplit(redirect).scheme in ("http", "https"):
                return request._answer(302, b"", headers={"Location": redirect})
            return request._answer(200, self._page("<p>支付成功</p>"))
        return request._answer(404, self._page("<p>Not Found</p>"))

    def _page(self, body: str) -> str:
        return CASHIER.format(title="微信支付", color="#07c160", body=body)
