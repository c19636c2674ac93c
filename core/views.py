from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from core.homes import RoleHome, home_get, homes_for


def _roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def _render_home(request, home: RoleHome, others: list[RoleHome]):
    if home.url_name:
        return redirect(home.url_name)
    context = home.context(request) if home.context is not None else {}
    links = [{"label": other.label, "url": reverse("core:home_role", kwargs={"role": other.role})} for other in others]
    return render(request, home.template, {**context, "home": home, "other_homes": links})


@login_required
def home(request):
    """After sign-in: the home of the user's first role (DESIGN.md section 1: each role starts at
    its work), with links to the homes of their other roles."""
    homes = homes_for(roles=_roles(request.user))
    if not homes:
        return render(request, "core/home.html")
    return _render_home(request, homes[0], homes[1:])


@login_required
def home_role(request, role: str):
    """The home of another of the user's roles (a user with several roles switches here)."""
    roles = _roles(request.user)
    home = home_get(role)
    if home is None or role not in roles:
        raise Http404("no such home")
    return _render_home(request, home, [h for h in homes_for(roles=roles) if h.role != role])
