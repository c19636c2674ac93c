from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from audit.presentation import trail_rows
from audit.selectors import TrailFilter, trail_page
from core.dates import business_today
from core.errors import ApplicationError
from core.exports import csv_bytes, download
from core.forms import service_errors_show
from core.pagination import page_query
from policies.forms import PolicyImportForm, PolicySearchForm
from policies.models import PolicyImport
from policies.panels import policy_panels_render
from policies.selectors import (
    CONSISTENCY_DIFFERENCES,
    consistency_report_allowed,
    policy_consistency_list,
    policy_get,
    policy_search,
    policy_status_history,
    policy_status_on,
)
from policies.services.imports import policies_import
from policies.services.reveal import REVEALABLE, policy_field_reveal

TRAIL_ON_POLICY_PAGE = 100


@login_required
@permission_required(perm("view_portfolio"), raise_exception=True)
def search(request):
    form = PolicySearchForm(request.GET or None)
    page = None
    query = ""
    if form.is_valid() and form.cleaned_data["q"]:
        query = form.cleaned_data["q"]
        try:
            results = policy_search(user=request.user, query=query)
        except ApplicationError as exc:
            service_errors_show(form, exc)
        else:
            page = Paginator(results, 25).get_page(request.GET.get("page"))
    template = "policies/_results.html" if request.htmx else "policies/search.html"
    return render(request, template, {"form": form, "page": page, "query": query, "page_query": page_query(request)})


@login_required
@permission_required(perm("view_portfolio"), raise_exception=True)
def detail(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    today = business_today()
    context = {
        "policy": policy,
        "status_today": policy_status_on(policy=policy, on=today),
        "history": policy_status_history(policy=policy),
        "can_see_trail": request.user.has_perm(perm("view_trail_policy")),
        "revealable": REVEALABLE,
        "panels": policy_panels_render(request, policy),
    }
    if context["can_see_trail"]:
        # the newest entries of everything about the policy (its customers, installments, cases...);
        # personal values stay masked in the trail (trail_rows), revealing is the audited button
        events, _more = trail_page(filters=TrailFilter(policy_no=policy.policy_no), size=TRAIL_ON_POLICY_PAGE)
        context["trail"] = trail_rows(events)
    return render(request, "policies/detail.html", context)


@login_required
@require_POST
def reveal(request, policy_no: str, field: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    try:
        value = policy_field_reveal(user=request.user, policy=policy, field=field, url=request.path)
    except PermissionDenied:
        return HttpResponse(_("Not allowed"), status=403)
    return HttpResponse(format_html('<span class="revealed" data-field="{}">{}</span>', field, value))


@login_required
@permission_required(perm("import_policies"), raise_exception=True)
def import_upload(request):
    report = None
    form = PolicyImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = [(f.name, f.read()) for f in form.cleaned_data["files"]]
        try:
            report = policies_import(files=files, as_of=form.cleaned_data["as_of"], actor=request.user)
        except ApplicationError as exc:
            form.add_error("files", exc.message)
        else:
            messages.success(request, _("Import finished."))
    recent = PolicyImport.objects.select_related("actor")[:20]
    return render(request, "policies/import.html", {"form": form, "report": report, "recent": recent})


@login_required
def consistency(request):
    """The core-system consistency report (selectors.policy_consistency_list): policies whose
    status or paid_to_date in the feed differs from ours (ours is kept), the list the core-system
    team works from; for admins and finance. ?difference=status|paid_to_date keeps one kind."""
    if not consistency_report_allowed(user=request.user):
        raise PermissionDenied
    difference = request.GET.get("difference")
    difference = difference if difference in CONSISTENCY_DIFFERENCES else None
    rows = policy_consistency_list(user=request.user, difference=difference, order=request.GET.get("sort", ""))
    if request.GET.get("export") == "csv":
        # the page's columns, headers and statuses in the reader's language
        table = [[p.policy_no, p.branch.name, p.holder.name, p.get_status_display(),
                  p.get_feed_status_display() if p.feed_status else "", p.feed_status_since, p.paid_to_date,
                  p.feed_paid_to_date] for p in rows.select_related("branch", "holder").iterator(chunk_size=5000)]
        headers = [_("Policy number"), _("Branch"), _("Policyholder"), _("Status"), _("Core system's status"),
                   _("Core system's status since"), _("Paid to date"), _("Core system's paid-to date")]
        return download(csv_bytes(headers=headers, rows=table), filename="consistency.csv")
    page = Paginator(rows.select_related("branch", "holder"), 50).get_page(request.GET.get("page"))
    return render(request, "policies/consistency.html", {"page": page, "page_query": page_query(request),
                                                         "difference": difference or ""})
