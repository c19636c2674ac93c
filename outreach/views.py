from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from outreach.services.receipts import sms_receipts_apply


@csrf_exempt  # a provider's server, authenticated by the body's signature
@require_POST
def sms_receipts(request):
    try:
        counts = sms_receipts_apply(body=request.body, signature=request.headers.get("X-Signature", ""),
                                    timestamp=request.headers.get("X-Timestamp", ""), now=timezone.now())
    except ApplicationError as exc:
        return JsonResponse({"code": 1, "msg": str(exc)}, status=getattr(exc, "status", 400) or 400)
    return JsonResponse({"code": 0, "msg": "接收成功", **counts})  # the answer Dysms expects: code 0
