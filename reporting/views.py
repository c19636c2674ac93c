"""The managers' pages (issue 15): the dashboard (also the manager's home), the drill-down to the
policies behind a figure, the restated days and the metric dictionary. Thin: the figures come
from reporting.selectors and reporting.drilldown, within the reader's branches."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.roles import perm
from billing.models import DebitLine
from core.dates import add_months, business_today, parse_date
from core.errors import ApplicationError
from core.exports import csv_bytes, download
from core.pagination import page_query
from policies.models import Policy
from policies.selectors import user_is_head_office
from reporting.dashboard import dashboard_figures, dashboard_sheets
from reporting.drilldown import DRILLS, drill_rows
from reporting.exports import workbook_bytes
from reporting.forms import TargetForm
from reporting.links import drill_url
from reporting.metrics import METRIC_BY_CODE, METRICS
from reporting.models import ReportSubscription
from reporting.selectors import (
    FILTER_FIELDS,
    data_as_of,
    persistency_curves,
    restatement_list,
)
from reporting.selectors_roles import (
    dashboard_allowed,
    feedback_by_category,
    reconciliation_differences,
    risk_deciles,
    risk_figures,
    suspense_ageing,
    workbench_outcomes,
)
from reporting.selectors_targets import target_list
from reporting.services.alerts import alert_paragraphs
from reporting.services.subscriptions import subscription_cancel, subscription_create
from reporting.services.targets import kpi_target_set, may_set_targets

PAGE_SIZE = 50


def _period(request) -> tuple[dt.date, dt.date]:
    """The period asked for, else the month of the latest snapshot up to its date."""
    as_of = data_as_of() or business_today()
    try:
        date_from = parse_date(request.GET.get("from", ""))
        date_to = parse_date(request.GET.get("to", ""))
    except ValueError:
        return as_of.replace(day=1), as_of
    if date_to < date_from:
        date_from, date_to = date_to, date_from
    return date_from, date_to


def _filters(request) -> dict:
    return {name: request.GET.get(name, "")[:64] for name in (*FILTER_FIELDS, "team") if request.GET.get(name)}


def _quick_periods(as_of: dt.date) -> list[dict]:
    month = as_of.replace(day=1)
    previous = add_months(month, -1)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    return [
        {"label": _("This month"), "from": month, "to": as_of},
        {"label": _("Last month"), "from": previous, "to": month - dt.timedelta(days=1)},
        {"label": _("This quarter"), "from": quarter, "to": as_of},
        {"label": _("This year"), "from": month.replace(month=1), "to": as_of},
    ]


def dashboard_context(request) -> dict:
    date_from, date_to = _period(request)
    figures = dashboard_figures(user=request.user, date_from=date_from, date_to=date_to, filters=_filters(request))
    outcomes = workbench_outcomes(user=request.user, date_from=date_from, date_to=date_to)
    feedback = feedback_by_category(user=request.user, date_from=date_from, date_to=date_to)
    deciles = risk_deciles(user=request.user, date_from=date_from, date_to=date_to)
    figures["chart_data"].update({
        "outcomes": {"names": [r["label"] for r in outcomes["outcomes"]],
                     "values": [r["attempts"] for r in outcomes["outcomes"]]},
        "reasons": [{"name": r["label"], "value": r["attempts"]} for r in outcomes["reasons"]],
        "feedback": {"names": [r["label"] for r in feedback], "values": [r["total"] for r in feedback]},
        "deciles": {"names": [str(r["decile"]) for r in deciles],
                    "rates": [None if r["rate"] is None else float(r["rate"] * 100) for r in deciles]},
    })
    return {**figures, "alerts": alert_paragraphs(user=request.user), "outcomes": outcomes, "feedback": feedback,
            "deciles": deciles, "quick_periods": _quick_periods(data_as_of() or business_today())}


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def dashboard(request):
    context = dashboard_context(request)
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        sheets = dashboard_sheets(context)
        name = f"kpis-{context['date_from'].isoformat()}-{context['date_to'].isoformat()}"
        if export == "csv":  # CSV holds one table: the branches'
            _title, columns, rows = sheets[1]
            return download(csv_bytes(headers=[h for h, _k in columns], rows=rows), filename=f"{name}-branch.csv")
        return download(workbook_bytes(sheets=sheets), filename=f"{name}.xlsx")
    # the finance and risk dashboards, for the readers who may open them (a manager: both)
    context["role_dashboards"] = [(url, label) for dashboard_code, url, label in (
        ("finance", "reporting:finance", _("Finance dashboard")), ("risk", "reporting:risk", _("Risk dashboard")))
        if dashboard_allowed(user=request.user, dashboard=dashboard_code)]
    return render(request, "reporting/dashboard.html", context)


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def drill(request):
    """The policies behind a figure, with the dashboard's filters, masked, a page at a time."""
    metric = request.GET.get("metric", "collection_rate")
    if metric not in DRILLS:
        raise Http404("no drill-down for this figure")
    date_from, date_to = _period(request)
    filters = _filters(request)
    spec = DRILLS[metric]
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        _count, rows = drill_rows(metric=metric, date_from=date_from, date_to=date_to, user=request.user,
                                  filters=filters)
        table = [[_display(c[0], r[c[0]]) for c in spec.columns] for r in rows]
        name = f"{metric}-{date_from.isoformat()}-{date_to.isoformat()}.{export}"
        if export == "csv":
            return download(csv_bytes(headers=[str(c[1]) for c in spec.columns], rows=table), filename=name)
        return download(workbook_bytes(sheets=[(str(spec.title), [(str(c[1]), c[2]) for c in spec.columns], table)]),
                        filename=name)
    number = _page_number(request)
    count, rows = drill_rows(metric=metric, date_from=date_from, date_to=date_to, user=request.user,
                             filters=filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    paginator: Paginator = Paginator(range(count), PAGE_SIZE)
    if number > paginator.num_pages:  # past the end: the last page, as Paginator.get_page does
        number = paginator.num_pages
        count, rows = drill_rows(metric=metric, date_from=date_from, date_to=date_to, user=request.user,
                                 filters=filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    page: Page = Page(rows, number, paginator)
    table = [[_display(c[0], r[c[0]]) for c in spec.columns] + [r["policy_no"]] for r in rows]
    return render(request, "reporting/drill.html", {
        "spec": spec, "metric": METRIC_BY_CODE.get(metric), "page": page, "rows": table, "count": count,
        "columns": spec.columns, "date_from": date_from, "date_to": date_to, "filters": filters,
        "page_query": page_query(request), "data_as_of": data_as_of(),
    })


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _display(key: str, value):
    if key == "status" and value:
        return DebitLine.Status(value).label
    if key == "reason":
        return DebitLine.Reason(value).label if value in DebitLine.Reason.values else ""
    return value


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def restatements(request):
    """The past days whose figures changed after they were reported, and why. The figures before
    and after are the whole company's: shown to the head office only."""
    page = Paginator(restatement_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reporting/restatements.html", {
        "page": page, "page_query": page_query(request), "head_office": user_is_head_office(user=request.user),
        "data_as_of": data_as_of()})


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def metrics(request):
    return render(request, "reporting/metrics.html", {"metrics": METRICS})


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def persistency(request):
    return render(request, "reporting/persistency.html", {
        "curves": persistency_curves(user=request.user, filters=_filters(request)), "data_as_of": data_as_of()})


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def subscriptions(request):
    """The reader's e-mailed reports: subscribe to the dashboard view (its filters), or stop one."""
    if request.method == "POST":
        try:
            if request.POST.get("cancel"):
                subscription = get_object_or_404(ReportSubscription, pk=_int(request.POST["cancel"]),
                                                  user=request.user, active=True)
                subscription_cancel(subscription=subscription, user=request.user)
                messages.success(request, _("The report will not be sent any more."))
            else:
                filters = {name: request.POST.get(name, "") for name in (*FILTER_FIELDS, "team")}
                subscription_create(user=request.user, frequency=request.POST.get("frequency", ""), filters=filters)
                messages.success(request, _("Subscribed: the report will be e-mailed to you."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("reporting:subscriptions")
    return render(request, "reporting/subscriptions.html", {
        "subscriptions": ReportSubscription.objects.filter(user=request.user, active=True).order_by("created_at"),
        "frequencies": ReportSubscription.Frequency.choices})


def _int(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("no such subscription") from None


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def targets(request):
    """The branch targets within the reader's branches; managers set or change one here."""
    allowed = may_set_targets(request.user)
    form = TargetForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not allowed:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                kpi_target_set(actor=request.user, metric=data["metric"], branch=data["branch"],
                               period=data["period"], start=data["start"], percent=data["target"])
            except ApplicationError as exc:
                for name, reasons in exc.errors.items():
                    for reason in reasons:
                        form.add_error(name if name in form.fields else None, reason)
                if not exc.errors:
                    form.add_error(None, exc.message)
            else:
                messages.success(request, _("The target is set."))
                return redirect("reporting:targets")
    page = Paginator(target_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reporting/targets.html", {
        "form": form, "may_set": allowed, "page": page, "page_query": page_query(request),
        "status": 400 if form.errors else 200}, status=400 if form.errors else 200)


def _role_dashboard(request, dashboard: str) -> tuple[dt.date, dt.date]:
    if not dashboard_allowed(user=request.user, dashboard=dashboard):
        raise PermissionDenied
    return _period(request)


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def finance_dashboard(request):
    """Finance's figures: collection (from the snapshots), suspense by age; the last days'
    reconciliation differences come after the page (finance_reconciliation)."""
    date_from, date_to = _role_dashboard(request, "finance")
    from reporting.selectors import daily_trend, debit_breakdown, kpi_table

    whole = kpi_table(date_from=date_from, date_to=date_to, user=request.user)[0]
    methods = kpi_table(date_from=date_from, date_to=date_to, by="payment_method", user=request.user)
    labels = dict(Policy.PaymentMethod.choices)
    for row in methods:
        row["label"] = labels.get(row["slice"]["payment_method"], row["slice"]["payment_method"])
        row["url"] = drill_url("collection_rate", date_from, date_to, payment_method=row["slice"]["payment_method"])
    ageing = suspense_ageing(user=request.user, as_of=date_to)
    trend = daily_trend(date_from=date_from, date_to=date_to, user=request.user)
    chart = {
        "trend": {"days": [r["day"].isoformat() for r in trend],
                  "due": [float(r["due"]) for r in trend], "received": [float(r["received"]) for r in trend],
                  "labels": [str(_("Premium due")), str(_("Received in time"))]},
        "ageing": {"names": [str(a["label"]) for a in ageing], "amounts": [float(a["amount"]) for a in ageing]},
    }
    return render(request, "reporting/finance.html", {
        "date_from": date_from, "date_to": date_to, "data_as_of": data_as_of(), "whole": whole, "methods": methods,
        "debits": [{**d, "reason_label": DebitLine.Reason(d["reason"]).label if d["reason"] in DebitLine.Reason.values
                     else ""} for d in debit_breakdown(date_from=date_from, date_to=date_to, user=request.user)],
        "ageing": ageing, "chart_data": chart, "filters": {},
        "suspense_lines": sum(a["lines"] for a in ageing), "suspense_amount": sum(a["amount"] for a in ageing),
        "head_office": user_is_head_office(user=request.user),
        "drill_url": drill_url("collection_rate", date_from, date_to),
        "quick_periods": _quick_periods(data_as_of() or business_today())})


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def finance_reconciliation(request):
    """The finance dashboard's reconciliation of the period's last days, loaded into the page after
    it (htmx): it sums every money line of those days, 100,000 on a statement's day."""
    _date_from, date_to = _role_dashboard(request, "finance")
    return render(request, "reporting/_finance_reconciliation.html", {
        "recon": reconciliation_differences(user=request.user, date_to=date_to)})


@login_required
@permission_required(perm("view_reports"), raise_exception=True)
def risk_dashboard(request):
    """Risk's figures: open flags by rule and severity, their age, the period's outcomes."""
    date_from, date_to = _role_dashboard(request, "risk")
    figures = risk_figures(user=request.user, date_from=date_from, date_to=date_to)
    severities = [code for code, _label in figures["severities"]]
    chart = {
        "rules": {"names": [r["rule__name"] for r in figures["by_rule"]],
                  "series": [{"name": str(label), "data": [r[code] for r in figures["by_rule"]]}
                             for code, label in figures["severities"]]},
        "ageing": {"names": [str(a["label"]) for a in figures["ageing"]], "values": [a["flags"] for a in figures["ageing"]]},
        "outcomes": {"names": [r["rule__name"] for r in figures["outcomes"]],
                     "series": [{"name": str(label), "data": [r[code] for r in figures["outcomes"]]}
                                for code, label in figures["decided"]]},
    }
    return render(request, "reporting/risk.html", {
        **figures, "severity_codes": severities, "date_from": date_from, "date_to": date_to, "chart_data": chart,
        "filters": {}, "head_office": user_is_head_office(user=request.user),
        "quick_periods": _quick_periods(data_as_of() or business_today())})
