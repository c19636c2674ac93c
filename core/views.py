from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from accounts.roles import perm


@login_required
def home(request):
    if request.user.has_perm(perm("view_portfolio")):
        return redirect("policies:search")
    if request.user.has_perm(perm("view_trail_all")):
        return redirect("audit:trail")
    return render(request, "core/home.html")
