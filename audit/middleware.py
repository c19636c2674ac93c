import uuid

from pghistory.middleware import HistoryMiddleware


class AuditContextMiddleware(HistoryMiddleware):
    """Every change made through a request carries who, through which request, from where."""

    def get_context(self, request):
        context = super().get_context(request)
        user = getattr(request, "user", None)
        request.audit_request_id = getattr(request, "audit_request_id", None) or uuid.uuid4().hex
        context.update(
            {
                "username": user.get_username() if user is not None and user.is_authenticated else None,
                "method": request.method,
                "request_id": request.audit_request_id,
                "ip": request.META.get("REMOTE_ADDR"),
            }
        )
        return context
