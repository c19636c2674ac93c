"""A local fake of Aliyun Dyvms for tests and bin/dev: answers IvrCall (RPC style, the SDK's
ACS3-HMAC-SHA256 Authorization header checked), keeps what it received, dedupes by OutId (our
idempotency key), and makes the call report (VoiceCallReport) each call would give, from a script
per number: the tests and the demo decide who answers and which key they press.

Given a callback URL and secret (bin/dev: our /outreach/callbacks/voice/ and the development
OUTREACH_VOICE_CALLBACK_SECRET), it also pushes each call's report there as the provider does, a
little after the call: a JSON array signed with X-Timestamp and X-Signature (hex HMAC-SHA256 of
"<timestamp>.<body>"), retried while our server cannot be reached. A number without a script then
answers by a fixed spread of outcomes (not reached, reached, promises, hardship, dissatisfied,
wrong number), chosen from the call id, so bin/dev's live robot calls get every outcome.
Run: python -m outreach.fake_voice 8026 [callback URL] (the secret in OUTREACH_VOICE_CALLBACK_SECRET)
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

from outreach.fake_http import serve, shutdown

logger = logging.getLogger(__name__)
SH = dt.timezone(dt.timedelta(hours=8))
# how callees answer when no script names their number, per thousand calls: (upper bound, status,
# keys pressed) as the demo's history has them: not reached, reached without a key, a promise
# within 3 days (1) and within 7 (2), hardship (3), dissatisfied (4), not the policyholder (9), a
# number out of service (200007)
SPREAD = ((330, "200005", ""), (630, "200000", ""), (780, "200000", "1"), (860, "200000", "2"),
          (920, "200000", "3"), (970, "200000", "4"), (985, "200000", "9"), (1000, "200007", ""))
PUSH_ATTEMPTS = 8  # our server not up yet (bin/dev starts it after the fakes), or restarting


def spread_outcome(call_id: str) -> tuple[str, str, int]:
    """(status, keys, seconds) of a call by the spread above, the same for the same call id."""
    roll = int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16) % 1000
    status, keys = next((st, k) for bound, st, k in SPREAD if roll < bound)
    return status, keys, 20 + roll % 70


def push_signature(*, body: bytes, timestamp: str, secret: str) -> str:
    """The provider's side of the callback's signature (our side: outreach.services.receipts)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


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
    def __init__(self, *, access_key_id: str = "dev-key", secret: str = "dev-secret", on_call=None,
                 callback_url: str = "", callback_secret: str = "", report_delay: float = 0.0):
        self.access_key_id, self.secret = access_key_id, secret
        self.on_call = on_call  # bin/dev: each call received is also written to the inbox file
        # where the call reports are pushed (nothing is pushed without both), and how long after a call
        self.callback_url, self.callback_secret, self.report_delay = callback_url, callback_secret, report_delay
        self.pushes: list[tuple[int, int]] = []  # (our HTTP status, reports in the push), for tests and logs
        self.endpoint = ""
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
            if self.callback_url and self.callback_secret:
                timer = threading.Timer(self.report_delay, self._push_report, args=(call,))
                timer.daemon = True
                timer.start()
            return 200, {"Code": "OK", "Message": "OK", "CallId": call_id, "RequestId": request_id}

    def _outcome(self, call: dict) -> tuple[str, str, int]:
        scripted = self.script.get(call["phone"])
        if scripted is not None:
            return scripted
        # pushing to a server of ours (bin/dev): every outcome comes up; otherwise answered, no key
        return spread_outcome(call["call_id"]) if self.callback_url else ("200000", "", 25)

    def report(self, call: dict, *, at: dt.datetime | None = None) -> dict:
        """The VoiceCallReport of one call, by the callee's script, ended `at` (default now)."""
        end = (at or dt.datetime.now(SH)).astimezone(SH)
        status, dtmf, duration = self._outcome(call)
        answered = status == "200000"
        return {
            "call_id": call["call_id"], "out_id": call["out_id"], "callee": call["phone"],
            "caller": call["show_number"], "status_code": status, "status_msg": "用户听到" if answered else "未接通",
            "dtmf": dtmf, "duration": duration if answered else 0,
            "start_time": (end - dt.timedelta(seconds=duration if answered else 0)).strftime("%Y-%m-%d %H:%M:%S"),
            "end_time": end.strftime("%Y-%m-%d %H:%M:%S")}

    def reports(self, *, at: dt.datetime | None = None) -> list[dict]:
        """The VoiceCallReport of every call made so far, as the provider pushes them (a JSON
        array), each by the callee's script."""
        return [self.report(call, at=at) for call in self.calls]

    def _push_report(self, call: dict) -> None:
        """The provider's push of one call's report to the callback URL, signed; retried with a
        growing pause while our server cannot be reached or fails (5xx). A refusal (403: a secret
        that does not match) is not retried: it would be refused again."""
        body = json.dumps([self.report(call)], ensure_ascii=False).encode()
        pause = 1.0
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            timestamp = str(int(time.time()))  # signed afresh: our side refuses a stamp 5 minutes old
            request = urllib.request.Request(self.callback_url, data=body, method="POST", headers={
                "Content-Type": "application/json", "X-Timestamp": timestamp,
                "X-Signature": push_signature(body=body, timestamp=timestamp, secret=self.callback_secret)})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError) as exc:
                status = 0
                logger.info("call report for %s not delivered (attempt %s): %s", call["call_id"], attempt, exc)
            if status and status < 500:
                with self.lock:
                    self.pushes.append((status, 1))
                if status >= 400:
                    logger.warning("call report for %s refused by %s: HTTP %s", call["call_id"], self.callback_url,
                                   status)
                return
            time.sleep(pause)
            pause = min(pause * 2, 30.0)
        with self.lock:
            self.pushes.append((0, 1))

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
        self.endpoint = f"http://{host}:{self.server.server_address[1]}"
        return self.endpoint

    def stop(self) -> None:
        shutdown(self.server)
        self.server = None


if __name__ == "__main__":
    fake = FakeDyvms(callback_url=sys.argv[2] if len(sys.argv) > 2 else "",
                     callback_secret=os.environ.get("OUTREACH_VOICE_CALLBACK_SECRET", ""), report_delay=5)
    print("fake Dyvms at", fake.start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8026), flush=True)
    threading.Event().wait()
