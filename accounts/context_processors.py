from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import perm

# (label, url name, capability or None for everyone signed in)
NAVIGATION = [
    (_("Policy search"), "policies:search", "view_portfolio"),
    (_("Policy import"), "policies:import", "import_policies"),
    (_("Audit trail"), "audit:trail", "view_trail_all"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"label": label, "url": reverse(name), "active": request.path.startswith(reverse(name))}
        for label, name, capability in NAVIGATION
        if capability is None or user.has_perm(perm(capability))
    ]
    return {"nav_items": items}
