"""A local fake of Aliyun Dysms for tests and bin/dev: speaks SendBatchSms (form-encoded RPC,
HMAC-SHA1 signature checked), answers like the provider, keeps what it received, and dedupes by
OutId (our idempotency key) as a careful provider would. Run: python -m outreach.fake_gateway 8025
"""

import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from outreach.fake_http import serve, shutdown
from outreach.gateways.dysms import signature_verify


class FakeDysms:
    def __init__(self, *, access_key_id: str = "dev-key", secret: str = "dev-secret", on_message=None):
        self.access_key_id, self.secret = access_key_id, secret
        self.on_message = on_message  # bin/dev: each message received is also written to the inbox file
        self.messages: list[dict] = []  # one per number sent
        self.requests = 0
        self.by_out_id: dict[str, str] = {}
        self.down = False  # answer 503 (the provider in trouble)
        self.throttle = 0  # this many next requests get isv.BUSINESS_LIMIT_CONTROL
        self.bad_numbers: set[str] = set()  # a batch with one of these: isv.MOBILE_NUMBER_ILLEGAL
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def answer(self, params: dict) -> tuple[int, dict]:
        request_id = uuid.uuid4().hex
        with self.lock:
            self.requests += 1
            if self.down:
                return 503, {"Code": "ServiceUnavailable", "Message": "The request has failed due to a temporary "
                                                                       "failure of the server.", "RequestId": request_id}
            if params.get("AccessKeyId") != self.access_key_id or not signature_verify(params, secret=self.secret):
                return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our "
                                                                         "calculation.", "RequestId": request_id}
            if params.get("Action") != "SendBatchSms":
                return 400, {"Code": "InvalidAction.NotFound", "Message": "unknown action", "RequestId": request_id}
            if self.throttle > 0:
                self.throttle -= 1
                return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控", "RequestId": request_id}
            phones = json.loads(params["PhoneNumberJson"])
            signs = json.loads(params["SignNameJson"])
            values = json.loads(params["TemplateParamJson"])
            if not (len(phones) == len(signs) == len(values)) or len(phones) > 100:
                return 200, {"Code": "isv.INVALID_PARAMETERS", "Message": "参数异常", "RequestId": request_id}
            if self.bad_numbers.intersection(phones):
                return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": request_id}
            out_id = params.get("OutId", "")
            if out_id and out_id in self.by_out_id:  # asked again: not sent again
                return 200, {"Code": "OK", "Message": "OK", "BizId": self.by_out_id[out_id], "RequestId": request_id}
            biz_id = f"{len(self.by_out_id) + 1:06d}^{uuid.uuid4().int % 10**10}"
            if out_id:
                self.by_out_id[out_id] = biz_id
            for phone, sign, value in zip(phones, signs, values, strict=True):
                message = {"phone": phone, "sign_name": sign, "template_code": params["TemplateCode"],
                           "params": value, "biz_id": biz_id, "out_id": out_id}
                self.messages.append(message)
                if self.on_message is not None:
                    self.on_message(message)
            return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                status, body = gateway.answer(params)
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = serve(Handler, host, port)
        return f"http://{host}:{self.server.server_address[1]}/"

    def stop(self) -> None:
        shutdown(self.server)
        self.server = None


if __name__ == "__main__":
    fake = FakeDysms()
    print("fake Dysms at", fake.start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8025), flush=True)
    threading.Event().wait()
