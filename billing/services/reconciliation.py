"""Daily reconciliation for finance: for the money valued on a day, per source and receiving
account, what came in against where it went (allocated to installments, credit held on
policies, awaiting a person, suspense, refunded), and the lines that are not fully allocated."""

import csv
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from openpyxl import Workbook
from openpyxl.styles import Font

from billing.reasons import reason_text

ZERO = Decimal("0.00")

# Each money line of the days asked for with where its amount went. The rule of the columns is
# written once here: the day's page lists these lines, the finance dashboard sums them by day.
# The assignments and allocations are summed per payment in one pass each (a LATERAL per line
# probed them 100,000 times on a statement's day: bench/RESULTS.md part 15).
LINES_ANY_SQL = """
WITH pay AS (
    SELECT id, source, account_no, value_date, amount, currency, payer_name, reference, status, reason_code,
           reason_params, status_reason
    FROM billing_payment
    WHERE {which} AND direction = 'credit' AND NOT reversal
), asg AS (
    SELECT a.payment_id,
           sum(a.amount) FILTER (WHERE a.status = 'confirmed') AS confirmed,
           sum(a.amount) FILTER (WHERE a.status IN ('proposed', 'pending_approval')) AS waiting,
           string_agg(DISTINCT p.policy_no, ' ') FILTER (WHERE a.status <> 'rejected' AND a.status <> 'reversed')
               AS policies
    FROM billing_assignment a JOIN pay ON pay.id = a.payment_id JOIN policies_policy p ON p.id = a.policy_id
    GROUP BY a.payment_id
), al AS (
    SELECT a.payment_id, sum(x.amount) AS allocated
    FROM billing_allocation x JOIN billing_assignment a ON a.id = x.assignment_id JOIN pay ON pay.id = a.payment_id
    WHERE x.reversed_at IS NULL
    GROUP BY a.payment_id
)
SELECT pay.id, pay.source, pay.account_no, pay.value_date, pay.amount, pay.currency, pay.payer_name,
       pay.reference, pay.status,
       COALESCE(al.allocated, 0) AS allocated,
       COALESCE(asg.confirmed, 0) - COALESCE(al.allocated, 0) AS credit,
       COALESCE(asg.waiting, 0) AS waiting,
       -- a refund pays back what is not assigned (all of it, or an over-payment's excess)
       CASE WHEN pay.status = 'refunded' THEN pay.amount - COALESCE(asg.confirmed, 0) ELSE 0 END AS refunded,
       CASE WHEN pay.status = 'refunded' THEN 0
            ELSE pay.amount - COALESCE(asg.confirmed, 0) - COALESCE(asg.waiting, 0) END AS suspense,
       COALESCE(asg.policies, '') AS policies, pay.reason_code, pay.reason_params, pay.status_reason
FROM pay
LEFT JOIN asg ON asg.payment_id = pay.id
LEFT JOIN al ON al.payment_id = pay.id
"""
PAY_ON_DAYS = "value_date BETWEEN %(first)s AND %(last)s"
LINES_SQL = LINES_ANY_SQL.replace("{which}", PAY_ON_DAYS)  # the money lines valued in [first, last]
LINES_BY_ID_SQL = LINES_ANY_SQL.replace("{which}", "id = ANY(%(ids)s)")  # these money lines

# The days' totals without a row per line: each column of LINES_SQL is a sum over the line's
# assignments and allocations, so its day total is the same sum over the day's assignments and
# allocations, split by whether the line was refunded (billing/tests/services/test_reconciliation.py
# checks both against each other). Grouping the lines first cost 1.3 s for a statement's day.
# The same by (%(key)s, refunded): the key is the value date (the dashboard's days) or the source,
# receiving account and currency (the day's page).
TOTALS_SQL = """
WITH pay AS (
    SELECT id, {key}, amount, status = 'refunded' AS refunded
    FROM billing_payment
    WHERE value_date BETWEEN %(first)s AND %(last)s AND direction = 'credit' AND NOT reversal
), received AS (
    SELECT {key}, refunded, count(*) AS lines, sum(amount) AS amount FROM pay GROUP BY {key}, refunded
), assigned AS (
    SELECT {pay_key}, pay.refunded,
           COALESCE(sum(a.amount) FILTER (WHERE a.status = 'confirmed'), 0) AS confirmed,
           COALESCE(sum(a.amount) FILTER (WHERE a.status IN ('proposed', 'pending_approval')), 0) AS waiting
    FROM billing_assignment a JOIN pay ON pay.id = a.payment_id
    GROUP BY {pay_key}, pay.refunded
), allocated AS (
    SELECT {pay_key}, pay.refunded, sum(x.amount) AS allocated
    FROM billing_allocation x JOIN billing_assignment a ON a.id = x.assignment_id JOIN pay ON pay.id = a.payment_id
    WHERE x.reversed_at IS NULL
    GROUP BY {pay_key}, pay.refunded
)
SELECT {r_key}, r.refunded, r.lines, r.amount, COALESCE(al.allocated, 0), COALESCE(s.confirmed, 0),
       COALESCE(s.waiting, 0)
FROM received r
LEFT JOIN assigned s ON {s_on} AND s.refunded = r.refunded
LEFT JOIN allocated al ON {al_on} AND al.refunded = r.refunded
"""


def _totals_sql(*key: str) -> str:
    return TOTALS_SQL.format(
        key=", ".join(key), pay_key=", ".join(f"pay.{k}" for k in key), r_key=", ".join(f"r.{k}" for k in key),
        s_on=" AND ".join(f"s.{k} = r.{k}" for k in key), al_on=" AND ".join(f"al.{k} = r.{k}" for k in key))


DAY_TOTALS_SQL = _totals_sql("value_date")
GROUP_TOTALS_SQL = _totals_sql("source", "account_no", "currency")

# The lines not fully allocated, in the page's order: only what tells them apart is summed (the
# allocations per line), and the page's lines are then read whole (LINES_BY_ID_SQL).
OPEN_IDS_SQL = """
WITH pay AS (
    SELECT id, source, account_no, amount FROM billing_payment
    WHERE value_date BETWEEN %(first)s AND %(last)s AND direction = 'credit' AND NOT reversal
), al AS (
    SELECT a.payment_id, sum(x.amount) AS allocated
    FROM billing_allocation x JOIN billing_assignment a ON a.id = x.assignment_id JOIN pay ON pay.id = a.payment_id
    WHERE x.reversed_at IS NULL
    GROUP BY a.payment_id
)
SELECT pay.id FROM pay LEFT JOIN al ON al.payment_id = pay.id
WHERE COALESCE(al.allocated, 0) <> pay.amount
ORDER BY pay.source, pay.account_no, pay.id
"""

COLUMNS = ["received", "allocated", "credit", "waiting", "suspense", "refunded"]


@dataclass
class ReconLine:
    payment_id: int
    source: str
    account_no: str
    value_date: dt.date
    amount: Decimal
    currency: str
    payer_name: str
    reference: str
    status: str
    allocated: Decimal
    credit: Decimal
    waiting: Decimal
    refunded: Decimal
    suspense: Decimal
    policies: str
    reason_code: str = ""
    reason_params: str | dict = "{}"  # JSON text as the cursor reads it
    note: str = ""

    @property
    def reason(self) -> str:
        """Why the line is not fully allocated, in the active language (billing.reasons)."""
        params = json.loads(self.reason_params) if isinstance(self.reason_params, str) else self.reason_params
        return reason_text(code=self.reason_code, params=params, note=self.note)

    @property
    def difference(self) -> Decimal:
        return self.amount - self.allocated - self.credit - self.waiting - self.suspense - self.refunded


def reconciliation_for(*, day: dt.date) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(LINES_SQL + " ORDER BY pay.source, pay.account_no, pay.id", {"first": day, "last": day})
        lines = [ReconLine(*row) for row in cursor.fetchall()]
    groups: dict[tuple[str, str, str], dict] = {}
    for line in lines:
        key = (line.source, line.account_no, line.currency)
        group = groups.setdefault(key, {"source": key[0], "account_no": key[1], "currency": key[2], "lines": 0,
                                        **{c: ZERO for c in COLUMNS}})
        group["lines"] += 1
        group["received"] += line.amount
        for column in COLUMNS[1:]:
            group[column] += getattr(line, column)
    for group in groups.values():
        group["difference"] = group["received"] - sum(group[c] for c in COLUMNS[1:])
    open_lines = [line for line in lines if line.allocated != line.amount]
    return {"day": day, "groups": list(groups.values()), "open_lines": open_lines, "lines": lines}


# Every insert and update of a money line, an assignment or an allocation writes a trail row
# (pghistory), so the newest trail row of each, with the database's own id (a test database made
# again reuses the ids), says whether anything the reconciliation sums has changed.
MONEY_VERSION_SQL = """
SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),
       (SELECT max(pgh_id) FROM billing_paymentevent), (SELECT max(pgh_id) FROM billing_assignmentevent),
       (SELECT max(pgh_id) FROM billing_allocationevent)
"""
# Trail ids are taken when a row is written, not when its transaction commits: a change committed
# after a newer one is not seen by the version, and is shown at the latest when this runs out.
MONEY_CACHE_SECONDS = 60


def _until_money_changes(name: str, params: dict, compute):
    """compute()'s value, kept in the cache until a money line, assignment or allocation changes
    (a statement's day sums 100,000 lines: 0.4 s each time, bench/RESULTS.md part 15)."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute(MONEY_VERSION_SQL)
        version = cursor.fetchone()
    raw = f"{name}:{version}:{sorted(params.items())}"
    key = "reconciliation:" + hashlib.sha256(raw.encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, MONEY_CACHE_SECONDS)
    return value


def _fetch(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _totals(rows, key_length: int) -> dict[tuple, dict]:
    """TOTALS_SQL's rows summed by key: the lines, COLUMNS and the difference (money not accounted
    for), as LINES_SQL's columns add up."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key, (refunded, lines, amount, allocated, confirmed, waiting) = tuple(row[:key_length]), row[key_length:]
        total = out.setdefault(key, {"lines": 0, **{c: ZERO for c in COLUMNS}})
        total["lines"] += lines
        total["received"] += amount
        total["allocated"] += allocated
        total["credit"] += confirmed - allocated
        total["waiting"] += waiting
        # LINES_SQL: a refund pays back what is not assigned; what is neither assigned nor
        # waiting on a line not refunded is suspense
        if refunded:
            total["refunded"] += amount - confirmed
        else:
            total["suspense"] += amount - confirmed - waiting
    for total in out.values():
        total["difference"] = total["received"] - sum(total[c] for c in COLUMNS[1:])
    return out


class OpenLines:
    """A day's lines not fully allocated, for a Paginator: found in the database in one pass (a
    statement's day holds 100,000 lines), each page's lines then read whole."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self._ids: list[int] | None = None

    def ids(self) -> list[int]:
        if self._ids is None:
            params = {"first": self.day, "last": self.day}
            self._ids = _until_money_changes("open", params, lambda: [row[0] for row in _fetch(OPEN_IDS_SQL, params)])
        return self._ids

    def count(self) -> int:
        return len(self.ids())

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[ReconLine]:
        wanted = self.ids()[window]
        with connection.cursor() as cursor:
            cursor.execute(LINES_BY_ID_SQL, {"ids": wanted})
            found = {row[0]: ReconLine(*row) for row in cursor.fetchall()}
        return [found[pk] for pk in wanted]


def reconciliation_summary(*, day: dt.date) -> dict:
    """The day's page: the totals per source, receiving account and currency, summed in the
    database, and the lines not fully allocated (OpenLines, to be paged)."""
    params = {"first": day, "last": day}
    totals = _until_money_changes("groups", params, lambda: _totals(_fetch(GROUP_TOTALS_SQL, params), 3))
    groups = [{"source": key[0], "account_no": key[1], "currency": key[2], **total}
              for key, total in sorted(totals.items())]
    return {"day": day, "groups": groups, "open_lines": OpenLines(day)}


def reconciliation_day_totals(*, first: dt.date, last: dt.date) -> list[dict]:
    """Each day from `last` back to `first`: the lines received and the sums of COLUMNS with their
    difference, the whole company's (as reconciliation_for's groups add up); a day without money
    has zeros."""
    params = {"first": first, "last": last}
    totals = _until_money_changes("days", params, lambda: _totals(_fetch(DAY_TOTALS_SQL, params), 1))
    empty = {"lines": 0, **{c: ZERO for c in COLUMNS}, "difference": ZERO}
    days = [last - dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [{"day": day, **totals.get((day,), empty)} for day in days]


LINE_HEADERS = ["value_date", "source", "account_no", "currency", "payer_name", "reference", "policies", "status",
                "received", "allocated", "credit", "waiting", "suspense", "refunded", "difference", "reason"]


def _line_row(line: ReconLine) -> list:
    return [line.value_date, line.source, line.account_no, line.currency, line.payer_name, line.reference,
            line.policies, line.status, line.amount, line.allocated, line.credit, line.waiting, line.suspense,
            line.refunded, line.difference, line.reason]


def reconciliation_xlsx(*, recon: dict) -> bytes:
    """A real workbook: amounts as numbers (two decimals), dates as dates."""
    book = Workbook()
    summary = book.active
    summary.title = "summary"
    headers = ["source", "account_no", "currency", "lines", *COLUMNS, "difference"]
    summary.append(headers)
    for group in recon["groups"]:
        summary.append([group[h] for h in headers])
    detail = book.create_sheet("lines not fully allocated")
    detail.append(LINE_HEADERS)
    for line in recon["open_lines"]:
        detail.append(_line_row(line))
    for sheet in (summary, detail):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
                elif isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def reconciliation_csv(*, recon: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LINE_HEADERS)
    for line in recon["lines"]:
        writer.writerow([value.isoformat() if isinstance(value, dt.date) else value for value in _line_row(line)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
