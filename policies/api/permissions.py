from rest_framework.permissions import BasePermission

from accounts.roles import perm


class HasCapability(BasePermission):
    """`capabilities` on the view: {"GET": "view_portfolio", "PUT": "upsert_policies_api"}."""

    def has_permission(self, request, view):
        capability = view.capabilities.get(request.method, view.capabilities.get("*"))
        if request.method in ("HEAD", "OPTIONS"):
            capability = view.capabilities.get("GET")
        return bool(request.user and request.user.is_authenticated and capability
                    and request.user.has_perm(perm(capability)))
