"""Local fakes of the WeChat official account API and of Getui's push API, for tests and bin/dev:
each speaks its platform's protocol (tokens, signatures, error codes), keeps what it received, and
drops a repeated idempotency key as the platforms do.
Run: python -m outreach.fake_channels 8027 8028
"""

import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from outreach.fake_http import serve, shutdown
from outreach.gateways.getui import auth_sign


class _Server:
    def __init__(self, on_message=None):
        self.on_message = on_message
        self.messages: list[dict] = []
        self.requests = 0
        self.down = False
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def handle(self, method: str, path: str, query: dict, headers: dict, body: dict | None) -> tuple[int, dict]:
        raise NotImplementedError

    def _keep(self, message: dict) -> None:
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                with fake.lock:
                    fake.requests += 1
                    if fake.down:
                        status, answer = 503, {"errcode": -1, "code": 20001, "msg": "system busy"}
                    else:
                        status, answer = fake.handle(method, url.path, dict(parse_qsl(url.query)),
                                                     {k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = serve(Handler, host, port)
        return f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        shutdown(self.server)
        self.server = None


class FakeWeChat(_Server):
    """/cgi-bin/token and /cgi-bin/message/template/send."""

    def __init__(self, *, app_id: str = "wx-dev", app_secret: str = "dev-secret", templates=("RD_RENEWAL_REMINDER",),
                 on_message=None):
        super().__init__(on_message)
        self.app_id, self.app_secret, self.templates = app_id, app_secret, set(templates)
        self.tokens: set[str] = set()
        self.token_calls = 0
        self.unfollowed: set[str] = set()  # openids that no longer follow the account
        self.by_client_msg_id: dict[str, int] = {}

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def handle(self, method, path, query, headers, body):
        if path == "/cgi-bin/token" and method == "GET":
            self.token_calls += 1
            if query.get("appid") != self.app_id or query.get("secret") != self.app_secret:
                return 200, {"errcode": 40013, "errmsg": "invalid appid"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"access_token": token, "expires_in": 7200}
        if path == "/cgi-bin/message/template/send" and method == "POST":
            if query.get("access_token") not in self.tokens:
                return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
            if not body or body.get("template_id") not in self.templates:
                return 200, {"errcode": 40037, "errmsg": "invalid template_id"}
            if body.get("touser") in self.unfollowed:
                return 200, {"errcode": 43004, "errmsg": "require subscribe"}
            key = body.get("client_msg_id", "")
            if key and key in self.by_client_msg_id:
                return 200, {"errcode": 0, "errmsg": "ok", "msgid": self.by_client_msg_id[key]}
            msgid = 2000000000 + len(self.messages) + 1
            if key:
                self.by_client_msg_id[key] = msgid
            self._keep({"channel": "wechat", "openid": body["touser"], "template_id": body["template_id"],
                        "data": {k: v.get("value") for k, v in body.get("data", {}).items()}, "msgid": msgid})
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        return 404, {"errcode": 404, "errmsg": "not found"}


class FakeGetui(_Server):
    """/v2/{appId}/auth and /v2/{appId}/push/single/cid."""

    def __init__(self, *, app_id: str = "rd-app", app_key: str = "dev-key", master_secret: str = "dev-secret",
                 on_message=None):
        super().__init__(on_message)
        self.app_id, self.app_key, self.master_secret = app_id, app_key, master_secret
        self.tokens: set[str] = set()
        self.unknown_cids: set[str] = set()
        self.by_request_id: dict[str, str] = {}

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def handle(self, method, path, query, headers, body):
        prefix = f"/v2/{self.app_id}"
        if path == f"{prefix}/auth" and method == "POST":
            body = body or {}
            expected = auth_sign(app_key=self.app_key, timestamp=str(body.get("timestamp", "")),
                                 master_secret=self.master_secret)
            if body.get("appkey") != self.app_key or body.get("sign") != expected:
                return 200, {"code": 10002, "msg": "sign error"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"code": 0, "msg": "success",
                         "data": {"expire_time": str(int(time.time() * 1000) + 86400000), "token": token}}
        if path == f"{prefix}/push/single/cid" and method == "POST":
            if headers.get("token") not in self.tokens:
                return 200, {"code": 10001, "msg": "token expired"}
            body = body or {}
            request_id = str(body.get("request_id", ""))
            if not 10 <= len(request_id) <= 32:
                return 200, {"code": 20006, "msg": "request_id length must be 10-32"}
            cid = (body.get("audience", {}).get("cid") or [""])[0]
            if cid in self.unknown_cids:
                return 200, {"code": 20101, "msg": "cid not exist"}
            if request_id in self.by_request_id:
                task = self.by_request_id[request_id]
                return 200, {"code": 0, "msg": "success", "data": {task: {cid: "successed_online"}}}
            task = f"RASS_{len(self.by_request_id) + 1:08d}"
            self.by_request_id[request_id] = task
            notification = body.get("push_message", {}).get("notification", {})
            self._keep({"channel": "app", "cid": cid, "title": notification.get("title"),
                        "body": notification.get("body"), "task_id": task})
            return 200, {"code": 0, "msg": "success", "data": {task: {cid: "successed_online"}}}
        return 404, {"code": 404, "msg": "not found"}


if __name__ == "__main__":
    wechat, getui = FakeWeChat(), FakeGetui()
    print("fake WeChat at", wechat.start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8027), flush=True)
    print("fake Getui at", getui.start(port=int(sys.argv[2]) if len(sys.argv) > 2 else 8028), flush=True)
    threading.Event().wait()
