"""The risk reviewer's pages: the queue (claim-next), a flag with its evidence and review, the
evidence pack, rule configuration with versions and backtests, the monthly compliance list, and
the claims handler's claim entry. Thin: validate, fetch with a permission check, call a service."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import perm
from billing.models import Payment
from core.dates import business_today
from core.errors import ApplicationError
from core.exports import download
from core.forms import service_errors_show
from core.pagination import page_query
from policies.models import Customer
from policies.selectors import policy_list
from risk.forms import (
    AllowedPayerForm,
    BacktestForm,
    ClaimForm,
    DecideForm,
    MonthForm,
    QueueFilterForm,
    RuleForm,
    SnoozeForm,
)
from risk.kinds import EVIDENCE_LABELS
from risk.models import Claim, Flag, Rule
from risk.selectors import (
    cash_total,
    claim_list,
    confirmed_cases,
    flag_evidence,
    flag_get,
    flag_policies,
    flag_queue,
    flag_reviews,
    flag_sentence,
    flags_in_order,
    large_cash_list,
    rule_list,
)
from risk.services.claims import claim_record
from risk.services.flags import flag_claim, flag_claim_next, flag_decide, flag_snooze
from risk.services.packs import compliance_month_xlsx, customer_pack, flag_pack
from risk.services.payers import allowed_payer_add
from risk.services.rules import rule_activate, rule_backtest, rule_version_create

WORK = perm("work_risk_flags")


@login_required
@permission_required(WORK, raise_exception=True)
def queue(request):
    form = QueueFilterForm(request.GET or None)
    filters = {}
    if form.is_valid():
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    queue = flag_queue(user=request.user, **filters).select_related(None).values_list("pk", flat=True)
    page = Paginator(queue, 25).get_page(request.GET.get("page"))
    page.object_list = flags_in_order(user=request.user, ids=list(page.object_list))
    for flag in page:
        flag.sentence = flag_sentence(flag)
    return render(request, "risk/queue.html", {"form": form, "page": page, "page_query": page_query(request)})


@login_required
@require_POST
@permission_required(WORK, raise_exception=True)
def claim_next(request):
    flag = flag_claim_next(actor=request.user, as_of=business_today(), kind=request.POST.get("kind", ""),
                           severity=request.POST.get("severity", ""))
    if flag is None:
        messages.info(request, _("Nothing is waiting in the queue."))
        return redirect("risk:queue")
    return redirect("risk:flag", pk=flag.pk)


@login_required
@permission_required(WORK, raise_exception=True)
def flag_detail(request, pk: int):
    flag = flag_get(user=request.user, pk=pk, request_path=request.path)
    return _flag_page(request, flag)


# coded evidence values shown as the reader's words
EVIDENCE_CODES = {"source": dict(Payment.Source.choices), "kind": dict(Claim.Kind.choices),
                  "status": dict(Claim.Status.choices)}


def _evidence_value(name: str, value) -> str:
    if value is None:
        return ""
    return str(EVIDENCE_CODES.get(name, {}).get(value, value))


def _flag_page(request, flag, *, decide_form=None, snooze_form=None, payer_form=None, status: int = 200):
    evidence = flag_evidence(user=request.user, flag=flag)
    sections = [{"name": name, "headers": sorted({k for row in rows for k in row if k != "masked"}), "rows": rows}
                for name, rows in evidence.items()]
    for section in sections:
        section["table"] = [[_evidence_value(h, row.get(h)) for h in section["headers"]] for row in section["rows"]]
        section["labels"] = [EVIDENCE_LABELS.get(h, h) for h in section["headers"]]
        section["label"] = EVIDENCE_LABELS.get(section["name"], section["name"])
    return render(request, "risk/flag.html", {
        "flag": flag, "sentence": flag_sentence(flag), "sections": sections,
        "policies": flag_policies(user=request.user, flag=flag), "reviews": flag_reviews(flag=flag),
        "previous_sentence": flag_sentence(flag.previous) if flag.previous_id else "",
        "decide_form": decide_form or DecideForm(), "snooze_form": snooze_form or SnoozeForm(),
        "payer_form": payer_form or AllowedPayerForm(),
        "live": flag.status in Flag.LIVE_STATUSES,
        "customer": flag.policy.holder if flag.policy_id else (
            Customer.objects.filter(pk=flag.subject_key).first() if flag.subject_type == "customer" else None),
        "mine": flag.claimed_by_id == request.user.pk,
    }, status=status)


@login_required
@require_POST
@permission_required(WORK, raise_exception=True)
def flag_action(request, pk: int, action: str):
    flag = flag_get(user=request.user, pk=pk, request_path=request.path)
    as_of = business_today()
    try:
        if action == "claim":
            flag_claim(flag=flag, actor=request.user, as_of=as_of, request_path=request.path)
        elif action == "snooze":
            form = SnoozeForm(request.POST)
            if not form.is_valid():
                return _flag_page(request, flag, snooze_form=form, status=400)
            flag_snooze(flag=flag, actor=request.user, as_of=as_of, request_path=request.path, **form.cleaned_data)
        elif action == "decide":
            form = DecideForm(request.POST)
            if not form.is_valid():
                return _flag_page(request, flag, decide_form=form, status=400)
            flag_decide(flag=flag, actor=request.user, as_of=as_of, request_path=request.path, **form.cleaned_data)
        elif action == "pack":
            name, body = flag_pack(flag=flag, actor=request.user, as_of=as_of, request_path=request.path)
            response = HttpResponse(body, content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        elif action == "allow-payer":
            form = AllowedPayerForm(request.POST)
            if not form.is_valid() or flag.policy is None:
                return _flag_page(request, flag, payer_form=form, status=400)
            allowed_payer_add(customer=flag.policy.holder, actor=request.user, **form.cleaned_data)
        else:
            return HttpResponse(status=404)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("risk:flag", pk=flag.pk)


@login_required
@require_POST
@permission_required(WORK, raise_exception=True)
def customer_pack_download(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    name, body = customer_pack(customer=customer, actor=request.user, as_of=business_today(),
                               request_path=request.path)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required(perm("configure_risk_rules"), raise_exception=True)
def rules(request):
    return render(request, "risk/rules.html", {"rules": rule_list()})


@login_required
@permission_required(perm("configure_risk_rules"), raise_exception=True)
def rule_detail(request, pk: int):
    rule = get_object_or_404(Rule, pk=pk)
    form = RuleForm(request.POST or None, initial=RuleForm.initial_for(rule))
    backtest_form = BacktestForm(initial={"as_of": business_today()})
    backtest = None
    action = request.POST.get("action", "") if request.method == "POST" else ""
    try:
        if action == "version" and form.is_valid():
            new = rule_version_create(rule=rule, actor=request.user, reason=form.cleaned_data["change_reason"],
                                      data=form.data_for_service(rule))
            messages.success(request, _("Version %(version)s saved as a draft: backtest it, then switch it on.")
                             % {"version": new.version})
            return redirect("risk:rule", pk=new.pk)
        if action == "activate":
            rule_activate(rule=rule, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Switched on."))
            return redirect("risk:rule", pk=rule.pk)
        if action == "backtest":
            form = RuleForm(initial=RuleForm.initial_for(rule))
            backtest_form = BacktestForm(request.POST)
            if backtest_form.is_valid():
                backtest = rule_backtest(rule=rule, actor=request.user, as_of=backtest_form.cleaned_data["as_of"])
                for row in backtest["rows"]:
                    row["sentence"] = flag_sentence(None, kind=rule.kind, params=row["sentence_params"])
    except ApplicationError as exc:
        service_errors_show(form, exc)
    versions = Rule.objects.filter(key=rule.key).order_by("-version")
    return render(request, "risk/rule.html", {"rule": rule, "form": form, "backtest_form": backtest_form,
                                              "backtest": backtest, "versions": versions})


def _month(request) -> tuple[dt.date, dt.date, MonthForm]:
    form = MonthForm(request.GET or None)
    today = business_today()
    start = today.replace(day=1)
    if form.is_valid() and form.cleaned_data["month"]:
        year, month = map(int, form.cleaned_data["month"].split("-"))
        if 1 <= month <= 12:
            start = dt.date(year, month, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return start, end, form


@login_required
@permission_required(WORK, raise_exception=True)
def compliance(request):
    start, end, form = _month(request)
    if request.GET.get("format") == "xlsx":
        body = compliance_month_xlsx(actor=request.user, month_start=start, month_end=end)
        return download(body, filename=f"risk-compliance-{start:%Y-%m}.xlsx")
    cash = large_cash_list(user=request.user, month_start=start, month_end=end)
    cases = list(confirmed_cases(user=request.user, month_start=start, month_end=end))
    for flag in cases:
        flag.sentence = flag_sentence(flag)
    return render(request, "risk/compliance.html", {"form": form, "start": start, "end": end, "cash": cash,
                                                    "cash_total": cash_total(cash), "cases": cases})


@login_required
@permission_required(perm("decide_handoffs"), raise_exception=True)
def claims(request):
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        policy = policy_list(user=request.user).filter(policy_no=data.pop("policy_no")).first()
        if policy is None:
            form.add_error("policy_no", _("No such policy in your branches."))
        else:
            try:
                claim_record(policy=policy, source=Claim.Source.MANUAL, actor=request.user, **data)
            except ApplicationError as exc:
                service_errors_show(form, exc)
            else:
                messages.success(request, _("Claim recorded."))
                return redirect("risk:claims")
    page = Paginator(claim_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "risk/claims.html", {"form": form, "page": page, "page_query": page_query(request)})


