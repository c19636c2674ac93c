from django.urls import reverse

from accounts.roles import perm
from core.navigation import nav_items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for item in nav_items():
        capabilities = (item.capability,) if isinstance(item.capability, str) else item.capability
        if capabilities is None or any(user.has_perm(perm(c)) for c in capabilities):
            url = reverse(item.url_name)
            items.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
    return {"nav_items": items}
