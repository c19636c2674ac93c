"""Auto-debit (银行代扣/批扣): batches of payable installments, their export to the bank, and
the bank's results (paid lines are allocated; failed ones keep the mapped reason for the
collection plan, which decides on retries and cases)."""

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from billing.models import Assignment, DebitBatch, DebitLine, Installment, Payment
from billing.services.allocations import policy_allocate
from billing.services.payments import policies_lock
from core.errors import ApplicationError
from core.events import MONEY_ALLOCATED, PAYMENT_RECEIVED, event_publish
from policies import lifecycle
from policies.models import Policy, PolicyStatus
from policies.selectors import user_is_head_office

# insufficient funds is retried on these days after the due date (inside grace); a frozen,
# closed or invalid account, or a name mismatch, is never retried (DESIGN.md section 3)
DEFAULT_RETRY_DAYS = (3, 10, 20)

CREATE_LINES_SQL = """
INSERT INTO billing_debitline (batch_id, installment_id, policy_id, end_to_end_id, amount, bank_name, bank_account,
                               bank_account_name, attempt, status, reason, reason_code, reason_text)
SELECT %(batch)s, i.id, p.id, %(prefix)s || i.id::text, i.amount_due - i.amount_paid, p.bank_name, p.bank_account,
       p.bank_account_name, COALESCE(prev.attempts, 0) + 1, %(pending)s, '', '', ''
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
LEFT JOIN LATERAL (
    SELECT count(*) AS attempts, (array_agg(d.reason ORDER BY d.id DESC))[1] AS last_reason,
           bool_or(d.status = ANY(%(busy)s)) AS busy
    FROM billing_debitline d WHERE d.installment_id = i.id
) prev ON true
WHERE p.payment_method = %(auto_debit)s AND p.status = %(in_force)s AND p.bank_account <> ''
  AND i.status = ANY(%(open)s) AND i.amount_paid < i.amount_due
  AND i.grace_end >= %(date)s
  AND i.due_date = ANY(%(due_dates)s::date[])  -- the date itself and the retries' due dates (index)
  AND NOT COALESCE(prev.busy, false)
  AND NOT (p.id = ANY(%(excluded)s))
  AND (
        (i.due_date = %(date)s AND COALESCE(prev.attempts, 0) = 0)
     OR (prev.last_reason = %(retried)s AND (%(date)s::date - i.due_date) = ANY(%(retry_days)s))
  )
"""


def debit_batch_access_check(*, actor) -> None:
    """Debit batches collect for every branch at once: they are the head office's (a finance
    user of a branch sees the money of the branch, not the company's batches)."""
    if actor is not None and getattr(actor, "is_authenticated", False) and not user_is_head_office(user=actor):
        raise ApplicationError(_("auto-debit batches are handled by the head office"), status=403)


@transaction.atomic
def debit_batch_create(*, collection_date: dt.date, actor=None, retry_days=DEFAULT_RETRY_DAYS,
                       excluded_policy_ids: list[int] | None = None) -> DebitBatch:
    """One batch for a collection date: installments of auto-debit policies due that day, and
    the retries of insufficient-funds failures on the retry days. An installment is never in two
    pending lines at once (a partial unique index), so creating twice adds nothing the second time."""
    debit_batch_access_check(actor=actor)
    count = DebitBatch.objects.filter(collection_date=collection_date).count()
    reference = f"DD{collection_date:%Y%m%d}{count + 1:03d}"
    batch = DebitBatch.objects.create(collection_date=collection_date, reference=reference,
                                      actor=actor if actor is not None and actor.is_authenticated else None)
    with audit_context(job=f"debit_batch:{reference}"), connection.cursor() as cursor:
        cursor.execute(CREATE_LINES_SQL, {"batch": batch.pk, "prefix": f"{reference}-", "date": collection_date,
                                          "retry_days": list(retry_days), "excluded": excluded_policy_ids or [],
                                          "due_dates": [collection_date - dt.timedelta(days=d)
                                                        for d in [0, *retry_days]],
                                          "pending": DebitLine.Status.PENDING.value,
                                          "busy": [DebitLine.Status.PENDING.value, DebitLine.Status.PAID.value],
                                          "auto_debit": Policy.PaymentMethod.AUTO_DEBIT.value,
                                          "in_force": PolicyStatus.IN_FORCE.value, "open": list(Installment.OPEN_STATUSES),
                                          "retried": DebitLine.Reason.INSUFFICIENT_FUNDS.value})
    lines = batch.lines.all()
    batch.line_count = lines.count()
    batch.total = sum((line.amount for line in lines), Decimal("0.00"))
    batch.save(update_fields=["line_count", "total"])
    operation_record(action="debit_batch_create", actor=actor, job=f"debit_batch:{reference}",
                     object_type="debit_batch", object_ref=reference,
                     details={"lines": batch.line_count, "total": str(batch.total)})
    return batch


def _text(parent, tag, text=None, **attrs):
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def debit_batch_pain008(*, batch: DebitBatch) -> bytes:
    """ISO 20022 pain.008.001.02 (CustomerDirectDebitInitiation), one PmtInf for the batch."""
    lines = list(batch.lines.select_related("installment", "policy").order_by("id"))
    total = sum((line.amount for line in lines), Decimal("0.00"))
    ns = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"
    ET.register_namespace("", ns)
    root = ET.Element(f"{{{ns}}}Document")
    initiation = _text(root, f"{{{ns}}}CstmrDrctDbtInitn")
    q = lambda tag: f"{{{ns}}}{tag}"  # noqa: E731
    header = _text(initiation, q("GrpHdr"))
    _text(header, q("MsgId"), batch.reference)
    _text(header, q("CreDtTm"), timezone.localtime().replace(microsecond=0).isoformat())
    _text(header, q("NbOfTxs"), len(lines))
    _text(header, q("CtrlSum"), f"{total:.2f}")
    _text(_text(header, q("InitgPty")), q("Nm"), settings.COMPANY_NAME)
    info = _text(initiation, q("PmtInf"))
    _text(info, q("PmtInfId"), batch.reference)
    _text(info, q("PmtMtd"), "DD")
    _text(info, q("NbOfTxs"), len(lines))
    _text(info, q("CtrlSum"), f"{total:.2f}")
    _text(info, q("ReqdColltnDt"), batch.collection_date.isoformat())
    _text(_text(info, q("Cdtr")), q("Nm"), settings.COMPANY_NAME)
    _text(_text(_text(_text(info, q("CdtrAcct")), q("Id")), q("Othr")), q("Id"), settings.MAIN_RECEIVING_ACCOUNT)
    _text(_text(_text(info, q("CdtrAgt")), q("FinInstnId")), q("Nm"), settings.MAIN_RECEIVING_BANK)
    for line in lines:
        tx = _text(info, q("DrctDbtTxInf"))
        _text(_text(tx, q("PmtId")), q("EndToEndId"), line.end_to_end_id)
        _text(tx, q("InstdAmt"), f"{line.amount:.2f}", Ccy="CNY")
        mandate = _text(_text(tx, q("DrctDbtTx")), q("MndtRltdInf"))
        _text(mandate, q("MndtId"), line.policy.policy_no)
        _text(mandate, q("DtOfSgntr"), line.policy.issue_date.isoformat())
        _text(_text(_text(tx, q("DbtrAgt")), q("FinInstnId")), q("Nm"), line.bank_name)
        _text(_text(tx, q("Dbtr")), q("Nm"), line.bank_account_name)
        _text(_text(_text(_text(tx, q("DbtrAcct")), q("Id")), q("Othr")), q("Id"), line.bank_account)
        _text(_text(tx, q("RmtInf")), q("Ustrd"),
              f"保单{line.policy.policy_no}第{line.installment.sequence}期续期保费")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


CSV_HEADER = ["流水号", "户名", "账号", "开户行", "金额", "保单号", "摘要"]


def debit_batch_csv(*, batch: DebitBatch) -> bytes:
    """The bank CSV layout: UTF-8 with BOM so that Excel shows the Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for line in batch.lines.select_related("policy", "installment").order_by("id"):
        writer.writerow([line.end_to_end_id, line.bank_account_name, line.bank_account, line.bank_name,
                         f"{line.amount:.2f}", line.policy.policy_no,
                         f"保单{line.policy.policy_no}第{line.installment.sequence}期续期保费"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@transaction.atomic
def debit_batch_mark_exported(*, batch: DebitBatch, actor=None) -> None:
    debit_batch_access_check(actor=actor)
    if batch.status == DebitBatch.Status.OPEN:
        batch.status = DebitBatch.Status.EXPORTED
        batch.save(update_fields=["status"])


@dataclass
class DebitOutcome:
    end_to_end_id: str
    paid: bool
    reason: str = ""  # our code for a failure
    reason_code: str = ""
    reason_text: str = ""
    line: int = 0


# results applied per chunk of lines, each chunk one transaction (a bank's file of a day holds
# thousands of answers: one transaction per line cost about 30 statements a paid line)
DEBIT_RESULTS_CHUNK = 2_000

# The common case of a paid line, booked set-based: the line's installment is still the policy's
# oldest open installment and owes exactly the line's amount, the policy still pays premiums and
# has no charge and no other money waiting. That is what policy_allocate would do for it; every
# other paid line goes through policy_allocate.
DEBIT_FAST_SQL = """
SELECT d.line_id FROM debit_paid d
JOIN billing_installment i ON i.id = d.installment_id
JOIN policies_policy p ON p.id = d.policy_id
WHERE d.policy_id IN (SELECT policy_id FROM debit_paid GROUP BY policy_id HAVING count(*) = 1)
  AND p.status = ANY(%(paying)s)
  AND i.status = ANY(%(open)s) AND i.amount_due - i.amount_paid = d.amount
  AND NOT EXISTS (SELECT 1 FROM billing_installment o WHERE o.policy_id = d.policy_id
                  AND o.status = ANY(%(open)s) AND o.sequence < i.sequence)
  AND NOT EXISTS (SELECT 1 FROM billing_charge ch
                  WHERE ch.policy_id = d.policy_id AND NOT ch.cancelled AND ch.amount_paid < ch.amount)
  AND NOT EXISTS (
      SELECT 1 FROM billing_assignment a
      WHERE a.policy_id = d.policy_id AND a.status = %(confirmed)s AND a.id <> d.assignment_id
        AND a.amount > COALESCE((SELECT sum(x.amount) FROM billing_allocation x
                                 WHERE x.assignment_id = a.id AND x.reversed_at IS NULL), 0))
"""
# the installments first: the allocations' reference check then finds versions this transaction
# wrote and locks none of them (core.references)
DEBIT_BOOK_SQL = [
    """
    UPDATE billing_installment i
    SET amount_paid = i.amount_paid + d.amount, status = %(paid)s, paid_value_date = d.value_date, updated_at = now()
    FROM debit_paid d WHERE d.line_id = ANY(%(fast)s) AND i.id = d.installment_id
    """,
    """
    INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, reversal_reason)
    SELECT d.assignment_id, d.installment_id, d.amount, d.value_date, now(), ''
    FROM debit_paid d WHERE d.line_id = ANY(%(fast)s)
    """,
]


def debit_results_apply(*, outcomes: list[DebitOutcome], as_of: dt.date, source_name: str = "") -> dict:
    """Apply the bank's answer. A line already answered is skipped (the same result file twice
    changes nothing). Success creates the money and allocates it to the installment's policy;
    failure keeps the reason for the collection plan. Chunk by chunk, set-based."""
    report = {"lines": len(outcomes), "paid": 0, "failed": 0, "duplicate": 0, "rejected": 0, "errors": []}
    answered: set[str] = set()
    for start in range(0, len(outcomes), DEBIT_RESULTS_CHUNK):
        _debit_results_chunk(outcomes[start:start + DEBIT_RESULTS_CHUNK], as_of=as_of, source_name=source_name,
                             report=report, answered=answered)
    DebitBatch.objects.filter(status=DebitBatch.Status.EXPORTED).exclude(lines__status="pending").update(
        status=DebitBatch.Status.CLOSED)
    return report


@transaction.atomic
def _debit_results_chunk(outcomes: list[DebitOutcome], *, as_of: dt.date, source_name: str, report: dict,
                         answered: set[str]) -> None:
    lines = {line.end_to_end_id: line for line in
             DebitLine.objects.select_for_update(of=("self",)).select_related("batch", "policy")
             .filter(end_to_end_id__in=[o.end_to_end_id for o in outcomes]).order_by("pk")}
    now = timezone.now()
    paid: list[DebitLine] = []
    failed: list[DebitLine] = []
    for outcome in outcomes:
        line = lines.get(outcome.end_to_end_id)
        if line is None:
            report["rejected"] += 1
            report["errors"].append({"line": outcome.line, "reason": f"unknown debit line {outcome.end_to_end_id}"})
            continue
        if line.status != DebitLine.Status.PENDING or outcome.end_to_end_id in answered:
            report["duplicate"] += 1
            continue
        answered.add(outcome.end_to_end_id)
        line.result_at = now
        if outcome.paid:
            line.status = DebitLine.Status.PAID
            paid.append(line)
        else:
            line.status = DebitLine.Status.FAILED
            line.reason = outcome.reason or DebitLine.Reason.OTHER
            line.reason_code = outcome.reason_code[:8]
            line.reason_text = outcome.reason_text[:256]
            failed.append(line)
    references = sorted({line.batch.reference for line in paid + failed})
    with audit_context(job=f"debit_results:{source_name or ','.join(references)[:100]}"):
        if paid:
            _debit_paid_book(paid, as_of=as_of)
        DebitLine.objects.bulk_update(paid + failed, ["status", "payment", "reason", "reason_code", "reason_text",
                                                      "result_at"])
    report["paid"] += len(paid)
    report["failed"] += len(failed)


def _debit_paid_book(paid: list[DebitLine], *, as_of: dt.date) -> None:
    """The money of the paid lines: a payment each (matched), its assignment to the line's policy,
    and the allocation, set-based for the common case; one money event for the chunk."""
    account = settings.MAIN_RECEIVING_ACCOUNT
    identities = {f"debit:{line.end_to_end_id}": line for line in paid}
    existing = {p.identity: p for p in Payment.objects.filter(account_no=account, identity__in=list(identities))}
    created = Payment.objects.bulk_create([
        Payment(source="debit", account_no=account, identity=identity, value_date=line.batch.collection_date,
                amount=line.amount, direction=Payment.Direction.CREDIT, currency="CNY",
                payer_name=line.bank_account_name[:128], payer_account=line.bank_account[:64],
                reference=line.end_to_end_id[:128], remittance=f"auto-debit {line.policy.policy_no}",
                status=Payment.Status.MATCHED)
        for identity, line in identities.items() if identity not in existing])
    payments = {**existing, **{p.identity: p for p in created}}
    for identity, line in identities.items():
        line.payment = payments[identity]
    fresh = [line for line in paid if f"debit:{line.end_to_end_id}" not in existing]
    # the policies locked (in id order) before their assignments are written (Assignment.policy) and
    # before the fast lines are chosen (as policy_allocate locks before it reads): chosen first, a
    # line whose installment another transaction was paying meanwhile was booked on top of that
    # money once the lock came (the installment's CHECK refused it, and the chunk's answers with
    # it); DEBIT_FAST_SQL's snapshot now follows the lock
    policies_lock(line.policy_id for line in fresh)
    assignments = Assignment.objects.bulk_create([
        Assignment(payment=line.payment, policy_id=line.policy_id, amount=line.amount,
                   status=Assignment.Status.CONFIRMED, rule="auto_debit") for line in fresh])
    event_publish(PAYMENT_RECEIVED, as_of=as_of, payment_ids=[p.pk for p in created],
                  policy_ids={line.policy_id for line in fresh}, source="debit_result")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS debit_paid")
        cursor.execute("CREATE TEMP TABLE debit_paid (line_id bigint, policy_id bigint, installment_id bigint, "
                       "assignment_id bigint, amount numeric(14,2), value_date date) ON COMMIT DROP")
        with cursor.cursor.copy("COPY debit_paid FROM STDIN") as copy:
            for line, assignment in zip(fresh, assignments, strict=True):
                copy.write_row((line.pk, line.policy_id, line.installment_id, assignment.pk, line.amount,
                                line.batch.collection_date))
        cursor.execute("ANALYZE debit_paid")
        params: dict[str, str | list[str]] = {
            "paying": lifecycle.sql_values(lifecycle.PAYING), "open": list(Installment.OPEN_STATUSES),
            "confirmed": Assignment.Status.CONFIRMED.value, "paid": Installment.Status.PAID.value}
        cursor.execute(DEBIT_FAST_SQL, params)
        fast = [row[0] for row in cursor.fetchall()]
        if fast:
            for statement in DEBIT_BOOK_SQL:
                cursor.execute(statement, {**params, "fast": fast})
    fast_ids = set(fast)
    booked = [line for line in fresh if line.pk in fast_ids]
    event_publish(MONEY_ALLOCATED, as_of=as_of, policy_ids={line.policy_id for line in booked},
                  installment_ids={line.installment_id for line in booked},
                  # every paid line has its payment by now: the filter only narrows the type
                  payment_ids={line.payment_id for line in booked if line.payment_id is not None}, source="debit_result")
    for policy_id in sorted({line.policy_id for line in fresh if line.pk not in fast_ids}):
        policy_allocate(policy_id=policy_id, as_of=as_of)
