from rest_framework.permissions import BasePermission

from accounts.roles import perm


class HasCapability(BasePermission):
    """`capabilities` on the view: {"GET": "view_portfolio", "PUT": "upsert_policies_api"}; a
    tuple of capabilities lets in a user with any one of them."""

    def has_permission(self, request, view):
        capability = view.capabilities.get(request.method, view.capabilities.get("*"))
        if request.method in ("HEAD", "OPTIONS"):
            capability = view.capabilities.get("GET")
        if request.user and request.user.is_authenticated and not hasattr(view, request.method.lower()):
            return True  # a method the view does not offer: its 405, not a 403
        if not (request.user and request.user.is_authenticated and capability):
            return False
        capabilities = (capability,) if isinstance(capability, str) else capability
        return any(request.user.has_perm(perm(c)) for c in capabilities)
