"""KPI reads (DESIGN.md section 3, KPIs; issue 15): from the snapshot tables only, never the raw
installments, always within the reader's branches. A period's whole months are read from the
monthly rollup, its other days from the daily facts.

Each KPI is a numerator, a denominator and a rate (numerator / denominator, rounded half up to 4
places; None when the denominator is zero); amounts are Decimal with 2 places, counts int.
"""

import calendar
import copy
import datetime as dt
import functools
import hashlib
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from core.dates import add_months
from core.errors import ApplicationError
from policies.selectors import branch_scope_q
from reporting.models import (
    DailyFact,
    DebitFact,
    MonthlyFact,
    PersistencyFact,
    SliceDayFact,
    SliceDebitFact,
    SliceMonthFact,
    SlicePersistencyFact,
    SnapshotRun,
)

BY_CHOICES = ("branch", "product", "payment_method", "sales_channel", "agent", "team")
# the slicing field -> (value lookup, label lookup) on the fact tables
SLICE_LOOKUPS = {
    "branch": ("branch__code", "branch__name"),
    "product": ("product__code", "product__name"),
    "payment_method": ("payment_method", "payment_method"),
    "sales_channel": ("sales_channel", "sales_channel"),
    "agent": ("agent__code", "agent__name"),
}
FILTER_FIELDS = ("branch", "product", "payment_method", "sales_channel", "agent", "bank", "reason")
KPIS = ("collection_rate", "payment_success_rate", "lapse_rate", "reinstatement_rate", "contact_rate",
        "persistency_13", "persistency_13_count", "persistency_25", "persistency_25_count")
PROVISIONAL_KPIS = ("contact_rate",)
MONEY_KPIS = ("collection_rate", "persistency_13", "persistency_25")
DAILY_FIGURES = ("premium_due", "premium_received", "installments_due", "installments_paid", "policies_due",
                 "policies_lapsed", "policies_reinstated", "contacts_needed", "contacts_reached")
CENTS = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


# The figures change only when a snapshot runs: a reading is kept in the cache under the latest
# snapshot's mark, the reader's branch scope and its arguments, so the managers who open the
# dashboard after the night share one computation, and a snapshot (or a rebuild) starts afresh.
FIGURES_CACHE_SECONDS = 36 * 3600


def _facts_version() -> str:
    row = SnapshotRun.objects.aggregate(mark=Max("computed_at"), runs=Count("id"))
    return f"{row['mark'].timestamp() if row['mark'] else 0}:{row['runs']}"


def _scope_key(user) -> str:
    if user is None:
        return "company"
    key = getattr(user, "_kpi_scope_key", None)
    if key is None:
        scope = branch_scope_q(user)
        key = "all" if scope is None else "|".join(sorted(user.branches.values_list("path", flat=True))) or "none"
        user._kpi_scope_key = key
    return key


def cached_figures(fn):
    """Keep fn's result (keyword arguments only, one of them `user`) until the next snapshot."""
    @functools.wraps(fn)
    def wrapper(**kwargs):
        from django.core.cache import cache

        args = {k: v for k, v in sorted(kwargs.items()) if k != "user"}
        raw = f"{fn.__name__}:{_facts_version()}:{_scope_key(kwargs.get('user'))}:{args!r}"
        key = "kpi:" + hashlib.sha256(raw.encode()).hexdigest()
        value = cache.get(key)
        if value is None:
            value = fn(**kwargs)
            cache.set(key, value, FIGURES_CACHE_SECONDS)
        return copy.deepcopy(value)

    return wrapper


def rate(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def data_as_of() -> dt.date | None:
    """The night of the latest snapshot: every figure is as known on that date."""
    return SnapshotRun.objects.aggregate(latest=Max("as_of"))["latest"]


def _scope(qs: QuerySet, user) -> QuerySet:
    if user is None:  # a command: the whole company
        return qs
    scope = branch_scope_q(user)
    return qs if scope is None else qs.filter(scope)


def _filters_q(filters: dict | None) -> Q:
    q = Q()
    for name, value in (filters or {}).items():
        if not value:
            continue
        if name in SLICE_LOOKUPS:
            q &= Q(**{SLICE_LOOKUPS[name][0]: value})
        elif name == "team":
            q &= team_branches_q(int(value))
    return q


def team_branches_q(team_id: int, prefix: str = "branch__") -> Q:
    """Provisional team slice: the branches the team serves (renewals' work team, being built),
    else the branches of its members."""
    from accounts.models import Team

    paths: list[str] = []
    try:
        from renewals.models import WorkTeam

        paths = [p for p in WorkTeam.objects.filter(team_id=team_id).values_list("branches__path", flat=True) if p]
    except ImportError:  # the work teams are not there yet
        pass
    if not paths:
        paths = list(Team.objects.filter(pk=team_id).values_list("members__branches__path", flat=True))
    q = Q(pk__in=[])
    for path in {p for p in paths if p}:
        q |= Q(**{f"{prefix}path__startswith": path})
    return q


def period_split(date_from: dt.date, date_to: dt.date) -> tuple[list[dt.date], list[tuple[dt.date, dt.date]]]:
    """The whole months inside the period (their first days) and the spans of days left over."""
    months, spans = [], []
    day = date_from
    while day <= date_to:
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        if day.day == 1 and month_end <= date_to:
            months.append(day)
        else:
            spans.append((day, min(month_end, date_to)))
        day = month_end + dt.timedelta(days=1)
    return months, spans


def _grouped(querysets: list[QuerySet], keys: list[str], figures: tuple[str, ...]) -> dict[tuple, dict]:
    out: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(figures, 0))
    sums = {f"sum_{f}": Sum(f) for f in figures}
    for qs in querysets:
        # no slice: one aggregate (values() without fields would group by every row's id)
        rows = [qs.aggregate(**sums)] if not keys else qs.values(*keys).annotate(**sums).order_by()
        for row in rows:
            key = tuple(row[k] for k in keys)
            for f in figures:
                out[key][f] += row[f"sum_{f}"] or 0
    return out


def _compact(keys: list[str], filters: dict | None) -> bool:
    """The compact tables (no agent, no chunk) answer unless the agent is asked for."""
    return not any(k.startswith("agent") for k in keys) and not (filters or {}).get("agent")


def daily_sums(*, date_from, date_to, user, keys: list[str], filters: dict | None = None) -> dict[tuple, dict]:
    months, spans = period_split(date_from, date_to)
    q = _filters_q(filters)
    monthly, daily = (SliceMonthFact, SliceDayFact) if _compact(keys, filters) else (MonthlyFact, DailyFact)
    querysets = [_scope(monthly.objects.filter(q, month__in=months), user)] if months else []
    querysets += [_scope(daily.objects.filter(q, day__range=span), user) for span in spans]
    return _grouped(querysets, keys, DAILY_FIGURES)


def debit_sums(*, date_from, date_to, user, keys: list[str], filters: dict | None = None) -> dict[tuple, dict]:
    q = _filters_q(filters)
    if filters and filters.get("bank"):
        q &= Q(bank_name=filters["bank"])
    if filters and filters.get("reason"):
        q &= Q(reason=filters["reason"])
    model = SliceDebitFact if _compact(keys, filters) else DebitFact
    qs = _scope(model.objects.filter(q, day__range=(date_from, date_to)), user)
    return _grouped([qs], keys, ("lines_sent", "lines_paid", "lines_failed", "amount_sent", "amount_paid"))


def persistency_sums(*, date_from, date_to, month_n: int, user, keys: list[str],
                     filters: dict | None = None) -> dict[tuple, dict]:
    """Policies whose policy month N began in the period: the cohorts issued N - 1 months before."""
    first = add_months(date_from.replace(day=1), -(month_n - 1))
    last = add_months(date_to.replace(day=1), -(month_n - 1))
    model = SlicePersistencyFact if _compact(keys, filters) else PersistencyFact
    qs = _scope(model.objects.filter(_filters_q(filters), month_n=month_n, cohort__range=(first, last)), user)
    return _grouped([qs], keys, ("policies_due", "policies_persisting", "premium_due", "premium_received"))


def _figure(numerator, denominator, *, money: bool) -> dict:
    def text(value):
        return str(Decimal(value).quantize(CENTS)) if money else str(int(value))

    return {"numerator": text(numerator), "denominator": text(denominator), "rate": rate(numerator, denominator)}


def _teams() -> list[tuple[dict, dict]]:
    """For --by team: one (slice, filter) per team."""
    from accounts.models import Team

    return [({"team": team.name}, {"team": team.pk}) for team in Team.objects.order_by("name")]


KPI_EARLIEST, KPI_LATEST = dt.date(1950, 1, 1), dt.date(2199, 12, 31)


@cached_figures
def kpi_table(*, date_from: dt.date, date_to: dt.date, by: str | None = None, user=None,
              filters: dict | None = None) -> list[dict]:
    """One row per slice (the whole portfolio when `by` is None): every KPI of the period."""
    # the persistency cohorts and the lapse window reach back 5 years before `from`
    for name, day in (("from", date_from), ("to", date_to)):
        if not KPI_EARLIEST <= day <= KPI_LATEST:
            raise ApplicationError(_("dates from %(first)s to %(last)s") % {
                "first": KPI_EARLIEST.isoformat(), "last": KPI_LATEST.isoformat()},
                errors={name: [_("dates from %(first)s to %(last)s") % {
                    "first": KPI_EARLIEST.isoformat(), "last": KPI_LATEST.isoformat()}]})
    if by == "team":
        rows = []
        for slice_values, team_filter in _teams():
            row = kpi_table(date_from=date_from, date_to=date_to, user=user, filters={**(filters or {}), **team_filter})[0]
            rows.append({**row, "slice": slice_values, "_labels": slice_values})
        return rows
    keys = list(SLICE_LOOKUPS[by]) if by else []
    kw = {"user": user, "keys": keys, "filters": filters}
    daily = daily_sums(date_from=date_from, date_to=date_to, **kw)
    debits = debit_sums(date_from=date_from, date_to=date_to, **kw)
    lapse_window = daily_sums(date_from=add_months(date_to, -24) + dt.timedelta(days=1), date_to=date_to, **kw)
    persistency = {n: persistency_sums(date_from=date_from, date_to=date_to, month_n=n, **kw) for n in (13, 25)}
    slice_keys = set(daily) | set(debits) | {k for p in persistency.values() for k in p}
    if not by:
        slice_keys = {()}
    as_of = data_as_of()
    rows = []
    for key in sorted(slice_keys, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        d = daily.get(key) or dict.fromkeys(DAILY_FIGURES, 0)
        b = debits.get(key) or {"lines_paid": 0, "lines_failed": 0}
        lapsed_before = (lapse_window.get(key) or {}).get("policies_lapsed", 0)
        row = {
            "slice": {by: key[0] if key[0] is not None else ""} if by else {},
            "from": date_from.isoformat(), "to": date_to.isoformat(),
            "data_as_of": as_of.isoformat() if as_of else None,
            "collection_rate": _figure(d["premium_received"], d["premium_due"], money=True),
            "payment_success_rate": _figure(b["lines_paid"], b["lines_paid"] + b["lines_failed"], money=False),
            "lapse_rate": _figure(d["policies_lapsed"], d["policies_due"], money=False),
            "reinstatement_rate": _figure(d["policies_reinstated"], lapsed_before, money=False),
            "contact_rate": _figure(d["contacts_reached"], d["contacts_needed"], money=False),
        }
        for n in (13, 25):
            p = persistency[n].get(key) or {"policies_due": 0, "policies_persisting": 0, "premium_due": 0,
                                            "premium_received": 0}
            row[f"persistency_{n}"] = _figure(p["premium_received"], p["premium_due"], money=True)
            row[f"persistency_{n}_count"] = _figure(p["policies_persisting"], p["policies_due"], money=False)
        row["_labels"] = {by: key[1] if key[1] is not None else ""} if by else {}
        row["_figures"] = {**d, **b}
        rows.append(row)
    return rows


def kpi_json(rows: list[dict]) -> list[dict]:
    """The rows as the command and the API give them: decimal strings, rates as strings or null."""
    out = []
    for row in rows:
        item = {k: v for k, v in row.items() if not k.startswith("_")}
        for name in KPIS:
            figure = item[name]
            item[name] = {**figure, "rate": None if figure["rate"] is None else str(figure["rate"])}
        out.append(item)
    return out


@cached_figures
def persistency_curves(*, user, filters: dict | None = None) -> list[dict]:
    """Persistency by issue year and policy month (13 ... 61), by count and by premium, with how
    many of the policies were derived from the feed's paid-to date."""
    model = SlicePersistencyFact if _compact([], filters) else PersistencyFact
    qs = _scope(model.objects.filter(_filters_q(filters)), user)
    rows = qs.values("cohort__year", "month_n").annotate(
        due=Sum("policies_due"), persisting=Sum("policies_persisting"), premium_due=Sum("premium_due"),
        premium_received=Sum("premium_received"),
        derived=Sum("policies_due", filter=Q(derived=True))).order_by("cohort__year", "month_n")
    return [{"year": r["cohort__year"], "month_n": r["month_n"], "policies_due": r["due"],
             "policies_persisting": r["persisting"], "count_rate": rate(r["persisting"], r["due"]),
             "premium_due": r["premium_due"], "premium_received": r["premium_received"],
             "premium_rate": rate(r["premium_received"], r["premium_due"]), "derived": r["derived"] or 0}
            for r in rows]


@cached_figures
def daily_trend(*, date_from: dt.date, date_to: dt.date, user, filters: dict | None = None) -> list[dict]:
    """Collection rate by due day (for the trend chart)."""
    model = SliceDayFact if _compact([], filters) else DailyFact
    qs = _scope(model.objects.filter(_filters_q(filters), day__range=(date_from, date_to)), user)
    rows = qs.values("day").annotate(due=Sum("premium_due"), received=Sum("premium_received")).order_by("day")
    return [{"day": r["day"], "due": r["due"], "received": r["received"], "rate": rate(r["received"], r["due"])}
            for r in rows]


@cached_figures
def debit_breakdown(*, date_from: dt.date, date_to: dt.date, user, filters: dict | None = None) -> list[dict]:
    """Debit lines by bank and failure reason."""
    q = _filters_q(filters)
    model = SliceDebitFact if _compact([], filters) else DebitFact
    qs = _scope(model.objects.filter(q, day__range=(date_from, date_to)), user)
    rows = qs.values("bank_name", "reason").annotate(sent=Sum("lines_sent"), paid=Sum("lines_paid"),
                                                      failed=Sum("lines_failed")).order_by("bank_name", "reason")
    return list(rows)


def restatement_list(*, days: int = 400) -> list[dict]:
    """Restated days, latest night first: the chunks' rows summed by night and day."""
    from reporting.models import Restatement

    latest = Restatement.objects.aggregate(latest=Max("as_of"))["latest"]
    if latest is None:
        return []
    grouped: dict[tuple, dict] = {}
    for r in Restatement.objects.filter(as_of__gte=latest - dt.timedelta(days=days)).order_by("-as_of", "day"):
        item = grouped.setdefault((r.as_of, r.day), {"as_of": r.as_of, "day": r.day, "before": defaultdict(Decimal),
                                                      "after": defaultdict(Decimal), "causes": defaultdict(int)})
        for side in ("before", "after"):
            for name, value in getattr(r, side).items():
                item[side][name] += Decimal(value)
        for name, count in r.causes.items():
            item["causes"][name] += count
    rows = list(grouped.values())
    for row in rows:
        row["changes"] = [{"name": TOTAL_LABELS.get(name, name), "before": row["before"][name],
                           "after": row["after"][name]}
                          for name in sorted(set(row["before"]) | set(row["after"]))
                          if row["before"][name] != row["after"][name]]
        row["causes"] = dict(row["causes"])
        row["before"], row["after"] = dict(row["before"]), dict(row["after"])
    return rows


TOTAL_LABELS = {
    "premium_due": _("Premium due"), "premium_received": _("Received in time"),
    "installments_paid": _("Installments paid in time"), "policies_lapsed": _("Policies lapsed"),
    "policies_reinstated": _("Policies reinstated"), "debit_lines_paid": _("Debit lines paid"),
    "debit_lines_failed": _("Debit lines failed"),
}
