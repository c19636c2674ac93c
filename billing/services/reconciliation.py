"""Daily reconciliation for finance: for the money valued on a day, per source and receiving
account, what came in against where it went (allocated to installments, credit held on
policies, awaiting a person, suspense, refunded), and the lines that are not fully allocated."""

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from openpyxl import Workbook
from openpyxl.styles import Font

from billing.reasons import reason_text

ZERO = Decimal("0.00")

LINES_SQL = """
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
FROM billing_payment pay
LEFT JOIN LATERAL (
    SELECT sum(a.amount) FILTER (WHERE a.status = 'confirmed') AS confirmed,
           sum(a.amount) FILTER (WHERE a.status IN ('proposed', 'pending_approval')) AS waiting,
           string_agg(DISTINCT p.policy_no, ' ') FILTER (WHERE a.status <> 'rejected' AND a.status <> 'reversed')
               AS policies
    FROM billing_assignment a JOIN policies_policy p ON p.id = a.policy_id
    WHERE a.payment_id = pay.id
) asg ON true
LEFT JOIN LATERAL (
    SELECT sum(x.amount) AS allocated
    FROM billing_allocation x JOIN billing_assignment a ON a.id = x.assignment_id
    WHERE a.payment_id = pay.id AND x.reversed_at IS NULL
) al ON true
WHERE pay.value_date = %(day)s AND pay.direction = 'credit' AND NOT pay.reversal
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
        cursor.execute(LINES_SQL, {"day": day})
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
