"""Aliyun Dyvms (语音服务): robot calls as IvrCall through the provider's own SDK
(alibabacloud-dyvmsapi20170525), and the mapping of its call reports (VoiceCallReport, pushed by
HTTP) onto our call-result schema. No database here (like billing/importers).

The call plays the reminder (StartCode, a TTS template with the policy's figures) and asks for a
key; MenuKeyMap names the prompt each key plays. What the key means is ours (KEYS): the provider
only reports the digits (`dtmf`), the status code of the call and its duration.
"""

import datetime as dt
import json
from dataclasses import dataclass

from outreach.gateways import GatewayError

# our schema (outreach.models.CallResult.Outcome values)
NOT_REACHED, REACHED, PROMISE, HARDSHIP, DISSATISFIED, WRONG_NUMBER = (
    "not_reached", "reached", "promise", "hardship", "dissatisfied", "wrong_number")

# the keys the start prompt offers: 1 = I pay within 3 days, 2 = within 7 days, 3 = I cannot pay
# (hardship), 4 = I am not happy with the service, 9 = this is not the policyholder's number
KEYS = {"1": (PROMISE, 3), "2": (PROMISE, 7), "3": (HARDSHIP, 0), "4": (DISSATISFIED, 0), "9": (WRONG_NUMBER, 0)}
# the call's status codes (VoiceCallReport status_code): answered; the number does not exist or is
# out of service (a wrong number for us: the phone is marked failed); anything else: not reached
ANSWERED = "200000"
NUMBER_GONE = frozenset({"200007", "200011"})  # 空号, 停机
TEMPORARY_CODES = frozenset({"Throttling", "Throttling.User", "isp.SYSTEM_ERROR", "ServiceUnavailable",
                             "InternalError", "isv.BUSINESS_LIMIT_CONTROL"})


@dataclass(frozen=True)
class CallOutcome:
    call_id: str
    out_id: str
    outcome: str
    promised_in_days: int
    duration_seconds: int
    ended_at: dt.datetime | None
    status_code: str
    dtmf: str


def client(*, endpoint: str, access_key_id: str, access_key_secret: str, timeout_ms: int = 10000):
    """The SDK's client for `endpoint` (http://host:port for a local fake, or the provider's host)."""
    from alibabacloud_dyvmsapi20170525.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    protocol, _, host = endpoint.rstrip("/").rpartition("://")
    return Client(Config(access_key_id=access_key_id, access_key_secret=access_key_secret, endpoint=host,
                         protocol=protocol or "https", region_id="cn-hangzhou", read_timeout=timeout_ms,
                         connect_timeout=timeout_ms))


def ivr_call(vms_client, *, called_number: str, show_number: str, start_code: str, tts_params: dict,
             menu: dict[str, str], out_id: str) -> str:
    """Start one robot call; returns the provider's CallId. Raises GatewayError."""
    from alibabacloud_dyvmsapi20170525 import models
    from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException

    request = models.IvrCallRequest(
        called_number=called_number, called_show_number=show_number, start_code=start_code,
        start_tts_params=json.dumps(tts_params, ensure_ascii=False), out_id=out_id, play_times=2, timeout=8000,
        menu_key_map=[models.IvrCallRequestMenuKeyMap(key=key, code=code) for key, code in sorted(menu.items())])
    try:
        answer = vms_client.ivr_call(request).body
    except ThrottlingException as exc:
        raise GatewayError(f"dyvms {exc.code}", code=str(exc.code), temporary=True) from exc
    except ServerException as exc:
        raise GatewayError(f"dyvms {exc.code}: {exc.message}", code=str(exc.code), temporary=True) from exc
    except ClientException as exc:
        raise GatewayError(f"dyvms {exc.code}: {exc.message}", code=str(exc.code),
                           temporary=str(exc.code) in TEMPORARY_CODES) from exc
    except Exception as exc:  # the SDK wraps refused/reset/timeouts in its own exceptions
        raise GatewayError(f"dyvms unreachable: {exc}", code="unreachable", temporary=True) from exc
    if answer.code != "OK":
        raise GatewayError(f"dyvms {answer.code}: {answer.message}", code=answer.code or "",
                           temporary=answer.code in TEMPORARY_CODES)
    return answer.call_id or ""


def _moment(value: str) -> dt.datetime | None:
    try:  # the provider writes Beijing time without a zone
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    except (TypeError, ValueError):
        return None


def call_report_map(report: dict) -> CallOutcome:
    """One VoiceCallReport item onto our schema. Raises ValueError on a malformed item."""
    call_id, status = str(report["call_id"]), str(report.get("status_code", ""))
    dtmf = str(report.get("dtmf") or "").strip()
    duration = int(report.get("duration") or 0)
    if status in NUMBER_GONE:
        outcome, days = WRONG_NUMBER, 0
    elif status != ANSWERED:
        outcome, days = NOT_REACHED, 0
    else:
        outcome, days = KEYS.get(dtmf[:1], (REACHED, 0))
    return CallOutcome(call_id=call_id, out_id=str(report.get("out_id") or ""), outcome=outcome,
                       promised_in_days=days, duration_seconds=max(duration, 0),
                       ended_at=_moment(report.get("end_time", "")), status_code=status, dtmf=dtmf)
