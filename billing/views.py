"""Finance's pages: statement import, suspense, auto-debit batches, reconciliation, matching rules.
Thin: validate, fetch with a permission check, call a service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from billing.forms import (
    CsvTemplateForm,
    DebitBatchForm,
    ManualMatchForm,
    MatchingRuleForm,
    ReasonForm,
    ReconciliationForm,
    RematchForm,
    StatementUploadForm,
    SuspenseFilterForm,
)
from billing.models import Assignment, CsvTemplate, DebitBatch, MatchingRule, Payment, StatementImport
from billing.selectors import payment_get, statement_import_list, statement_import_scope_check, suspense_list
from billing.services.debits import (
    debit_batch_access_check,
    debit_batch_create,
    debit_batch_csv,
    debit_batch_mark_exported,
    debit_batch_pain008,
)
from billing.services.payments import payment_unassigned
from billing.services.reconciliation import (
    reconciliation_csv,
    reconciliation_for,
    reconciliation_summary,
    reconciliation_xlsx,
)
from billing.services.rules import csv_template_save, matching_rule_save
from billing.services.statements import statement_import
from billing.services.suspense import (
    REMATCH_SCAN_LIMIT,
    assignment_approve,
    assignment_reject,
    payment_keep,
    payment_match_manual,
    payment_refund,
    rematch_access_check,
    suspense_rematch,
    suspense_rematch_open_lines,
    suspense_rematch_preview,
)
from core.dates import business_today
from core.errors import ApplicationError
from core.pagination import page_query
from policies.selectors import policy_list, policy_search

RECONCILIATION_PAGE = 50  # lines not fully allocated per page


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def imports(request):
    form = StatementUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = statement_import(
                name=upload.name, data=upload.read(), format=form.cleaned_data["format"],
                template=form.cleaned_data["template"] or None, account_no=form.cleaned_data["account"] or None,
                actor=request.user, as_of=business_today(),
            )
        except ApplicationError as exc:
            form.add_error("file", exc.message)
        else:
            messages.success(request, _("Import finished."))
            return redirect("billing:import_detail", pk=report["import_id"])
    page = Paginator(statement_import_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "billing/imports.html", {"form": form, "page": page, "page_query": page_query(request)})


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def import_detail(request, pk: int):
    record = get_object_or_404(StatementImport.objects.select_related("actor"), pk=pk)
    statement_import_scope_check(user=request.user, record=record)
    lines = Paginator(record.payments.order_by("line_no"), 50).get_page(request.GET.get("page"))
    return render(request, "billing/import_detail.html",
                  {"record": record, "report": record.report, "page": lines, "page_query": page_query(request)})


@login_required
@permission_required(perm("match_payments"), raise_exception=True)
def suspense(request):
    form = SuspenseFilterForm(request.GET or None)
    qs = suspense_list()
    if form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            qs = Payment.objects.filter(status=data["status"], direction="credit").order_by("value_date", "id")
        if data["q"]:
            qs = qs.filter(Q(payer_name__icontains=data["q"]) | Q(reference__icontains=data["q"])
                           | Q(remittance__icontains=data["q"]))
        if data["date_from"]:
            qs = qs.filter(value_date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(value_date__lte=data["date_to"])
    pending = (Assignment.objects.filter(status__in=[Assignment.Status.PENDING_APPROVAL, Assignment.Status.PROPOSED])
               .select_related("payment", "policy", "matched_by").order_by("created_at"))
    page = Paginator(qs.prefetch_related("assignments__policy"), 25).get_page(request.GET.get("page"))
    return render(request, "billing/suspense.html", {
        "form": form, "page": page, "page_query": page_query(request), "pending": pending,
        "can_approve": request.user.has_perm(perm("approve_matches")),
    })


@login_required
@permission_required(perm("match_payments"), raise_exception=True)
def payment_detail(request, pk: int):
    payment = payment_get(user=request.user, pk=pk)
    match_form = ManualMatchForm(request.POST or None, initial={"amount": payment_unassigned(payment=payment)})
    if request.method == "POST" and match_form.is_valid():
        policy = policy_list(user=request.user).filter(policy_no=match_form.cleaned_data["policy_no"]).first()
        if policy is None:
            match_form.add_error("policy_no", _("No policy of your branches has this number."))
        else:
            try:
                assignment = payment_match_manual(payment=payment, policy=policy, amount=match_form.cleaned_data["amount"],
                                                  actor=request.user, as_of=business_today())
            except ApplicationError as exc:
                for field, reasons in (exc.errors or {"__all__": [exc.message]}).items():
                    match_form.add_error(field if field in match_form.fields else None, reasons)
            else:
                if assignment.status == Assignment.Status.PENDING_APPROVAL:
                    messages.info(request, _("Matched. The amount is above the approval threshold: a second finance "
                                             "user must approve it."))
                else:
                    messages.success(request, _("Matched and allocated."))
                return redirect("billing:payment", pk=payment.pk)
    query = request.GET.get("q", "").strip()
    candidates: list = []
    search_error: object = ""
    if query:
        try:
            candidates = list(policy_search(user=request.user, query=query)[:10])
        except ApplicationError as exc:
            search_error = exc.message
    return render(request, "billing/payment.html", {
        "payment": payment, "match_form": match_form, "reason_form": ReasonForm(), "query": query,
        "candidates": candidates, "search_error": search_error, "unassigned": payment_unassigned(payment=payment),
        "assignments": payment.assignments.select_related("policy", "matched_by", "approved_by"),
    })


@login_required
@require_POST
@permission_required(perm("match_payments"), raise_exception=True)
def payment_action(request, pk: int, action: str):
    payment = payment_get(user=request.user, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect("billing:payment", pk=pk)
    if action not in ("refund", "keep"):
        return HttpResponse(status=404)
    try:
        if action == "refund":
            payment_refund(payment=payment, actor=request.user, reason=form.cleaned_data["reason"],
                           as_of=business_today(), destination_account=form.cleaned_data["destination_account"])
        else:
            payment_keep(payment=payment, actor=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("billing:payment", pk=pk)


@login_required
@permission_required(perm("match_payments"), raise_exception=True)
def suspense_rematch_page(request):
    """The one-off re-match: GET previews what the current rules would book or propose for the
    open suspense lines (it writes nothing); POST books the confirmed lines through the matcher."""
    try:
        rematch_access_check(actor=request.user)
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from None
    if request.method == "POST":
        form = RematchForm(request.POST,
                           payment_ids=list(suspense_rematch_open_lines().values_list("pk", flat=True)))
        if form.is_valid():
            counts = suspense_rematch(payment_ids=form.cleaned_data["payment"], actor=request.user,
                                      as_of=business_today())
            messages.success(request, _("Matched again: %(matched)s booked, %(proposed)s proposed, %(suspense)s still "
                                        "in suspense.") % counts)
        else:
            messages.error(request, _("Nothing to match: the lines are no longer open."))
        return redirect("billing:suspense_rematch")
    candidates, open_count = suspense_rematch_preview()
    return render(request, "billing/suspense_rematch.html",
                  {"candidates": candidates, "open_count": open_count, "limit": REMATCH_SCAN_LIMIT})


@login_required
@require_POST
@permission_required(perm("approve_matches"), raise_exception=True)
def assignment_decide(request, pk: int, decision: str):
    assignment = get_object_or_404(Assignment, pk=pk)
    try:
        if decision == "approve":
            assignment_approve(assignment=assignment, actor=request.user, as_of=business_today())
            messages.success(request, _("Approved and allocated."))
        elif decision == "reject":
            assignment_reject(assignment=assignment, actor=request.user, reason=request.POST.get("reason", "").strip())
            messages.success(request, _("Rejected: the money is back in suspense."))
        else:
            return HttpResponse(status=404)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("billing:suspense")


def _debit_batches_allowed(user) -> None:
    try:
        debit_batch_access_check(actor=user)
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from None


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def debits(request):
    _debit_batches_allowed(request.user)
    form = DebitBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        batch = debit_batch_create(collection_date=form.cleaned_data["collection_date"], actor=request.user)
        messages.success(request, _("Batch %(ref)s created with %(n)s lines.") % {"ref": batch.reference,
                                                                                  "n": batch.line_count})
        return redirect("billing:debits")
    page = Paginator(DebitBatch.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "billing/debits.html", {"form": form, "page": page, "page_query": page_query(request)})


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def debit_export(request, pk: int, kind: str):
    _debit_batches_allowed(request.user)
    batch = get_object_or_404(DebitBatch, pk=pk)
    if kind == "pain008":
        body, content_type, name = debit_batch_pain008(batch=batch), "application/xml", f"{batch.reference}.xml"
    elif kind == "csv":
        body, content_type, name = debit_batch_csv(batch=batch), "text/csv; charset=utf-8", f"{batch.reference}.csv"
    else:
        return HttpResponse(status=404)
    # a download changes nothing: the batch is marked sent by its own button (POST)
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
@permission_required(perm("import_statements"), raise_exception=True)
def debit_mark_exported_view(request, pk: int):
    _debit_batches_allowed(request.user)
    batch = get_object_or_404(DebitBatch, pk=pk)
    debit_batch_mark_exported(batch=batch, actor=request.user)
    messages.success(request, _("Batch %(ref)s marked as sent to the bank.") % {"ref": batch.reference})
    return redirect("billing:debits")


@login_required
@permission_required(perm("import_statements"), raise_exception=True)
def reconciliation(request):
    form = ReconciliationForm(request.GET or None)
    day = form.cleaned_data["day"] if form.is_valid() else business_today()
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        recon = reconciliation_for(day=day)
        if export == "xlsx":
            body = reconciliation_xlsx(recon=recon)
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            body, content_type = reconciliation_csv(recon=recon), "text/csv; charset=utf-8"
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="reconciliation-{day.isoformat()}.{export}"'
        return response
    recon = reconciliation_summary(day=day)
    page = Paginator(recon["open_lines"], RECONCILIATION_PAGE).get_page(request.GET.get("page"))
    return render(request, "billing/reconciliation.html", {"form": form, "recon": recon, "day": day, "page": page,
                                                           "page_query": page_query(request)})


@login_required
@permission_required(perm("configure_matching_rules"), raise_exception=True)
def rules(request, pk: int | None = None):
    rule = get_object_or_404(MatchingRule, pk=pk) if pk else None
    form = MatchingRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        matching_rule_save(values={f: form.cleaned_data[f] for f in form.Meta.fields}, rule=rule, actor=request.user)
        messages.success(request, _("Matching rule saved."))
        return redirect("billing:rules")
    return render(request, "billing/rules.html", {"form": form, "rule": rule, "rules": MatchingRule.objects.all()})


@login_required
@permission_required(perm("configure_matching_rules"), raise_exception=True)
def csv_templates(request, pk: int | None = None):
    template = get_object_or_404(CsvTemplate, pk=pk) if pk else None
    form = CsvTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        csv_template_save(name=form.cleaned_data["name"], bank_name=form.cleaned_data["bank_name"],
                          mapping=form.mapping(), template=template, actor=request.user)
        messages.success(request, _("CSV template saved."))
        return redirect("billing:csv_templates")
    return render(request, "billing/csv_templates.html",
                  {"form": form, "template": template, "templates": CsvTemplate.objects.all()})
