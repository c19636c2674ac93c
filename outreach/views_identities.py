"""The policy page's panel of the policyholder's WeChat and app push identities: shown masked to
everyone who sees the policy; entered by those who may change contact details (the service checks
the capability and the policy's scope again)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from core.errors import ApplicationError
from outreach.forms import ChannelIdentitiesForm
from outreach.panels import identities_panel
from outreach.services.identities import customer_channel_identities_update
from policies.selectors import policy_get


def _panel(request, policy, form: ChannelIdentitiesForm, *, saved: bool = False) -> dict:
    panel = identities_panel(request, policy) or {}
    return {"panel": {**panel, "form": form, "open": form.is_bound and not saved, "saved": saved}}


@login_required
@permission_required(perm("work_cases"), raise_exception=True)
@require_POST
def identities_update(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    form = ChannelIdentitiesForm(request.POST)
    if form.is_valid():
        try:
            customer_channel_identities_update(policy=policy, actor=request.user, identities=form.identities())
        except ApplicationError as exc:
            if exc.status == 403:
                raise PermissionDenied(str(exc.message)) from exc
            form.add_service_errors(exc)
        else:
            if not request.htmx:
                messages.success(request, _("The identities are saved."))
                return redirect("policies:detail", policy_no=policy.policy_no)
            return render(request, "outreach/_channel_identities.html",
                          _panel(request, policy, ChannelIdentitiesForm(), saved=True))
    template = "outreach/_channel_identities.html" if request.htmx else "outreach/channel_identities.html"
    return render(request, template, {**_panel(request, policy, form), "policy": policy}, status=400)
