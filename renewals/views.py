from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from core.alerts import alerts_open
from core.dates import business_today
from core.errors import ApplicationError
from core.exports import csv_bytes, download, xlsx_bytes
from core.pagination import page_query
from policies.selectors import branches_for, policy_get
from renewals.forms import DueListFilterForm
from renewals.forms_applications import QUESTION_LABELS, DecisionForm, HoldForm, ReinstatementForm, ServicingForm
from renewals.models import Application, ChunkRun, CollectionPlan, Hold, Moratorium, NightlyRun, StepRun
from renewals.operations import catch_up_progress
from renewals.selectors import due_list, due_window
from renewals.selectors_applications import approvals_queue, holds_awaiting, moratoria_awaiting, underwriting_referred
from renewals.services.applications import (
    application_approve,
    application_reject,
    application_underwriting_decide,
    reinstatement_apply,
)
from renewals.services.holds import hold_request, suspension_decide
from renewals.services.pipeline import nightly_run_retry
from renewals.services.plans import policy_collection_profile_set, policy_plan_set
from renewals.services.servicing import servicing_apply, servicing_approve

APPROVALS_PAGE = 25
SUSPENSIONS_SHOWN = 100  # holds and moratoria awaiting approval shown, oldest first
DUE_HEADERS = ["policy_no", "holder", "branch", "product", "frequency", "payment_method", "agent", "installment",
               "due_date", "amount"]


@login_required
@permission_required(perm("view_operations"), raise_exception=True)
def operations(request):
    # each step with the chunks that failed (few): where a failed run stopped, and why
    failed_chunks = Prefetch("chunk_runs", queryset=ChunkRun.objects.filter(failures__gt=0).order_by("id_from"),
                             to_attr="failed_chunks")
    runs = NightlyRun.objects.prefetch_related(Prefetch("steps", queryset=StepRun.objects.prefetch_related(failed_chunks)))
    # the administrators see every open alert here (the nightly run's and the others' kinds)
    alerts = list(alerts_open()[:20]) if request.user.has_perm(perm("configure_system")) else []
    return render(request, "renewals/operations.html", {
        "page": Paginator(runs, 10).get_page(request.GET.get("page")), "page_query": page_query(request),
        "alerts": alerts, "may_catch_up": True, "progress": catch_up_progress()})


@login_required
@require_POST
@permission_required(perm("view_operations"), raise_exception=True)
def operations_rerun(request, pk: int):
    run = get_object_or_404(NightlyRun, pk=pk)
    try:
        nightly_run_retry(run=run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The run for %(day)s has finished.") % {"day": run.as_of.isoformat()})
    return redirect("renewals:operations")


@login_required
@permission_required(perm("view_portfolio"), raise_exception=True)
def due_lists(request):
    form = DueListFilterForm(request.GET or None, branches=branches_for(user=request.user))
    data = form.cleaned_data if form.is_valid() else {}
    window = data.get("window") or "month"
    # the lists are a snapshot of the last nightly run: its business date is theirs
    last_run = NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).first()
    as_of = last_run.as_of if last_run else business_today()
    rows = due_list(user=request.user, window=window, as_of=as_of, filters=data)
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        table = [[e.policy.policy_no, e.policy.holder.name, e.branch.name, e.product.name, e.frequency,
                  e.payment_method, e.agent.code if e.agent else "", e.sequence, e.due_date, e.amount]
                 for e in rows.iterator(chunk_size=5000)]
        name = f"due-{window}-{as_of.isoformat()}.{export}"
        body = (xlsx_bytes(sheets=[("due", DUE_HEADERS, table)]) if export == "xlsx"
                else csv_bytes(headers=DUE_HEADERS, rows=table))
        return download(body, filename=name)
    start, end = due_window(window=window, as_of=as_of)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = page_query(request)
    return render(request, "renewals/due_lists.html", {
        "form": form, "page": page, "page_query": query, "start": start, "end": end,
        "last_run": last_run,
    })


@login_required
@require_POST
@permission_required(perm("work_cases"), raise_exception=True)
def reinstatement_apply_view(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    form = ReinstatementForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Answer every question of the health declaration."))
        return redirect("policies:detail", policy_no=policy_no)
    try:
        application = reinstatement_apply(policy=policy, applied_on=form.cleaned_data["applied_on"],
                                          declaration=form.declaration(), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if application.status == Application.Status.REFERRED:
            messages.info(request, _("The declaration has a yes: the application is referred to underwriting."))
        else:
            messages.success(request, _("Application entered: a team lead approves it."))
    return redirect("policies:detail", policy_no=policy_no)


@login_required
@permission_required(perm("decide_handoffs"), raise_exception=True)
def underwriting_queue(request):
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        application = get_object_or_404(Application, pk=request.POST.get("application"))
        try:
            application_underwriting_decide(application=application, accept=request.POST.get("decision") == "accept",
                                            note=form.cleaned_data["note"], actor=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Decision recorded."))
        return redirect("renewals:underwriting")
    page = Paginator(underwriting_referred(user=request.user), APPROVALS_PAGE).get_page(request.GET.get("page"))
    return render(request, "renewals/underwriting.html", {"page": page, "page_query": page_query(request),
                                                          "form": DecisionForm(), "questions": QUESTION_LABELS})


@login_required
@permission_required(perm("approve_applications"), raise_exception=True)
def approvals(request):
    if request.method == "POST":
        application = get_object_or_404(Application, pk=request.POST.get("application"))
        rejecting = request.POST.get("decision") == "reject"
        try:
            if rejecting:
                application_reject(application=application, actor=request.user,
                                   reason=request.POST.get("reason", "").strip())
            else:
                approve = application_approve if application.kind == Application.Kind.REINSTATEMENT else servicing_approve
                approve(application=application, actor=request.user, as_of=business_today())
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Rejected.") if rejecting else _("Approved."))
        return redirect("renewals:approvals")
    page = Paginator(approvals_queue(user=request.user), APPROVALS_PAGE).get_page(request.GET.get("page"))
    # holds and moratoria are few (asked for by hand, one at a time): the oldest ones, on the first page
    first = page.number == 1
    holds = holds_awaiting(user=request.user)
    return render(request, "renewals/approvals.html", {
        "page": page, "page_query": page_query(request), "suspensions_shown": SUSPENSIONS_SHOWN,
        "holds_waiting": holds.count() if first else 0,
        "holds": list(holds[:SUSPENSIONS_SHOWN]) if first else [],
        "moratoria": moratoria_awaiting(user=request.user, limit=SUSPENSIONS_SHOWN) if first else []})


@login_required
@require_POST
@permission_required(perm("work_cases"), raise_exception=True)
def hold_request_view(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    form = HoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("policies:detail", policy_no=policy_no)
    try:
        hold_request(policy=policy, actor=request.user, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Hold asked for: a team lead approves it."))
    return redirect("policies:detail", policy_no=policy_no)


@login_required
@require_POST
@permission_required(perm("approve_applications"), raise_exception=True)
def suspension_decide_view(request, kind: str, pk: int):
    suspension: Hold | Moratorium
    if kind == "hold":
        suspension = get_object_or_404(Hold, pk=pk)
    elif kind == "moratorium":
        suspension = get_object_or_404(Moratorium, pk=pk)
    else:
        return redirect("renewals:approvals")
    try:
        suspension_decide(suspension=suspension, approve=request.POST.get("decision") == "approve", actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("renewals:approvals")


@login_required
@require_POST
@permission_required(perm("work_cases"), raise_exception=True)
def servicing_apply_view(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    form = ServicingForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("policies:detail", policy_no=policy_no)
    try:
        servicing_apply(policy=policy, kind=form.cleaned_data["kind"], applied_on=business_today(),
                        effective_date=form.cleaned_data["effective_date"], details=form.details(), actor=request.user)
    except ApplicationError as exc:
        reasons = [str(r) for rs in (exc.errors or {}).values() for r in rs]
        messages.error(request, "；".join([str(exc.message), *reasons]))
    else:
        messages.success(request, _("Application entered: a team lead approves it."))
    return redirect("policies:detail", policy_no=policy_no)


@login_required
@require_POST
@permission_required(perm("work_cases"), raise_exception=True)
def policy_collection_profile_view(request, policy_no: str):
    """The overdue reason (clerks) and the segment (team leads) of a policy."""
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    try:
        policy_collection_profile_set(policy=policy, actor=request.user, on=business_today(),
                                      overdue_reason=request.POST.get("overdue_reason"),
                                      segment=request.POST.get("segment"))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("policies:detail", policy_no=policy_no)


@login_required
@require_POST
@permission_required(perm("work_cases"), raise_exception=True)
def policy_plan_view(request, policy_no: str):
    policy = policy_get(user=request.user, policy_no=policy_no, request_path=request.path)
    plan_id = request.POST.get("plan") or None
    plan = get_object_or_404(CollectionPlan, pk=plan_id) if plan_id else None
    try:
        policy_plan_set(policy=policy, plan=plan, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("policies:detail", policy_no=policy_no)
