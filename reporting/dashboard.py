"""The dashboard's figures (issue 15), composed from the selectors for a user, a period and
filters: the page, its Excel and the e-mailed reports show the same numbers."""

import calendar
import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from billing.models import DebitLine
from core.dates import add_months
from policies.models import Policy
from policies.selectors import branches_for, user_is_head_office
from reporting.links import drill_url
from reporting.metrics import METRIC_BY_CODE, METRICS
from reporting.selectors import (
    KPIS,
    daily_trend,
    data_as_of,
    debit_breakdown,
    kpi_table,
    persistency_curves,
    rate,
)
from reporting.selectors_targets import target_rows
from reporting.services.closing import month_closed_figures

SLICE_TABLES = ("branch", "product", "payment_method", "sales_channel")


def period_before(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period before: the same number of whole months, else the same number of days."""
    last_day = calendar.monthrange(date_to.year, date_to.month)[1]
    if date_from.day == 1 and date_to.day == last_day:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        start = add_months(date_from, -months)
        return start, date_from - dt.timedelta(days=1)
    length = (date_to - date_from).days + 1
    return date_from - dt.timedelta(days=length), date_from - dt.timedelta(days=1)


def _labelled(rows: list[dict], by: str) -> list[dict]:
    labels = {"payment_method": dict(Policy.PaymentMethod.choices), "sales_channel": dict(Policy.SalesChannel.choices)}
    for row in rows:
        value = row["slice"].get(by, "")
        label = row["_labels"].get(by) or ""
        row["label"] = labels.get(by, {}).get(value, label) or _("(none)")
        row["value"] = value
    return rows


def dashboard_figures(*, user, date_from: dt.date, date_to: dt.date, filters: dict) -> dict:
    """Every figure of the dashboard for a period and filters, within the user's branches."""
    previous_from, previous_to = period_before(date_from, date_to)
    current = kpi_table(date_from=date_from, date_to=date_to, user=user, filters=filters)[0]
    previous = kpi_table(date_from=previous_from, date_to=previous_to, user=user, filters=filters)[0]
    year_ago = kpi_table(date_from=add_months(date_from, -12), date_to=add_months(date_to, -12), user=user,
                         filters=filters)[0]
    closed = month_closed_figures(date_from=date_from, date_to=date_to) if not filters else None
    reported = _reported(closed, user) if closed else {}
    cards = []
    for metric in METRICS:
        figure, before, last_year = current[metric.code], previous[metric.code], year_ago[metric.code]
        cards.append({
            "reported": reported.get(metric.code),
            "metric": metric, "figure": figure, "previous": before["rate"], "year_ago": last_year["rate"],
            "change": (figure["rate"] - before["rate"]) * 100 if figure["rate"] is not None
            and before["rate"] is not None else None,
            "url": drill_url(metric.code, date_from, date_to, **filters) if metric.drill else "",
        })
    slices = {by: _labelled(kpi_table(date_from=date_from, date_to=date_to, by=by, user=user, filters=filters), by)
              for by in SLICE_TABLES}
    for by, rows in slices.items():
        for row in rows:
            row["url"] = drill_url("collection_rate", date_from, date_to, **{**filters, by: row["value"]})
    debits = debit_breakdown(date_from=date_from, date_to=date_to, user=user, filters=filters)
    reasons = dict(DebitLine.Reason.choices)
    for row in debits:
        row["reason_label"] = reasons.get(row["reason"], "") or _("paid or awaiting the bank")
        row["url"] = drill_url("payment_success_rate", date_from, date_to,
                                **{**filters, "bank": row["bank_name"], "reason": row["reason"]})
    figures = current["_figures"]
    funnel = [
        {"stage": _("Policies due"), "value": figures["policies_due"]},
        {"stage": _("Needed contact (provisional)"), "value": figures["contacts_needed"]},
        {"stage": _("Reached (provisional)"), "value": figures["contacts_reached"]},
        {"stage": _("Paid in time"), "value": figures["installments_paid"]},
    ]
    trend = daily_trend(date_from=date_from, date_to=date_to, user=user, filters=filters)
    trend_before = daily_trend(date_from=previous_from, date_to=previous_to, user=user, filters=filters)
    curves = persistency_curves(user=user, filters=filters)
    chart_data = {
        "trend": {"days": [r["day"].isoformat() for r in trend],
                  "current": [_pct(r["rate"]) for r in trend],
                  "previous": [_pct(r["rate"]) for r in trend_before][:len(trend)],
                  "labels": [str(_("This period")), str(_("Previous period"))]},
        "branches": {"names": [r["label"] for r in slices["branch"]],
                     "rates": [_pct(r["collection_rate"]["rate"]) for r in slices["branch"]],
                     "urls": [r["url"] for r in slices["branch"]]},
        "funnel": [{"name": str(s["stage"]), "value": s["value"]} for s in funnel],
        "debits": {"names": [f"{r['bank_name']} · {r['reason_label']}" for r in debits],
                   "paid": [r["paid"] for r in debits], "failed": [r["failed"] for r in debits],
                   "urls": [r["url"] for r in debits],
                   "labels": [str(_("Paid")), str(_("Failed"))]},
        "persistency": _curves_chart(curves),
    }
    return {
        "date_from": date_from, "date_to": date_to, "previous_from": previous_from, "previous_to": previous_to,
        "data_as_of": data_as_of(), "cards": cards, "slices": slices, "debits": debits, "funnel": funnel,
        "curves": curves, "chart_data": chart_data, "filters": filters, "query": urlencode(
            {"from": date_from.isoformat(), "to": date_to.isoformat(), **filters}),
        "head_office": user_is_head_office(user=user), "closed": closed,
        "targets": target_rows(user=user, date_from=date_from, date_to=date_to, branch_rows=slices["branch"]),
    }


def _reported(closed, user) -> dict:
    """A closed month's figures as reported, within the user's branches (sums of its branch rows)."""
    if user_is_head_office(user=user):
        return {code: closed.figures["all"][code]["rate"] for code in KPIS}
    codes = set(branches_for(user=user).values_list("code", flat=True))
    rows = [row for row in closed.figures["branch"] if row["slice"].get("branch") in codes]
    out = {}
    for code in KPIS:
        numerator = sum(Decimal(r[code]["numerator"]) for r in rows)
        denominator = sum(Decimal(r[code]["denominator"]) for r in rows)
        value = rate(numerator, denominator)
        out[code] = None if value is None else str(value)
    return out


def _pct(value):
    return None if value is None else float(value * 100)


def _curves_chart(curves: list[dict]) -> dict:
    years = sorted({c["year"] for c in curves})
    months = [13, 25, 37, 49, 61]
    series = []
    for year in years:
        by_month = {c["month_n"]: c for c in curves if c["year"] == year}
        series.append({"name": str(year), "data": [_pct(by_month[m]["count_rate"]) if m in by_month else None
                                                  for m in months]})
    return {"months": [str(m) for m in months], "series": series}


def _kpi_columns() -> list[tuple[str, str]]:
    columns = []
    for code in KPIS:
        name = str(METRIC_BY_CODE[code].name)
        money = code in ("collection_rate", "persistency_13", "persistency_25")
        numerator, denominator = _("numerator"), _("denominator")
        columns += [(f"{name} · {numerator}", "money" if money else "int"),
                    (f"{name} · {denominator}", "money" if money else "int"), (name, "rate")]
    return columns


def _kpi_cells(row: dict) -> list:
    cells = []
    for code in KPIS:
        figure = row[code]
        money = code in ("collection_rate", "persistency_13", "persistency_25")
        convert = Decimal if money else int
        cells += [convert(figure["numerator"]), convert(figure["denominator"]), figure["rate"]]
    return cells


def dashboard_sheets(context: dict) -> list:
    """The dashboard's tables for Excel: the summary, then a sheet per slice."""
    columns = _kpi_columns()
    as_of = context["data_as_of"]
    sheets = [(str(_("Summary")), [(str(_("Data as of")), "date"), *columns],
               [[as_of, *_kpi_cells({c["metric"].code: c["figure"] for c in context["cards"]})]])]
    titles = {"branch": _("Branch"), "product": _("Product"), "payment_method": _("Payment method"),
              "sales_channel": _("Sales channel")}
    for by, rows in context["slices"].items():
        sheets.append((str(titles[by]), [(str(titles[by]), "text"), *columns],
                       [[row["label"], *_kpi_cells(row)] for row in rows]))
    return sheets


