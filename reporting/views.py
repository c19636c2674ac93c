"""The managers' pages (issue 15): the dashboard (also the manager's home), the drill-down to the
policies behind a figure, the restated days and the metric dictionary. Thin: the figures come
from reporting.selectors and reporting.drilldown, within the reader's branches."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
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
from policies.selectors import user_is_head_office
from reporting.dashboard import dashboard_figures, dashboard_sheets
from reporting.drilldown import DRILLS, drill_rows
from reporting.exports import workbook_bytes
from reporting.metrics import METRIC_BY_CODE, METRICS
from reporting.models import ReportSubscription
from reporting.selectors import (
    FILTER_FIELDS,
    data_as_of,
    persistency_curves,
    restatement_list,
)
from reporting.services.alerts import alert_paragraphs
from reporting.services.subscriptions import subscription_cancel, subscription_create

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
    return {**figures, "alerts": alert_paragraphs(user=request.user),
            "quick_periods": _quick_periods(data_as_of() or business_today())}


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
