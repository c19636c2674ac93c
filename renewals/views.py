from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from core.dates import business_today
from core.errors import ApplicationError
from core.exports import csv_bytes, download, xlsx_bytes
from core.pagination import page_query
from policies.selectors import branches_for
from renewals.forms import DueListFilterForm
from renewals.models import NightlyRun
from renewals.selectors import due_list, due_window
from renewals.services.pipeline import nightly_run_retry

DUE_HEADERS = ["policy_no", "holder", "branch", "product", "frequency", "payment_method", "agent", "installment",
               "due_date", "amount"]


@login_required
@permission_required(perm("view_operations"), raise_exception=True)
def operations(request):
    runs = Paginator(NightlyRun.objects.prefetch_related("steps"), 10).get_page(request.GET.get("page"))
    return render(request, "renewals/operations.html", {"page": runs, "page_query": page_query(request)})


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
