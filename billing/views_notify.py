"""The platforms' payment notifications (billing.services.platform_payments): no login, no CSRF
(the platform's signature is the authority), answered as each platform expects."""

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services.platform_payments import alipay_notification_receive, wechatpay_notification_receive
from core.dates import business_today
from core.errors import ApplicationError

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def notify_alipay(request):
    """Alipay wants the seven characters `success`; anything else and it sends again later."""
    try:
        alipay_notification_receive(params=request.POST.dict(), as_of=business_today())
    except ApplicationError as exc:
        logger.warning("alipay notification refused: %s", exc)
        return HttpResponse("fail", content_type="text/plain", status=getattr(exc, "status", 400) or 400)
    return HttpResponse("success", content_type="text/plain")


@csrf_exempt
@require_POST
def notify_wechatpay(request):
    """WeChat Pay wants 200 or 204 with no body; on a failure 4XX/5XX and {"code": "FAIL", ...}."""
    try:
        wechatpay_notification_receive(headers=request.headers, body=request.body, as_of=business_today())
    except ApplicationError as exc:
        logger.warning("wechatpay notification refused: %s", exc)
        return JsonResponse({"code": "FAIL", "message": "签名错误" if getattr(exc, "status", 0) == 401 else "失败"},
                            status=getattr(exc, "status", 400) or 400)
    return HttpResponse(status=204)
