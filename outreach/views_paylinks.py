"""The payment link's page (no login: the code is the authority) and the clerk's button."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET, require_POST

from core.dates import business_today
from core.errors import ApplicationError
from outreach.paylinks import code_display, paylink_hand_over, paylink_issue, paylink_page
from policies.selectors import policy_get

LANGUAGES = ("zh-hans", "en")


def _render(request, code: str, *, error: str = "", status: int = 200, returned: bool = False):
    try:
        page = paylink_page(code=code, now=timezone.now(), as_of=business_today())
    except ApplicationError:
        return render(request, "outreach/paylink_page.html", {"invalid": True}, status=404)
    language = page.link.policy.holder.language
    # the customer's language (Chinese unless they chose English)
    with translation.override(language if language in LANGUAGES else "zh-hans"):
        return render(request, "outreach/paylink_page.html", {
            "page": page, "code": code_display(page.link.code), "error": error, "returned": returned,
            "company": settings.COMPANY_NAME}, status=status)


@require_GET
def page(request, code: str):
    return _render(request, code)


@require_GET
def done(request, code: str):
    """Where the platform sends the buyer back: the money is believed from the notification only."""
    return _render(request, code, returned=True)


@require_POST
def pay(request, code: str, platform: str):
    return_url = settings.PAYLINK_BASE_URL.rstrip("/") + reverse("paylinks:done", args=[code])
    try:
        url = paylink_hand_over(code=code, platform=platform, now=timezone.now(), as_of=business_today(),
                                return_url=return_url, client_ip=request.META.get("REMOTE_ADDR", ""))
    except ApplicationError as exc:
        return _render(request, code, error=str(exc.message), status=exc.status)
    return HttpResponseRedirect(url)


@login_required
@require_POST
def issue(request, policy_no: str):
    """A clerk on a call: the policy's live link (or a fresh one), shown on the policy page."""
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    try:
        paylink_issue(policy=policy, now=timezone.now(), actor=request.user, fresh=request.POST.get("fresh") == "1")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("policies:detail", policy_no=policy.policy_no)
