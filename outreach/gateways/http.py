"""The JSON-over-HTTP call the WeChat and app push adapters share: errors become GatewayError
(5xx, 429 and unreachable are temporary)."""

import json
import urllib.error
import urllib.request

from outreach.gateways import GatewayError


def json_call(url: str, *, name: str, body: dict | None = None, headers: dict | None = None,
              timeout: float = 10) -> dict:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json;charset=utf-8", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise GatewayError(f"{name} HTTP {exc.code}", code=f"HTTP{exc.code}",
                           temporary=exc.code >= 500 or exc.code == 429) from exc
    except (OSError, ValueError) as exc:
        raise GatewayError(f"{name} unreachable: {exc}", code="unreachable", temporary=True) from exc
