"""import_statement: a bank statement, a payment-platform bill or a debit-result file in; each
money line stored once (by receiving account and line identity), matched, and the report kept.

Idempotent: the same file twice, or two files that overlap, add each line once. A bad line is
reported with its number and reason and the rest imports; a file that cannot be read at all
changes nothing (UnreadableFile, exit code 2).
"""

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from audit.services import audit_context, operation_record
from billing import importers
from billing.importers.base import StatementLine
from billing.models import CsvTemplate, DebitLine, Payment, StatementImport
from billing.services.allocations import payment_reverse
from billing.services.bulk_matching import (
    BulkMatch,
    Candidates,
    FileChecks,
    MatchPlan,
    candidate_rows,
    file_checks,
    known_policies,
    match_plan,
    payments_book_bulk,
    payments_match_bulk,
)
from billing.services.debits import DebitOutcome, debit_results_apply
from billing.services.matching import payment_match
from billing.services.schedules import bulk_transaction_prepare
from core.analyze import analyze_tables, tables_grown, temp_tables_analyze
from core.collector import collection_paused
from core.copy import NULL, copy_texts
from core.events import PAYMENT_RECEIVED, event_publish

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")
FORMATS = ("camt053", "camt054", "mt940", "csv", "alipay", "wechatpay", "pain002")
SOURCE_OF_FORMAT = {"alipay": "alipay", "wechatpay": "wechatpay"}

STAGE_SQL = """
CREATE TEMP TABLE IF NOT EXISTS statement_stage (
    line_no integer, identity text, value_date date, booking_date date, direction text, amount numeric(14,2),
    currency text, payer_name text, payer_account text, reference text, remittance text, reversal boolean
) ON COMMIT DROP
"""
STAGE_COLUMNS = ["line_no", "identity", "value_date", "booking_date", "direction", "amount", "currency", "payer_name",
                 "payer_account", "reference", "remittance", "reversal"]

# a credit line booked set-based (exact_match, account_match) is stored matched; the ones filled in
# match_payment are then assigned and allocated (bulk_matching.payments_book_bulk); a hopeless one
# is stored in suspense with its reason (no_reference, as the per-line matcher would say)
INSERT_SQL = """
WITH booked AS (SELECT line_no FROM exact_match UNION ALL SELECT line_no FROM account_match),
stored AS (
    INSERT INTO billing_payment (source, statement_import_id, line_no, account_no, identity, value_date, booking_date,
        direction, amount, currency, payer_name, payer_account, reference, remittance, reversal, status, reason_code,
        reason_params, status_reason, created_at)
    SELECT %(source)s, %(import_id)s, s.line_no, %(account)s, s.identity, s.value_date, s.booking_date, s.direction,
           s.amount, s.currency, left(s.payer_name, 128), left(s.payer_account, 64), left(s.reference, 128),
           s.remittance, s.reversal,
           CASE WHEN s.direction <> %(credit)s OR s.reversal THEN %(ignored)s
                WHEN b.line_no IS NOT NULL THEN %(matched)s ELSE %(suspense)s END,
           CASE WHEN s.direction = %(credit)s AND NOT s.reversal AND b.line_no IS NULL
                     AND s.line_no = ANY(%(hopeless)s::integer[]) THEN %(hopeless_reason)s ELSE '' END,
           '{}'::jsonb, '', now()
    FROM statement_stage s LEFT JOIN booked b ON b.line_no = s.line_no
    WHERE s.line_no BETWEEN %(own_from)s AND %(own_to)s
    ORDER BY s.line_no
    ON CONFLICT (account_no, identity) DO NOTHING
    RETURNING id, line_no, status
),
mapped AS (INSERT INTO match_payment (line_no, payment_id) SELECT line_no, id FROM stored WHERE status = %(matched)s)
SELECT id, line_no, status FROM stored ORDER BY line_no
"""


def csv_template_mapping(template: str | dict) -> str | dict:
    """A built-in template's name as it is; a saved template's name to its mapping."""
    if isinstance(template, dict) or template in importers.TEMPLATES:
        return template
    saved = CsvTemplate.objects.filter(name=template).first()
    if saved is None:
        names = sorted([*importers.TEMPLATES, *CsvTemplate.objects.values_list("name", flat=True)])
        raise importers.base.UnreadableFile(f"unknown CSV template {template!r}; one of {', '.join(names)}")
    return saved.mapping


def line_identity(line: StatementLine, occurrence: int) -> str:
    """The bank's reference when it has one; otherwise a hash of what the line says, with its
    occurrence number among identical lines of the file (two equal transfers are two lines)."""
    if line.reference:
        return line.reference[:128]
    text = "|".join([str(line.value_date), f"{line.amount:.2f}", line.direction, line.currency, line.payer_account,
                     line.payer_name, line.remittance, str(occurrence)])
    return "h:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _report(name: str, format: str) -> dict:
    return {"file": name, "format": format, "lines": 0, "new": 0, "duplicate": 0, "total_credit": "0.00",
            "total_debit": "0.00", "matched": 0, "proposed": 0, "suspense": 0, "rejected": 0, "errors": []}


def statement_import(
    *, name: str, data: bytes, format: str, as_of: dt.date, template: str | dict | None = None,
    account_no: str | None = None, actor=None,
) -> dict:
    # Python's cyclic collector paused while the file is parsed, staged and matched set-based: it
    # walked the parsed lines, all alive until the end, a few hundred times for nothing (1.0-1.4 s
    # of a 100,000-line statement; core.collector). The lines left to the per-line matcher, which
    # may take minutes, are matched with it running.
    with contextlib.ExitStack() as pause:
        return _statement_import(name=name, data=data, format=format, as_of=as_of, template=template,
                                 account_no=account_no, actor=actor, pause=pause)


def _statement_import(*, name: str, data: bytes, format: str, as_of: dt.date, template: str | dict | None,
                      account_no: str | None, actor, pause: contextlib.ExitStack) -> dict:
    if format not in FORMATS:
        raise importers.base.UnreadableFile(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise importers.base.UnreadableFile("the file is larger than the upload limit")
    account = account_no or settings.MAIN_RECEIVING_ACCOUNT
    # a payment platform's bill keys its lines as the platform's notifications do (account
    # "alipay:<main account>", identity "alipay:<trade number>": billing.services.platform_payments),
    # so a trade paid through a payment link and then listed in the day's bill is one money line
    platform = SOURCE_OF_FORMAT.get(format)
    if platform is not None and account_no is None:
        account = f"{platform}:{settings.MAIN_RECEIVING_ACCOUNT}"
    sha = hashlib.sha256(data).hexdigest()
    job = f"import_statement:{name}"
    context = {"job": job}
    if actor is not None and getattr(actor, "is_authenticated", False):
        context.update(user=actor.pk, username=actor.get_username())
    if format == "pain002":
        return _import_debit_results(name=name, data=data, sha=sha, account=account, as_of=as_of, actor=actor,
                                     context=context)
    pause.enter_context(collection_paused())
    options = {"template": csv_template_mapping(template)} if format == "csv" and template else {}
    parsed = importers.parse(format, data, **options)
    # every format here but pain002 (answered above) is a statement
    assert isinstance(parsed, importers.ParsedStatement)
    report = _report(name, format)
    report["lines"] = len(parsed.lines)
    report["errors"] = [{"line": e.line, "reason": e.reason} for e in parsed.errors]
    report["rejected"] = len(parsed.errors)
    file_currency = parsed.currency or "CNY"
    totals = parsed.totals()
    report["total_credit"] = f"{totals['credit'].get(file_currency, ZERO):.2f}"
    report["total_debit"] = f"{totals['debit'].get(file_currency, ZERO):.2f}"
    report["currency"] = file_currency
    report["totals_by_currency"] = {direction: {c: f"{v:.2f}" for c, v in sorted(sums.items())}
                                    for direction, sums in totals.items()}

    source = SOURCE_OF_FORMAT.get(format, "bank")
    parts = _part_ranges(parsed.lines)
    record_fields = dict(actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
                         file_name=name, file_sha256=sha, format=format, account_no=account)
    # once for every part: the rules read, the lines' numbers searched, the policies they name
    # looked up (on a connection of its own while this thread writes the stage rows, for a
    # statement in parts) and the exact rule's checks of the whole file decided (while the parts
    # stage their lines: they wait for the checks only when they need them)
    plan = match_plan()
    candidates = candidate_rows(plan, _texts(
        (line.line, _open_credit(line), line.remittance, line.reference) for line in parsed.lines))
    known = _known_looked_up(candidates, apart=len(parts) > 1) if plan.exact else _done({})
    staged = _staged(parsed.lines, prefix=f"{platform}:" if platform else "", checks=len(parts) > 1)
    checks: Future[FileChecks] = Future()

    def decide_checks() -> None:
        try:
            checks.set_result(file_checks(candidates, staged.accounts, known.result()) if plan.exact
                              else FileChecks())
        except BaseException as exc:  # the parts look again themselves (_import_part); none waits for ever
            checks.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    part = functools.partial(_import_part, account=account, source=source, staged=staged, as_of=as_of,
                             plan=plan, candidates=candidates, checks=checks)
    failed: list[tuple[int, int]] = []
    if len(parts) == 1:
        decide_checks()
        with transaction.atomic(), audit_context(**context):
            bulk_transaction_prepare()
            record = StatementImport.objects.create(**record_fields)
            done = [part(record=record, own=None)]
    else:
        # every part's lines name the import: it is there, committed, before they start
        with audit_context(**context):
            record = StatementImport.objects.create(**record_fields)
        done, failed = _parts_run(part, record=record, parts=parts, context=context, meanwhile=decide_checks)
    # a part that failed twice stored nothing; the rest is imported and matched as usual
    not_imported = 0
    for first, last in failed:
        report["errors"].append({"line": first, "reason": f"lines {first}-{last} were not imported (the database "
                                                          f"refused them twice): import the file again to add them"})
        not_imported += sum(1 for line in parsed.lines if first <= line.line <= last)
    report["rejected"] += not_imported
    stored = sorted((row for result in done for row in result.stored), key=lambda row: row[1])
    hopeless_lines = {line_no for result in done for line_no in result.hopeless}
    new_ids = [pk for pk, _line_no, _status in stored]
    new_line_nos = {line_no for _pk, line_no, _status in stored}
    report["new"] = len(new_ids)
    report["duplicate"] = len(parsed.lines) - len(new_ids) - not_imported
    matched = {pk for pk, _line_no, status in stored if status == Payment.Status.MATCHED}
    hopeless = {pk for pk, line_no, status in stored if status == Payment.Status.SUSPENSE and line_no in hopeless_lines}
    # the lines still open, for the per-line matcher
    rest = sorted(pk for pk, _line_no, status in stored if status == Payment.Status.SUSPENSE and pk not in hopeless)
    outcomes = Counter({"matched": len(matched), "suspense": len(hopeless)})
    # the rest line by line, each in its own transaction: a failure on one line leaves the others
    pause.close()
    with audit_context(**context):
        for payment in Payment.objects.filter(pk__in=rest).order_by("line_no"):
            outcomes[payment_match(payment=payment, as_of=as_of).status] += 1
    report["matched"], report["proposed"], report["suspense"] = (outcomes["matched"], outcomes["proposed"],
                                                                 outcomes["suspense"])
    # the next statement's plans see the money just written
    _money_tables_analyze(payments=len(new_ids), booked=outcomes["matched"])
    report["reversed"] = _apply_returns(parsed.lines, new_ids=set(new_ids), new_line_nos=new_line_nos, as_of=as_of,
                                        context=context)
    record.lines, record.new, record.duplicate, record.rejected = (report["lines"], report["new"],
                                                                   report["duplicate"], report["rejected"])
    record.report = report
    record.save(update_fields=["lines", "new", "duplicate", "rejected", "report"])
    operation_record(action="import_statement", actor=actor, job=job, object_type=format, object_ref=name,
                     details={k: report[k] for k in ("lines", "new", "duplicate", "matched", "suspense", "rejected")})
    report["import_id"] = record.pk
    return report


# the tables an import bulk-writes: a line's payment, then (booked) its assignment and allocations
MONEY_TABLES = ("billing_payment", "billing_assignment", "billing_allocation")


def _money_tables_analyze(*, payments: int, booked: int) -> None:
    """After a large import, committed: ANALYZE the money tables it grew by a share (core.analyze),
    at once (each on its own connection). A second 100,000-line statement right after the first,
    on a new database whose assignments and allocations were never analysed, took minutes in its
    reference rule (bench/RESULTS.md part 25)."""
    payment_table, *booking_tables = MONEY_TABLES
    grown = [*tables_grown((payment_table,), payments), *tables_grown(booking_tables, booked)]
    analyze_tables(grown, rows=payments, why="statement import", at_once=True)


def _done(result: Any) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _known_looked_up(candidates: Candidates, *, apart: bool) -> Future[dict[str, int]]:
    """known_policies of the file's numbers: `apart` (a statement in parts, its caller's
    transaction not open) in a thread of its own, on its own connection, while the caller goes on;
    otherwise here, on the caller's connection (which sees what its transaction wrote)."""
    if not apart:
        return _done(known_policies(candidates))
    known: Future[dict[str, int]] = Future()

    def look_up() -> None:
        try:
            known.set_result(known_policies(candidates))
        except Exception as exc:  # the parts raise it, through the checks
            known.set_exception(exc)
        finally:
            connection.close()

    threading.Thread(target=look_up, name="statement-policies", daemon=True).start()
    return known


def _open_credit(line: StatementLine) -> bool:
    """Money in that the matchers look at (a debit or a reversal is not matched; _stage asks the
    same of the staged rows)."""
    return line.direction == Payment.Direction.CREDIT and not line.reversal


@dataclass
class Staged:
    """The file's lines in COPY's text format, written once however many parts read them: each
    kept line's statement_stage row (with its identity: line_identity) and, for an open credit,
    what the set-based matcher's checks read of it (match_line's row, own false), by line number;
    and the payer accounts of the lines the checks read (bulk_matching.file_checks)."""
    stage: list[tuple[int, str]]
    checks: list[tuple[int, str]]
    accounts: dict[int, list[str]]

    def stage_text(self, own: tuple[int, int] | None = None) -> str:
        first, last = own if own is not None else (0, 2**31 - 1)
        return "".join(row for line_no, row in self.stage if first <= line_no <= last)

    def others(self, own: tuple[int, int]) -> tuple[list[int], str]:
        """The open credit lines outside `own`: their numbers, and their match_line rows."""
        first, last = own
        rows = [(line_no, row) for line_no, row in self.checks if not first <= line_no <= last]
        # a camt entry itemised has one number for its lines: its candidates are copied once
        return list(dict.fromkeys(line_no for line_no, _row in rows)), "".join(row for _line_no, row in rows)


def _staged(lines: list[StatementLine], *, prefix: str = "", checks: bool = True) -> Staged:
    """The lines as statement_stage's rows, each with its identity (by receiving account and line
    identity: line_identity); a line whose identity an earlier line of the file has is not staged
    (lines sharing one number, a camt entry itemised, all are). `checks`: the open credit lines'
    match_line rows too (for a statement imported in parts)."""
    seen: Counter = Counter()
    # a line's occurrence among the file's equal lines names it only when it has no reference of
    # its own (line_identity): counted, every line, only in a file with such a line (hashing each
    # line's date and amount was a third of a 100,000-line statement's stage rows)
    counted = not all(line.reference for line in lines)
    identities: list[str] = []
    first_line: dict[str, int] = {}
    for line in lines:
        occurrence = 0
        if counted:
            key = (line.value_date, line.amount, line.direction, line.payer_account, line.remittance)
            seen[key] += 1
            occurrence = seen[key]
        identity = line_identity(line, occurrence)
        if prefix and line.reference:  # a platform's trade number (billing.services.platform_payments)
            identity = prefix + identity
        identities.append(identity)
        if line.line < first_line.get(identity, line.line + 1):
            first_line[identity] = line.line
    stage: list[tuple[int, str]] = []
    check_rows: list[tuple[int, str]] = []
    accounts: dict[int, list[str]] = {}
    for line, identity in zip(lines, identities, strict=True):
        if first_line[identity] != line.line:
            continue
        value_date = line.value_date or line.booking_date
        # COPY's text format written directly (psycopg's write_row per line costs more than the
        # rest): the texts escaped together, a date or an amount as str() writes it
        identity, currency, payer_name, payer_account, reference, remittance = copy_texts(
            identity, line.currency or "CNY", line.payer_name, line.payer_account, line.reference, line.remittance)
        value_text = NULL if value_date is None else str(value_date)
        amount = str(line.amount)
        stage.append((line.line, "\t".join((
            str(line.line), identity, value_text, NULL if line.booking_date is None else str(line.booking_date),
            line.direction, amount, currency, payer_name, payer_account, reference, remittance,
            "t" if line.reversal else "f")) + "\n"))
        # as _stage keeps it and payments_match_bulk reads it (LINES_SQL)
        if _open_credit(line) and value_date is not None and line.amount > 0:
            accounts.setdefault(line.line, []).append(line.payer_account)
            if checks:
                check_rows.append((line.line, "\t".join((str(line.line), amount, value_text, currency, payer_name,
                                                       payer_account, "f")) + "\n"))
    return Staged(stage=stage, checks=check_rows, accounts=accounts)


def _stage(text: str, *, account: str, import_id: int) -> list[int]:
    """COPY the lines (Staged.stage_text: a line twice in the file under one identity is there
    once) into statement_stage and keep those not stored before by another import (by receiving
    account and line identity). Returns the line numbers of the open credits kept, in order."""
    with connection.cursor() as cursor:
        cursor.execute(STAGE_SQL)
        cursor.execute("TRUNCATE statement_stage")
        with cursor.cursor.copy(f"COPY statement_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
            for at in range(0, len(text), 1 << 20):
                copy.write(text[at:at + (1 << 20)])
        cursor.execute("DELETE FROM statement_stage WHERE value_date IS NULL OR amount <= 0")
        cursor.execute("DELETE FROM statement_stage s USING billing_payment p "
                       "WHERE p.account_no = %(account)s AND p.identity = s.identity "
                       "AND p.statement_import_id IS DISTINCT FROM %(import_id)s",
                       {"account": account, "import_id": import_id})
        temp_tables_analyze(cursor, "statement_stage")
        cursor.execute("SELECT DISTINCT line_no FROM statement_stage WHERE direction = %s AND NOT reversal "
                       "ORDER BY line_no", [Payment.Direction.CREDIT.value])
        return [line_no for (line_no,) in cursor.fetchall()]


def _part_ranges(lines: list[StatementLine]) -> list[tuple[int, int]]:
    """The parts a statement is imported in: (first, last line number) each, consecutive lines;
    one part for the whole file when it is small or when the caller's transaction is open (the
    parts' own connections would not see what it wrote)."""
    count = min(settings.STATEMENT_IMPORT_PARTS, len(lines) // max(settings.STATEMENT_IMPORT_PART_MIN_LINES, 1))
    if count < 2 or connection.in_atomic_block:
        return [(0, 2**31 - 1)]
    # by line number: lines that share one (a camt entry itemised) are in one part
    numbers = sorted({line.line for line in lines})
    size = -(-len(numbers) // count)
    return [(numbers[at], numbers[min(at + size, len(numbers)) - 1]) for at in range(0, len(numbers), size)]


def _texts(lines: Iterable[tuple[int, bool, str, str]]) -> dict[int, str]:
    """The text of each open credit line (line number, open, remittance, reference), by line number;
    lines that share a number (a camt entry itemised) have their texts joined."""
    texts: dict[int, str] = {}
    for line_no, open_, remittance, reference in lines:
        if open_:
            text = f"{remittance} {reference}"
            texts[line_no] = f"{texts[line_no]} {text}" if line_no in texts else text
    return texts


@dataclass
class PartResult:
    stored: list[tuple[int, int, str]]  # (payment id, line number, status) of each line stored
    hopeless: set[int]  # line numbers


def _import_part(*, record: StatementImport, account: str, source: str, staged: Staged, as_of: dt.date,
                 plan: MatchPlan, candidates: Candidates, checks: Future[FileChecks],
                 own: tuple[int, int] | None) -> PartResult:
    """Inside a transaction: the lines of `own` (all when None) staged, matched, stored with their
    outcome and the booked ones allocated; one payment event for them. A part reads the other
    parts' open credit lines too, for the set-based matcher's checks (Staged.others)."""
    open_credits = _stage(staged.stage_text(own), account=account, import_id=record.pk)
    # matching is decided before the lines are stored, so that each is written once, with its
    # outcome (a booked line matched, a hopeless one in suspense with its reason)

    def file_wide_checks() -> FileChecks:
        try:
            return checks.result()
        except Exception:
            # the look-up failed (on its own connection, the server gone for a moment): this part
            # looks the policies up again on its own, as it did before they were looked up once
            logger.warning("statement import %s: the file's checks failed, decided again in a part", record.pk,
                           exc_info=True)
            return file_checks(candidates, staged.accounts, known_policies(candidates))

    bulk = payments_match_bulk(line_nos=open_credits, own=own, plan=plan, candidates=candidates.rows,
                               checks=file_wide_checks,
                               others=staged.others(own) if own else None)
    stored = _store_lines(record=record, account=account, source=source, bulk=bulk, own=own)
    payments_book_bulk(bulk, as_of=as_of)
    event_publish(PAYMENT_RECEIVED, as_of=as_of, payment_ids=[pk for pk, _line_no, _status in stored],
                  source="statement_import")
    return PartResult(stored=stored, hopeless=bulk.hopeless)


def _parts_run(part: Callable[..., PartResult], *, record: StatementImport, parts: list[tuple[int, int]],
               context: dict, meanwhile: Callable[[], None]) -> tuple[list[PartResult], list[tuple[int, int]]]:
    """The parts at once, each in its own transaction on its own connection (a thread each: the
    time is the database's, on as many cores as there are parts). Each stages its own lines, reads
    the other parts' open credit lines for its checks and books its own lines
    (bulk_matching.payments_match_bulk), so together they book what one transaction would. A part
    that fails (a deadlock with another import, the server gone for a moment) is run once more,
    alone; if it fails again it is returned (first, last line number) with the parts done: the
    import goes on with what was stored (statement_import), and importing the file again adds the
    lines not stored (each line once). `meanwhile` runs in this thread once the parts are started."""

    def run(own: tuple[int, int]) -> PartResult:
        try:
            with transaction.atomic(), audit_context(**context):
                bulk_transaction_prepare()
                return part(record=record, own=own)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="statement-part") as pool:
        futures = [(own, pool.submit(run, own)) for own in parts]
        meanwhile()
    done, failed = [], []
    for own, future in futures:
        try:
            done.append(future.result())
            continue
        except Exception:
            logger.warning("statement import %s: lines %s-%s failed, run again alone", record.pk, *own,
                           exc_info=True)
        try:
            with transaction.atomic(), audit_context(**context):
                bulk_transaction_prepare()
                done.append(part(record=record, own=own))
        except Exception:
            logger.exception("statement import %s: lines %s-%s failed twice, not imported", record.pk, *own)
            failed.append(own)
    return done, failed


def _store_lines(*, record: StatementImport, account: str, source: str, bulk: BulkMatch,
                 own: tuple[int, int] | None = None) -> list[tuple[int, int, str]]:
    """Store the staged lines (of `own`, first and last line number, when given) with their
    outcome; returns (id, line_no, status) of each stored. A line another import stored in the
    meantime is not stored again (and not booked: only the stored lines go to match_payment)."""
    own_from, own_to = own if own is not None else (0, 2**31 - 1)
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SQL, {"source": source, "import_id": record.pk, "account": account,
                                    "own_from": own_from, "own_to": own_to,
                                    "hopeless": sorted(bulk.hopeless),
                                    "hopeless_reason": Payment.ReasonCode.NO_REFERENCE.value,
                                    "credit": Payment.Direction.CREDIT.value, "ignored": Payment.Status.IGNORED.value,
                                    "matched": Payment.Status.MATCHED.value, "suspense": Payment.Status.SUSPENSE.value})
        return cursor.fetchall()


def _apply_returns(lines: list[StatementLine], *, new_ids: set[int], new_line_nos: set[int], as_of: dt.date,
                   context: dict) -> int:
    """A returned debit or a bank reversal in the statement undoes what it reverses: a debit line
    of ours (by its end-to-end id) is marked failed with the bank's reason and, if it had been
    paid, its money is reversed, which reopens the installments; a reversal naming an earlier
    payment's reference reverses that payment. Lines already imported before are not replayed."""
    reversed_count = 0
    with audit_context(**context):
        for line in lines:
            if line.line not in new_line_nos or not (line.reversal or line.direction == "debit"):
                continue
            with transaction.atomic():
                debit = (DebitLine.objects.select_for_update(of=("self",)).select_related("payment")
                         .filter(end_to_end_id=line.end_to_end_id).first()) if line.end_to_end_id else None
                reason = importers.map_reason(line.return_reason, line.remittance)
                if debit is not None:
                    if debit.payment is not None:
                        payment_reverse(payment=debit.payment, reason=f"debit returned {line.return_reason}".strip(),
                                        as_of=as_of)
                    if debit.status != DebitLine.Status.FAILED:
                        debit.status, debit.reason = DebitLine.Status.FAILED, reason
                        debit.reason_code, debit.reason_text = line.return_reason[:8], line.remittance[:256]
                        debit.save(update_fields=["status", "reason", "reason_code", "reason_text"])
                    reversed_count += 1
                    continue
                original = (Payment.objects.filter(reference=line.reference, amount=line.amount,
                                                   direction=Payment.Direction.CREDIT, reversal=False)
                            .exclude(pk__in=new_ids).first()) if line.reversal and line.reference else None
                if original is not None:
                    payment_reverse(payment=original, reason=f"bank reversal {line.reference}", as_of=as_of)
                    reversed_count += 1
    return reversed_count


def _debit_outcomes(parsed: importers.ParsedDebitResults) -> list[DebitOutcome]:
    """One outcome per debit line: a batch-level (PmtInf) or message-level reject applies to every
    line of that batch still awaiting the bank and without a result of its own."""
    answered = {r.end_to_end_id for r in parsed.results if r.scope == "transaction" and r.end_to_end_id}
    outcomes = []
    for r in parsed.results:
        common: dict[str, Any] = dict(paid=r.status == "paid", reason=r.reason or "",
                                      reason_code=r.reason_code or "", reason_text=r.reason_text or "", line=r.line)
        if r.scope == "transaction":
            outcomes.append(DebitOutcome(end_to_end_id=r.end_to_end_id, **common))
            continue
        batch_ref = r.payment_info_id if r.scope == "payment_info" else r.original_message_id
        pending = DebitLine.objects.filter(batch__reference=batch_ref, status=DebitLine.Status.PENDING)
        expanded = [DebitOutcome(end_to_end_id=e2e, **common)
                    for e2e in pending.values_list("end_to_end_id", flat=True) if e2e not in answered]
        # a batch we do not know (or with nothing pending) is reported, not silently dropped
        outcomes += expanded or [DebitOutcome(end_to_end_id=f"batch {batch_ref or '?'}", **common)]
    return outcomes


def _import_debit_results(*, name, data, sha, account, as_of, actor, context) -> dict:
    # the bank answers in pain.002 XML or in its CSV result layout
    kind = "pain002" if data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<") else "debit_result_csv"
    parsed = importers.parse(kind, data)
    assert isinstance(parsed, importers.ParsedDebitResults)  # both kinds are DEBIT_RESULT_FORMATS
    outcomes = _debit_outcomes(parsed)
    with audit_context(**context):
        applied = debit_results_apply(outcomes=outcomes, as_of=as_of, source_name=name)
    _money_tables_analyze(payments=applied["paid"], booked=applied["paid"])
    report = _report(name, "pain002")
    report.update(lines=len(parsed.results), new=applied["paid"] + applied["failed"], duplicate=applied["duplicate"],
                  matched=applied["paid"], rejected=applied["rejected"] + len(parsed.errors),
                  errors=[{"line": e.line, "reason": e.reason} for e in parsed.errors] + applied["errors"],
                  paid=applied["paid"], failed=applied["failed"])
    report["total_debit"] = f"{sum((r.amount or ZERO for r in parsed.results), ZERO):.2f}"
    record = StatementImport.objects.create(
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        file_name=name, file_sha256=sha, format="pain002", account_no=account, lines=report["lines"],
        new=report["new"], duplicate=report["duplicate"], rejected=report["rejected"], report=report,
    )
    report["import_id"] = record.pk
    return report
