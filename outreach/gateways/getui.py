"""App push through Getui (个推) RestAPI v2.

Authentication: POST /v2/{appId}/auth with {"sign": sha256(appkey + timestamp + mastersecret),
"timestamp": milliseconds, "appkey"}; the answer's data.token goes in the `token` header of every
call (valid until data.expire_time; code 10001 means it expired). A push to one device is
POST /v2/{appId}/push/single/cid with a request_id (10-32 characters, the platform drops a repeat:
our idempotency key), the audience's client id and the notification; the answer's data maps the
task id to the client's state.
"""

import hashlib
import time

from outreach.gateways import GatewayError
from outreach.gateways.http import json_call

TOKEN_EXPIRED = 10001
TEMPORARY_CODES = frozenset({20001, 20002, 30001})  # busy, flow control
GONE_CODES = frozenset({20101})  # the client id is unknown (the app was removed)


def auth_sign(*, app_key: str, timestamp: str, master_secret: str) -> str:
    return hashlib.sha256(f"{app_key}{timestamp}{master_secret}".encode()).hexdigest()


def token_fetch(*, endpoint: str, app_id: str, app_key: str, master_secret: str) -> tuple[str, int]:
    timestamp = str(int(time.time() * 1000))
    answer = json_call(f"{endpoint.rstrip('/')}/v2/{app_id}/auth", name="getui", body={
        "sign": auth_sign(app_key=app_key, timestamp=timestamp, master_secret=master_secret),
        "timestamp": timestamp, "appkey": app_key})
    if answer.get("code") != 0:
        raise GatewayError(f"getui auth {answer.get('code')}: {answer.get('msg', '')}", code=str(answer.get("code")),
                           temporary=answer.get("code") in TEMPORARY_CODES)
    data = answer.get("data") or {}
    expires_in = max(60, (int(data.get("expire_time", 0)) - int(timestamp)) // 1000)
    return data["token"], expires_in


def push_single(*, endpoint: str, app_id: str, token: str, cid: str, title: str, body: str, request_id: str) -> str:
    """One notification to one device; returns the task id."""
    answer = json_call(f"{endpoint.rstrip('/')}/v2/{app_id}/push/single/cid", name="getui", headers={"token": token},
                       body={"request_id": request_id, "settings": {"ttl": 86400000}, "audience": {"cid": [cid]},
                             "push_message": {"notification": {"title": title, "body": body,
                                                               "click_type": "startapp"}}})
    code = answer.get("code")
    if code == TOKEN_EXPIRED:
        raise GatewayError("getui token expired", code="token", temporary=True)
    if code != 0:
        raise GatewayError(f"getui {code}: {answer.get('msg', '')}", code="gone" if code in GONE_CODES else str(code),
                           temporary=code in TEMPORARY_CODES)
    data = answer.get("data") or {}
    return next(iter(data), "")
