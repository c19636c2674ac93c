"""A local fake of Aliyun Dyvms for tests and bin/dev: answers IvrCall (RPC style, the SDK's
ACS3-HMAC-SHA256 Authorization header checked), keeps what it received, dedupes by OutId (our
idempotency key), and makes the call report (VoiceCallReport) each call would give, from a script
per number: the tests and the demo decide who answers and which key they press.
Run: python -m outreach.fake_voice 8026
"""

import datetime as dt
import hashlib
import hmac
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

from outreach.fake_http import serve, shutdown

SH = dt.timezone(dt.timedelta(hours=8))


def _canonical_query(query: dict) -> str:
    return "&".join(f"{k}={quote(query[k], safe='~', encoding='utf-8')}" for k in sorted(query))


def acs3_verify(*, method: str, path: str, query: dict, headers: dict, body: bytes, key_id: str, secret: str) -> bool:
    """Aliyun's V3 signature (ACS3-HMAC-SHA256), recomputed from what arrived."""
    auth = headers.get("authorization", "")
    algorithm, _, rest = auth.partition(" ")
    if algorithm != "ACS3-HMAC-SHA256":
        return False
    parts = dict(p.split("=", 1) for p in rest.split(",") if "=" in p)
    if parts.get("Credential") != key_id:
        return False
    signed = parts.get("SignedHeaders", "").split(";")
    payload = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256") != payload:
        return False
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    canonical = f"{method}\n{path or '/'}\n{_canonical_query(query)}\n{canonical_headers}\n{';'.join(signed)}\n{payload}"
    to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("Signature", ""))


class FakeDyvms:
    def __init__(self, *, access_key_id: str = "dev-key", secret: str = "dev-secret", on_call=None):
        self.access_key_id, self.secret = access_key_id, secret
        self.on_call = on_call  # bin/dev: each call received is also written to the inbox file
        self.calls: list[dict] = []
        self.requests = 0
        self.by_out_id: dict[str, str] = {}
        # number -> (status_code, dtmf, duration): how the callee behaves; default answered, no key
        self.script: dict[str, tuple[str, str, int]] = {}
        self.down = False
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def answer(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> tuple[int, dict]:
        request_id = uuid.uuid4().hex.upper()
        with self.lock:
            self.requests += 1
            if self.down:
                return 503, {"Code": "ServiceUnavailable", "Message": "temporary failure", "RequestId": request_id}
            if not acs3_verify(method=method, path=path, query=query, headers=headers, body=body,
                               key_id=self.access_key_id, secret=self.secret):
                return 400, {"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with "
                                                                         "our calculation.", "RequestId": request_id}
            if headers.get("x-acs-action") != "IvrCall":
                return 400, {"Code": "InvalidAction.NotFound", "Message": "unknown action", "RequestId": request_id}
            number, out_id = query.get("CalledNumber", ""), query.get("OutId", "")
            if not number or not query.get("StartCode"):
                return 400, {"Code": "MissingParameter", "Message": "CalledNumber and StartCode are required",
                             "RequestId": request_id}
            if out_id and out_id in self.by_out_id:  # asked again: not called again
                return 200, {"Code": "OK", "Message": "OK", "CallId": self.by_out_id[out_id], "RequestId": request_id}
            call_id = f"{uuid.uuid4().int % 10**12}^{len(self.calls) + 1:08d}"
            if out_id:
                self.by_out_id[out_id] = call_id
            menu = {query[k]: query[k.replace(".Key", ".Code")] for k in query if k.endswith(".Key")}
            call = {"call_id": call_id, "out_id": out_id, "phone": number, "show_number": query.get("CalledShowNumber"),
                    "start_code": query["StartCode"], "params": json.loads(query.get("StartTtsParams") or "{}"),
                    "menu": menu}
            self.calls.append(call)
            if self.on_call is not None:
                self.on_call(call)
            return 200, {"Code": "OK", "Message": "OK", "CallId": call_id, "RequestId": request_id}

    def reports(self, *, at: dt.datetime | None = None) -> list[dict]:
        """The VoiceCallReport of every call made so far, as the provider pushes them (a JSON
        array), each by the callee's script."""
        end = (at or dt.datetime.now(SH)).astimezone(SH)
        items = []
        for call in self.calls:
            status, dtmf, duration = self.script.get(call["phone"], ("200000", "", 25))
            answered = status == "200000"
            items.append({
                "call_id": call["call_id"], "out_id": call["out_id"], "callee": call["phone"],
                "caller": call["show_number"], "status_code": status, "status_msg": "用户听到" if answered else "未接通",
                "dtmf": dtmf, "duration": duration if answered else 0,
                "start_time": (end - dt.timedelta(seconds=duration if answered else 0)).strftime("%Y-%m-%d %H:%M:%S"),
                "end_time": end.strftime("%Y-%m-%d %H:%M:%S")})
        return items

    def start(self, port: int = 0, host: str = "127.0.0.1") -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    query.update(parse_qsl(body.decode(), keep_blank_values=True))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = gateway.answer("POST", url.path, query, headers, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = serve(Handler, host, port)
        return f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        shutdown(self.server)
        self.server = None


if __name__ == "__main__":
    fake = FakeDyvms()
    print("fake Dyvms at", fake.start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8026), flush=True)
    threading.Event().wait()
