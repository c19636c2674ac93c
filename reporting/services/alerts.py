"""Drops that explain themselves (issue 15; DESIGN.md section 3, KPIs): after the night's
snapshot, a rate that fell by more than the threshold (default 5 points) month over month, or
week over week, raises a core alert whose details name the slices contributing most to the fall
(which bank's debits failed and why, which branch, which product). The paragraph is written when
it is read, in the reader's language (alert_paragraphs).

A slice's contribution, in points of the whole: (its rate before - its rate now) x its share of
the denominator now. The compared periods: the latest whole month and the one before for the
payment success rate; for the collection rate the latest month whose every grace period has
ended (younger months are still collecting); the last 7 days and the 7 before for debits."""

import calendar
import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Max
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.alerts import alert_acknowledge, alert_raise, alerts_open
from core.dates import add_months
from core.models import Alert
from policies.models import Product
from reporting.links import drill_url
from reporting.selectors import debit_sums, kpi_table, rate

ALERT_KIND = "reporting.kpi_drop"
BANK_KEYS = ["bank_name", "reason"]


def drop_threshold_points() -> Decimal:
    return Decimal(str(getattr(settings, "REPORTING_ALERT_DROP_POINTS", 5)))


def _month(first: dt.date) -> tuple[dt.date, dt.date]:
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def comparisons(as_of: dt.date) -> list[tuple[str, str, tuple, tuple]]:
    """(metric, comparison, current period, previous period) checked on the night of as_of."""
    this_month = as_of.replace(day=1)
    last_month = add_months(this_month, -1)
    grace = Product.objects.aggregate(longest=Max("grace_days"))["longest"] or 60
    matured = (as_of - dt.timedelta(days=grace + 1)).replace(day=1)
    matured = add_months(matured, -1)  # its last due day's grace has ended
    week_end = as_of - dt.timedelta(days=1)
    return [
        ("collection_rate", "month", _month(matured), _month(add_months(matured, -1))),
        ("payment_success_rate", "month", _month(last_month), _month(add_months(last_month, -1))),
        ("payment_success_rate", "week", (week_end - dt.timedelta(days=6), week_end),
         (week_end - dt.timedelta(days=13), week_end - dt.timedelta(days=7))),
    ]


def _sliced(metric: str, period: tuple, by: str) -> dict[str, dict]:
    rows = kpi_table(date_from=period[0], date_to=period[1], by=by)
    return {row["slice"][by]: {"label": row["_labels"][by], **row[metric]} for row in rows}


def _contributors(metric: str, current: tuple, previous: tuple, overall_before: Decimal) -> list[dict]:
    total = Decimal(kpi_table(date_from=current[0], date_to=current[1])[0][metric]["denominator"])
    # the bank first: of equal contributions, the cause (a bank's failures) before where it shows
    found = _bank_contributors(current, previous, total, overall_before) if metric == "payment_success_rate" else []
    for by in ("branch", "product"):
        now, before = _sliced(metric, current, by), _sliced(metric, previous, by)
        for value, figure in now.items():
            if figure["rate"] is None or not total:
                continue
            prior = (before.get(value) or {}).get("rate") or overall_before
            points = (prior - figure["rate"]) * Decimal(figure["denominator"]) / total * 100
            found.append({"dimension": by, "value": value, "label": figure["label"], "points": points})
    found = [f for f in found if f["points"] > 0]
    # by the points as shown (a tenth): figures rounded to 4 places must not reorder a tie
    found.sort(key=lambda f: -f["points"].quantize(Decimal("0.1")))
    # the largest of each dimension first, then the rest: a paragraph names a bank, a branch, a product
    seen, ordered = set(), []
    for item in found:
        if item["dimension"] not in seen:
            seen.add(item["dimension"])
            ordered.append(item)
    ordered += [f for f in found if f not in ordered]
    return [{**f, "points": str(f["points"].quantize(Decimal("0.1")))} for f in ordered[:4]]


def _bank_contributors(current: tuple, previous: tuple, total: Decimal, overall_before: Decimal) -> list[dict]:
    def by_bank(period):
        banks: dict[str, dict] = {}
        for (bank, reason), sums in debit_sums(date_from=period[0], date_to=period[1], user=None,
                                               keys=BANK_KEYS).items():
            b = banks.setdefault(bank, {"paid": 0, "failed": 0, "reasons": {}})
            b["paid"] += sums["lines_paid"]
            b["failed"] += sums["lines_failed"]
            if reason:
                b["reasons"][reason] = b["reasons"].get(reason, 0) + sums["lines_failed"]
        return banks

    now, before = by_bank(current), by_bank(previous)
    found = []
    for bank, b in now.items():
        answered = b["paid"] + b["failed"]
        if not answered or not total:
            continue
        prior_bank = before.get(bank)
        prior = rate(prior_bank["paid"], prior_bank["paid"] + prior_bank["failed"]) if prior_bank else None
        prior = overall_before if prior is None else prior
        now_rate = rate(b["paid"], answered) or Decimal(0)  # answered > 0: never None
        points = (prior - now_rate) * Decimal(answered) / total * 100
        reason = max(b["reasons"], key=b["reasons"].get) if b["reasons"] else ""
        found.append({"dimension": "bank", "value": bank, "label": bank, "points": points, "failed": b["failed"],
                      "reason": reason})
    return found


SCOPE_ALL = "all"  # the whole company; a branch's own alerts would carry its code


def _rule_prefix(metric: str, comparison: str) -> str:
    return f"{metric}:{comparison}:"


def _alert_close(alert: Alert, *, as_of: dt.date, why: str) -> None:
    """The drop is over (or a newer period took its place): the alert leaves the pages, its
    details keep the night it ended."""
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
        details={**alert.details, "ended_on": as_of.isoformat(), "ended_because": why})
    alert_acknowledge(alert=alert, user=None)


def kpi_alerts(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step after kpi_snapshot (unchunked): returns the alerts raised or updated.

    One alert per rule (metric and comparison), scope and period: a month comparison's period is
    its month; a week comparison's window slides every night, so its period is the drop itself,
    from the first night it shows. While the drop lasts the night updates that alert (its
    figures, its contributors, one more occurrence); the first night without the drop closes it,
    as does a newer month. A rerun of the night counts the same alert again, never a second one."""
    threshold = drop_threshold_points()
    raised = 0
    for metric, comparison, current, previous in comparisons(as_of):
        prefix = _rule_prefix(metric, comparison)
        open_alerts = list(alerts_open(kinds=[ALERT_KIND]).filter(key__startswith=prefix).order_by("created_at"))
        now = kpi_table(date_from=current[0], date_to=current[1])[0][metric]
        before = kpi_table(date_from=previous[0], date_to=previous[1])[0][metric]
        points = None
        if now["rate"] is not None and before["rate"] is not None:
            points = (before["rate"] - now["rate"]) * 100
        if points is None or points <= threshold:
            for alert in open_alerts:
                _alert_close(alert, as_of=as_of, why="recovered")
            continue
        key = f"{prefix}{SCOPE_ALL}:{current[0].isoformat()}"
        ongoing = None
        if comparison == "week":  # the drop that is already open goes on
            ongoing = next((a for a in open_alerts if a.key.startswith(f"{prefix}{SCOPE_ALL}:")), None)
        else:
            ongoing = next((a for a in open_alerts if a.key == key), None)
        if ongoing is not None:
            key = ongoing.key
        for alert in open_alerts:  # an older month's, or one of a key from before this rule
            if alert is not ongoing:
                _alert_close(alert, as_of=as_of, why="superseded")
        details = {
            "metric": metric, "comparison": comparison, "scope": SCOPE_ALL, "as_of": as_of.isoformat(),
            "since": ongoing.details.get("since", as_of.isoformat()) if ongoing else as_of.isoformat(),
            "points": str(points),
            "current": {"from": current[0].isoformat(), "to": current[1].isoformat(), "rate": str(now["rate"])},
            "previous": {"from": previous[0].isoformat(), "to": previous[1].isoformat(), "rate": str(before["rate"])},
            "contributors": _contributors(metric, current, previous, before["rate"]),
        }
        alert_raise(kind=ALERT_KIND, key=key, severity=Alert.Severity.WARNING, details=details,
                    title=f"{metric} fell {points:.2f} points ({current[0].isoformat()}..{current[1].isoformat()})")
        raised += 1
    return raised


def _pct(text: str) -> str:
    return f"{Decimal(text) * 100:.1f}%"


def alert_paragraph(details: dict, *, branch_codes: set[str] | None = None) -> dict:
    """The alert as a paragraph in the active language, with the drill-down links of its slices.
    branch_codes: the reader's branches (None: all); other branches are left out."""
    from reporting.metrics import METRIC_BY_CODE

    metric = METRIC_BY_CODE[details["metric"]]
    current, previous = details["current"], details["previous"]
    day = dt.date.fromisoformat
    text = _("%(metric)s fell from %(before)s (%(before_from)s to %(before_to)s) to %(now)s (%(from)s to %(to)s), "
             "down %(points)s points.") % {
        "metric": metric.name, "before": _pct(previous["rate"]), "now": _pct(current["rate"]),
        "before_from": date_format(day(previous["from"]), "Y-m-d"),
        "before_to": date_format(day(previous["to"]), "Y-m-d"),
        "from": date_format(day(current["from"]), "Y-m-d"), "to": date_format(day(current["to"]), "Y-m-d"),
        "points": f"{Decimal(details['points']):.1f}"}
    parts, links = [], []
    drill_metric = details["metric"]
    for c in details["contributors"]:
        if c["dimension"] == "branch" and branch_codes is not None and c["value"] not in branch_codes:
            continue
        if c["dimension"] == "bank":
            from billing.models import DebitLine

            reason = dict(DebitLine.Reason.choices).get(c.get("reason"), "")
            parts.append(_("debits at %(bank)s (%(points)s points: %(failed)s failed, mostly %(reason)s)") % {
                "bank": c["label"], "points": c["points"], "failed": c.get("failed", 0), "reason": reason})
            links.append({"label": c["label"], "url": drill_url(drill_metric, day(current["from"]),
                                                                  day(current["to"]), bank=c["value"])})
        else:
            what = _("branch %(name)s") if c["dimension"] == "branch" else _("product %(name)s")
            parts.append(_("%(what)s (%(points)s points)") % {"what": what % {"name": c["label"]},
                                                               "points": c["points"]})
            links.append({"label": c["label"], "url": drill_url(drill_metric, day(current["from"]),
                                                                  day(current["to"]), **{c["dimension"]: c["value"]})})
    if parts:
        text += " " + _("Most of the drop: %(parts)s.") % {"parts": "; ".join(parts)}
    since = details.get("since")
    if since and since != details.get("as_of"):
        text += " " + _("The drop has shown every night since %(since)s (latest: %(as_of)s).") % {
            "since": date_format(day(since), "Y-m-d"), "as_of": date_format(day(details["as_of"]), "Y-m-d")}
    return {"text": text, "links": links}


def alert_paragraphs(*, user) -> list[dict]:
    from policies.selectors import branches_for, user_is_head_office

    codes = None if user_is_head_office(user=user) else set(branches_for(user=user).values_list("code", flat=True))
    return [{"alert": alert, **alert_paragraph(alert.details, branch_codes=codes)}
            for alert in alerts_open(kinds=[ALERT_KIND])[:10]]

