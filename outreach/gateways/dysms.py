"""Aliyun Dysms (短信服务) over its RPC protocol: SendBatchSms, API version 2017-05-25.

A request is form-encoded with the common parameters (AccessKeyId, SignatureMethod HMAC-SHA1,
SignatureVersion 1.0, SignatureNonce, Timestamp in UTC ISO 8601, Format JSON), signed over
"POST&%2F&" + the percent-encoded, sorted query with the key secret + "&". One call carries up to
100 numbers, each with its own sign name and template parameters. The answer is JSON with Code
("OK" or an error code), Message, RequestId and BizId (the receipts' key).
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

from outreach.gateways import GatewayError

API_VERSION = "2017-05-25"
MAX_NUMBERS = 100
# codes worth trying again later: flow control and the provider's own trouble
TEMPORARY_CODES = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "isp.SYSTEM_ERROR",
                             "ServiceUnavailable", "InternalError", "isp.RAM_PERMISSION_DENY"})


def percent_encode(value: str) -> str:
    return urllib.parse.quote(str(value), safe="~").replace("+", "%20").replace("*", "%2A")


def signature(params: dict, *, secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_verify(params: dict, *, secret: str, method: str = "POST") -> bool:
    """The gateway's side (our fake gateway uses it): the Signature parameter matches the rest."""
    rest = {k: v for k, v in params.items() if k != "Signature"}
    return hmac.compare_digest(signature(rest, secret=secret, method=method), params.get("Signature", ""))


def send_batch_params(*, access_key_id: str, phones: list[str], sign_names: list[str], template_code: str,
                      template_params: list[dict], out_id: str, now: dt.datetime | None = None,
                      nonce: str | None = None) -> dict:
    if not 0 < len(phones) <= MAX_NUMBERS or not len(phones) == len(sign_names) == len(template_params):
        raise ValueError("1..100 numbers, each with a sign name and its parameters")
    now = now or dt.datetime.now(dt.UTC)
    return {
        "Action": "SendBatchSms", "Version": API_VERSION, "Format": "JSON", "RegionId": "cn-hangzhou",
        "AccessKeyId": access_key_id, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex, "Timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "PhoneNumberJson": json.dumps(phones), "SignNameJson": json.dumps(sign_names, ensure_ascii=False),
        "TemplateCode": template_code,
        "TemplateParamJson": json.dumps(template_params, ensure_ascii=False),
        "OutId": out_id,  # our idempotency key: the same batch asked twice is sent once
    }


def send_batch(*, endpoint: str, access_key_id: str, access_key_secret: str, timeout: float = 10, **batch) -> str:
    """Send one batch; returns the BizId. Raises GatewayError (temporary or permanent)."""
    params = send_batch_params(access_key_id=access_key_id, **batch)
    params["Signature"] = signature(params, secret=access_key_secret)
    request = urllib.request.Request(endpoint, data=urllib.parse.urlencode(params).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            answer = json.loads(exc.read() or b"{}")
        except ValueError:
            answer = {}
        code = answer.get("Code", f"HTTP{exc.code}")
        raise GatewayError(f"dysms {code}: {answer.get('Message', exc.reason)}", code=code,
                           temporary=exc.code >= 500 or exc.code == 429 or code in TEMPORARY_CODES) from exc
    except (OSError, ValueError) as exc:  # refused, reset, timed out, garbled: the gateway is away
        raise GatewayError(f"dysms unreachable: {exc}", code="unreachable", temporary=True) from exc
    code = answer.get("Code", "")
    if code != "OK":
        raise GatewayError(f"dysms {code}: {answer.get('Message', '')}", code=code, temporary=code in TEMPORARY_CODES)
    return answer.get("BizId", "")
