"""WeChat official account (公众号) template messages over its HTTP API.

The access token comes from GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..
(valid expires_in seconds; shared by every worker through the cache, refreshed once when the API
answers 40001/42001). A message is POST /cgi-bin/message/template/send?access_token=.. with the
follower's openid, the approved template id and its data fields; the answer carries errcode and
msgid. The account's event pushes (TEMPLATESENDJOBFINISH) to us are signed with
sha1(sorted(token, timestamp, nonce)) (signature_verify).
"""

import hashlib
import hmac
import urllib.parse

from outreach.gateways import GatewayError
from outreach.gateways.http import json_call

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid or expired access token: fetch a new one
TEMPORARY_ERRORS = frozenset({-1, 45009, 45047})  # system busy, frequency limits
GONE_ERRORS = frozenset({43004, 40003})  # the customer no longer follows the account / no such openid


def access_token_fetch(*, endpoint: str, app_id: str, app_secret: str) -> tuple[str, int]:
    query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": app_id, "secret": app_secret})
    answer = json_call(f"{endpoint.rstrip('/')}/cgi-bin/token?{query}", name="wechat")
    if "access_token" not in answer:
        code = int(answer.get("errcode", 0) or 0)
        raise GatewayError(f"wechat token {code}: {answer.get('errmsg', '')}", code=str(code),
                           temporary=code in TEMPORARY_ERRORS)
    return answer["access_token"], int(answer.get("expires_in", 7200))


def template_send(*, endpoint: str, access_token: str, openid: str, template_id: str, data: dict[str, str],
                  url: str = "", client_msg_id: str = "") -> str:
    """One template message; returns the msgid. A stale token raises GatewayError code 'token'."""
    body = {"touser": openid, "template_id": template_id, "data": {k: {"value": v} for k, v in data.items()}}
    if url:
        body["url"] = url
    if client_msg_id:  # the platform drops a repeat of the same id (our idempotency key)
        body["client_msg_id"] = client_msg_id
    answer = json_call(f"{endpoint.rstrip('/')}/cgi-bin/message/template/send?access_token="
                       f"{urllib.parse.quote(access_token)}", name="wechat", body=body)
    code = int(answer.get("errcode", 0) or 0)
    if code in TOKEN_ERRORS:
        raise GatewayError(f"wechat {code}: access token", code="token", temporary=True)
    if code != 0:
        raise GatewayError(f"wechat {code}: {answer.get('errmsg', '')}", code="gone" if code in GONE_ERRORS else str(code),
                           temporary=code in TEMPORARY_ERRORS)
    return str(answer.get("msgid", ""))


def signature(*, token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def signature_verify(*, token: str, timestamp: str, nonce: str, given: str) -> bool:
    return hmac.compare_digest(signature(token=token, timestamp=timestamp, nonce=nonce), given or "")
