"""import_policies: branches, products and policies files, upserted by key.

Policies go through a COPY into a temporary staging table and a handful of set-based
statements (agents, customers, policies with their status history), so a million rows take
one pass; every UPDATE of an existing row is written to the trail by pghistory's triggers,
and each file gets one audit Operation with its counts.

The rows are read, checked and formatted one by one as they stream into COPY (Python works
while PostgreSQL reads); the statements touch only new or changed rows; a first load into an
empty database takes a bulk path (policy_lines_upsert). Phase timings go to the DEBUG log of
`policies.timing` (bench/run.py reads them).
"""

import datetime as dt
import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from audit.services import audit_context, operation_record
from core.copy import NULL, copy_field
from core.errors import ApplicationError
from policies import lifecycle
from policies.models import Branch, PolicyImport, PolicyStatus, Product
from policies.services import rows as row_rules
from policies.services.branches import branch_paths_refresh
from policies.services.feed import FeedFile, feed_file_read
from policies.validation import FieldError

timing_log = logging.getLogger("policies.timing")


@contextmanager
def phase_timer(name: str):
    """Log how long a phase took (DEBUG, logger policies.timing; bench/run.py reads these)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timing_log.debug("policies.timing %s %.3fs", name, time.perf_counter() - start)


KIND_ORDER = {"branches": 0, "products": 1, "policies": 2}

STAGE_COLUMNS = [
    ("line", "integer"), ("policy_no", "text"), ("product_code", "text"), ("branch_code", "text"),
    ("agent_code", "text"), ("agent_name", "text"), ("agent_status", "text"),
    ("holder_name", "text"), ("holder_id_type", "text"), ("holder_id_no", "text"),
    ("holder_birth_date", "date"), ("holder_gender", "text"), ("holder_phone", "text"),
    ("holder_email", "text"), ("holder_address", "text"), ("insured_name", "text"),
    ("insured_id_type", "text"), ("insured_id_no", "text"), ("insured_birth_date", "date"),
    ("issue_date", "date"), ("frequency", "text"), ("premium_term_years", "smallint"),
    ("modal_premium", "numeric(14,2)"), ("sum_assured", "numeric(14,2)"), ("payment_method", "text"),
    ("bank_name", "text"), ("bank_account", "text"), ("bank_account_name", "text"),
    ("paid_to_date", "date"), ("status", "text"), ("lapse_date", "date"), ("sales_channel", "text"),
]
STAGE_NAMES = [name for name, _type in STAGE_COLUMNS]
# Optional: a number the producer of the staging rows gives each distinct customer (ID type and
# number) of the load, the same for every row that names it; a first load into an empty
# customers table takes the customers' ids from it instead of looking them up.
REF_COLUMNS = [("holder_ref", "integer"), ("insured_ref", "integer")]


def _error(line: int, key: str, column: str, reason: str) -> dict:
    return {"line": line, "key": key, "column": column, "reason": reason}


def _file_report(feed: FeedFile) -> dict:
    return {"file": feed.name, "kind": feed.kind, "rows": 0, "created": 0, "updated": 0, "unchanged": 0,
            "rejected": 0, "errors": [], "warnings": []}


def policies_import(*, files: Iterable[tuple[str, bytes]], as_of: dt.date, actor=None) -> dict:
    """Import any subset of the three feed files in any order; returns the import_policies
    report of interfaces.md. An unreadable file raises ApplicationError before anything is
    written; a bad row is reported and the others are imported."""
    with phase_timer("read"):
        feeds = [feed_file_read(name=name, data=data) for name, data in files]
    feeds.sort(key=lambda f: KIND_ORDER[f.kind])
    report: dict[str, Any] = {"as_of": as_of.isoformat(), "files": []}
    for feed in feeds:
        importer = {"branches": _import_branches, "products": _import_products, "policies": _import_policies}
        file_report = _file_report(feed)
        job = f"import_policies:{feed.name}"
        with transaction.atomic(), audit_context(job=job, as_of=as_of.isoformat(),
                                                  **_actor_context(actor)):
            importer[feed.kind](feed, file_report, as_of=as_of)
            PolicyImport.objects.create(
                actor=_real_user(actor), as_of=as_of, file_name=feed.name, kind=feed.kind,
                **{k: file_report[k] for k in ("rows", "created", "updated", "unchanged", "rejected")},
                report=file_report,
            )
            operation_record(
                action="import_policies", actor=actor, job=job, object_type=feed.kind, object_ref=feed.name,
                details={k: file_report[k] for k in ("rows", "created", "updated", "unchanged", "rejected")},
            )
            body_end = time.perf_counter()
        timing_log.debug("policies.timing commit:%s %.3fs", feed.kind, time.perf_counter() - body_end)
        report["files"].append(file_report)
    return report


def _real_user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _actor_context(actor) -> dict:
    user = _real_user(actor)
    return {"user": user.pk, "username": user.get_username()} if user else {}


def _missing_columns(feed: FeedFile, required: list[str], report: dict) -> bool:
    missing = [c for c in required if c not in feed.header]
    if missing:
        raise ApplicationError(f"{feed.name}: the header lacks the required column(s) {', '.join(missing)}")
    return False


def _import_branches(feed: FeedFile, report: dict, *, as_of: dt.date) -> None:
    _missing_columns(feed, ["branch_code", "name"], report)
    records = list(feed.records())
    known = set(Branch.objects.values_list("code", flat=True)) | {
        (r.get("branch_code") or "").strip() for _line, r in records
    }
    clean: list[tuple[int, dict]] = []
    for line, record in records:
        report["rows"] += 1
        try:
            clean.append((line, row_rules.branch_row_clean(record, known_codes=known)))
        except FieldError as exc:
            report["errors"].append(_error(line, (record.get("branch_code") or "").strip(), exc.column, exc.reason))
    existing = {b.code: b for b in Branch.objects.all()}
    created_now = set()
    for _line, values in clean:  # create first, so a parent may come later in the file
        if values["code"] not in existing:
            existing[values["code"]] = Branch.objects.create(code=values["code"], name=values["name"])
            created_now.add(values["code"])
    for _line, values in clean:
        branch = existing[values["code"]]
        parent = existing.get(values["parent_code"]) if values["parent_code"] else None
        fields = {"name": values["name"], "province": values["province"], "city": values["city"],
                  "parent_id": parent.pk if parent else None}
        changed = [k for k, value in fields.items() if getattr(branch, k) != value]
        for k in changed:
            setattr(branch, k, fields[k])
        if changed:
            branch.save(update_fields=changed)
        if values["code"] in created_now:
            report["created"] += 1
        else:
            report["updated" if changed else "unchanged"] += 1
    branch_paths_refresh()
    report["rejected"] = len(report["errors"])


def _import_products(feed: FeedFile, report: dict, *, as_of: dt.date) -> None:
    _missing_columns(feed, ["product_code", "name", "kind"], report)
    existing = {p.code: p for p in Product.objects.all()}
    for line, record in feed.records():
        report["rows"] += 1
        try:
            values = row_rules.product_row_clean(record)
        except FieldError as exc:
            report["errors"].append(_error(line, (record.get("product_code") or "").strip(), exc.column, exc.reason))
            continue
        product = existing.get(values["code"])
        if product is None:
            existing[values["code"]] = Product.objects.create(**values)
            report["created"] += 1
            continue
        changed = [k for k, value in values.items() if getattr(product, k) != value]
        for k in changed:
            setattr(product, k, values[k])
        if changed:
            product.save(update_fields=changed)
        report["updated" if changed else "unchanged"] += 1
    report["rejected"] = len(report["errors"])


def _import_policies(feed: FeedFile, report: dict, *, as_of: dt.date) -> None:
    _missing_columns(feed, ["policy_no"], report)
    cleaner = row_rules.PolicyRowCleaner(
        header=feed.header, as_of=as_of, product_codes=set(Product.objects.values_list("code", flat=True)),
        branch_codes=set(Branch.objects.values_list("code", flat=True)),
    )
    key_index = feed.header.index("policy_no")
    errors, warnings = report["errors"], report["warnings"]
    seen: dict[str, int] = {}  # policy_no -> line of its last clean row
    superseded: list[int] = []  # lines of clean rows a later line of the same policy_no replaces
    refs: dict[str, dict[str, int]] = {}  # ID type -> ID number -> the customer's number in this load (REF_COLUMNS)

    counter = itertools.count(1)

    def stage_lines() -> Iterator[str]:
        """Read, check and format each row as it goes to COPY: PostgreSQL reads the staging
        rows while Python checks the next ones."""
        clean = cleaner.clean
        rows = 0
        for line, cells in feed.rows():
            rows += 1
            key = cells[key_index].strip() if len(cells) > key_index else ""
            try:
                values, row_warnings = clean(cells)
            except FieldError as exc:
                errors.append(_error(line, key, exc.column, exc.reason))
                continue
            for warning in row_warnings:
                warnings.append(_error(line, key, warning.column, warning.reason))
            previous = seen.get(key)
            if previous is not None:
                errors.append(_error(previous, key, "policy_no", f"the same policy_no appears again on line {line}; "
                                     "the later line is imported"))
                superseded.append(previous)
            seen[key] = line
            numbers = refs.get(values[7]) or refs.setdefault(values[7], {})
            holder_ref = numbers.get(values[8]) or numbers.setdefault(values[8], next(counter))
            if values[16] == values[8] and values[15] == values[7]:
                insured_ref = holder_ref
            else:
                numbers = refs.get(values[15]) or refs.setdefault(values[15], {})
                insured_ref = numbers.get(values[16]) or numbers.setdefault(values[16], next(counter))
            yield stage_text(line, values, holder_ref, insured_ref)
        report["rows"] = rows

    counts = policy_lines_upsert(lines=stage_lines(), as_of=as_of, superseded=superseded, customer_refs=True)
    report["created"] = counts["created"]
    report["updated"] = counts["updated"]
    report["unchanged"] = len(seen) - counts["created"] - counts["updated"]
    report["rejected"] = len(report["errors"])
    report["in_force_past_grace"] = counts["in_force_past_grace"]
    report["status_not_applied"] = counts["status_not_applied"]
    if counts["status_not_applied"]:
        report["warnings"].append(_error(
            0, "", "status", f"{counts['status_not_applied']} policies: the feed's status differs from ours and is "
            "not an outcome the core system owns; ours is kept and the difference is listed in the consistency "
            "report"))
    if counts["in_force_past_grace"]:
        report["warnings"].append(_error(
            0, "", "status", f"{counts['in_force_past_grace']} policies arrive in_force with an installment "
            "unpaid past its grace period; the next nightly run lapses them, dated by the rule"))


def stage_line(row: dict) -> str:
    """One staging row (a dict with every STAGE_NAMES key, clean values) as a COPY text line."""
    return "\t".join([copy_field(row[name]) for name in STAGE_NAMES]) + "\n"


def _iso(date: dt.date | None) -> str:
    return NULL if date is None else date.isoformat()


def stage_text(line: int, values: tuple, holder_ref: int | None = None, insured_ref: int | None = None) -> str:
    """A COPY text line from a line number and PolicyRowCleaner's values (STAGE_NAMES order),
    and the customer numbers (REF_COLUMNS) if given."""
    (policy_no, product_code, branch_code, agent_code, agent_name, agent_status, holder_name, holder_id_type,
     holder_id_no, holder_birth_date, holder_gender, holder_phone, holder_email, holder_address, insured_name,
     insured_id_type, insured_id_no, insured_birth_date, issue_date, frequency, premium_term_years, modal_premium,
     sum_assured, payment_method, bank_name, bank_account, bank_account_name, paid_to_date, status,
     lapse_date, sales_channel) = values
    text = (f"{line}\t{policy_no}\t{product_code}\t{branch_code}\t{agent_code}\t{agent_name}\t{agent_status}\t"
            f"{holder_name}\t{holder_id_type}\t{holder_id_no}\t{_iso(holder_birth_date)}\t{holder_gender}\t"
            f"{holder_phone}\t{holder_email}\t{holder_address}\t{insured_name}\t{insured_id_type}\t{insured_id_no}\t"
            f"{_iso(insured_birth_date)}\t{issue_date.isoformat()}\t{frequency}\t{premium_term_years}\t"
            f"{str(modal_premium)}\t{str(sum_assured)}\t{payment_method}\t{bank_name}\t{bank_account}\t"
            f"{bank_account_name}\t{paid_to_date.isoformat()}\t{status}\t{_iso(lapse_date)}\t{sales_channel}")
    # Only the NULL markers may hold a backslash, only the separators a tab; else escape field by field.
    if (text.count("\t") != 31 or "\n" in text or "\r" in text
            or text.count("\\") != (holder_birth_date is None) + (insured_birth_date is None) + (lapse_date is None)):
        text = "\t".join([str(line), *map(copy_field, values)])
    if holder_ref is not None:
        return f"{text}\t{holder_ref}\t{insured_ref}\n"
    return text + "\n"


# A first load of at least this many policies into an empty policies table takes the bulk path.
BULK_MIN_ROWS = 50_000
# The bulk path drops the foreign keys from policies and their status history into these
# tables (not the one to users, whose table it would lock: a null voided_by costs little).
BULK_FOREIGN_KEY_TARGETS = ["policies_policy", "policies_customer", "policies_product", "policies_branch",
                            "policies_agent"]
# Memory for the sorts and hash joins over the staging table (set_config local: this transaction only).
WORK_MEM = "256MB"
MAINTENANCE_WORK_MEM = "512MB"
_COPY_BATCH = 2000


def policy_rows_upsert(*, rows: Iterable[dict], as_of: dt.date, source: str = "feed") -> dict:
    """Stage clean policy rows with COPY and upsert them set-based. Call inside a transaction.

    Rows need every STAGE_NAMES key. Returns counts: created, updated, status_changes (history
    rows written), status_not_applied (policies whose differing feed status is newly listed in the
    consistency report), in_force_past_grace.
    """
    return policy_lines_upsert(lines=(stage_line(row) for row in rows), as_of=as_of, source=source)


def policy_lines_upsert(*, lines: Iterable[str], as_of: dt.date, source: str = "feed",
                        superseded: list[int] | None = None, customer_refs: bool = False) -> dict:
    """policy_rows_upsert of rows already in COPY text form (stage_line, stage_text), streamed
    into COPY as they come. `superseded` may fill up while `lines` is read: staging lines that a
    later line of the same policy replaces, removed before the upsert. With `customer_refs` the
    lines end with the REF_COLUMNS. Call inside a transaction.

    The statements send only new or changed rows to the upserts, so a re-sent file neither
    locks nor rewrites anything. A first load (an empty policies table, at least BULK_MIN_ROWS
    rows) takes the bulk path: the secondary indexes, unique constraints and foreign keys of
    the tables it fills (policies and their status history; customers too when that table is
    empty) are dropped for the load and created again after it, from their definitions in the
    catalog: one sort per index and one join per foreign key instead of work for every row. The
    tables are empty and locked by then, so plain INSERTs replace the ON CONFLICT upserts.
    The bulk path keeps those tables and the ones they refer to (products, branches, agents)
    locked until the transaction ends.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true), set_config('maintenance_work_mem', %s, true)",
                       [WORK_MEM, MAINTENANCE_WORK_MEM])
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS policy_stage ({}) ON COMMIT DROP".format(
                ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS + REF_COLUMNS)
            )
        )
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS policy_stage_holder_repeats (holder_id_type text, holder_id_no text, "
                       "line integer) ON COMMIT DROP")
        cursor.execute("TRUNCATE policy_stage, policy_stage_holder_repeats")
        staged = _copy_lines(cursor, lines, STAGE_NAMES + [name for name, _type in REF_COLUMNS] * customer_refs)
        if superseded:
            with phase_timer("superseded"):
                cursor.execute("DELETE FROM policy_stage WHERE line = ANY(%s)", [superseded])
                staged -= cursor.rowcount
        with phase_timer("analyze_stage"):
            cursor.execute("ANALYZE policy_stage")
        bulk_policies = (staged >= BULK_MIN_ROWS and not _exists(cursor, "policies_policy")
                         and _may_alter(cursor, ["policies_policy", "policies_policystatuschange"]))
        bulk_customers = (bulk_policies and not _exists(cursor, "policies_customer")
                          and _may_alter(cursor, ["policies_customer"]))
        restore: list[tuple[str, str]] = []
        if bulk_policies:
            with phase_timer("bulk:drop"):
                tables = ["policies_policy", "policies_policystatuschange"]
                restore = _bulk_load_begin(
                    cursor, tables=[*tables, "policies_customer"] if bulk_customers else tables,
                    foreign_keys_from=tables, foreign_keys_into=BULK_FOREIGN_KEY_TARGETS)
        with phase_timer("agents"):
            cursor.execute(AGENTS_UPSERT)
        # Into an empty customers table with numbered customers, a customer's id is the next
        # free id of its sequence plus its number (base + ref): no lookups by ID number later.
        with_ids = bulk_customers and customer_refs
        base = None
        if with_ids:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('policies_customer', 'id')) - 1")
            (base,) = cursor.fetchone()
        with phase_timer("holders"):
            cursor.execute(HOLDER_REPEATS)
            cursor.execute("ANALYZE policy_stage_holder_repeats")
            if with_ids:
                cursor.execute(HOLDERS_INSERT_WITH_IDS, {"base": base})
            else:
                cursor.execute(HOLDERS_INSERT_INTO_EMPTY if bulk_customers else HOLDERS_UPSERT)
        # the application role may not ANALYZE a table it does not own: rd_analyze is the owner's
        # function for the few tables this path writes (core/sql/grants.sql)
        if cursor.rowcount >= BULK_MIN_ROWS and not with_ids:  # the next plans need the customers' size
            with phase_timer("analyze_customers"):
                cursor.execute("SELECT rd_analyze(%s)", ["policies_customer"])
        with phase_timer("insureds"):
            if with_ids:
                cursor.execute(INSUREDS_INSERT_WITH_IDS, {"base": base})
            else:
                cursor.execute(INSUREDS_INSERT if bulk_customers else INSUREDS_INSERT + INSUREDS_ON_CONFLICT)
        if with_ids:
            cursor.execute("SELECT setval(pg_get_serial_sequence('policies_customer', 'id'), "
                           "(SELECT max(id) FROM policies_customer))")
        with phase_timer("policies"):
            statement = (POLICIES_UPSERT if not bulk_policies else POLICIES_INSERT_WITH_IDS if with_ids
                         else POLICIES_INSERT_INTO_EMPTY)
            cursor.execute(statement, {"as_of": as_of, "source": source, "base": base, **STATUS_PARAMS})
            created, updated, status_changes, status_not_applied = cursor.fetchone()
        with phase_timer("past_grace"):
            cursor.execute(IN_FORCE_PAST_GRACE, {"as_of": as_of, **STATUS_PARAMS})
            (past_grace,) = cursor.fetchone()
        if bulk_policies:
            _bulk_load_end(cursor, restore)
            with phase_timer("bulk:analyze"):
                # the agents too: never analysed, a migration's 4,000 were planned as 5, and the first
                # night's orphans step read every active agent's policies by index (RESULTS part 27)
                cursor.execute("SELECT rd_analyze(%s)", ["policies_agent"])
                cursor.execute("SELECT rd_analyze(%s)", ["policies_policy"])
                cursor.execute("SELECT rd_analyze(%s)", ["policies_policystatuschange"])
                if with_ids:
                    cursor.execute("SELECT rd_analyze(%s)", ["policies_customer"])
    return {"created": created, "updated": updated, "status_changes": status_changes,
            "status_not_applied": status_not_applied, "in_force_past_grace": past_grace}


def _copy_lines(cursor, lines: Iterable[str], columns: list[str]) -> int:
    """COPY the lines into policy_stage, a few thousand per write; returns how many."""
    staged = 0
    send = 0.0
    start = time.perf_counter()
    with cursor.cursor.copy(f"COPY policy_stage ({', '.join(columns)}) FROM STDIN") as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) == _COPY_BATCH:
                sent = time.perf_counter()
                copy.write("".join(batch))
                send += time.perf_counter() - sent
                staged += _COPY_BATCH
                batch.clear()
        staged += len(batch)
        sent = time.perf_counter()
        if batch:
            copy.write("".join(batch))
    send += time.perf_counter() - sent  # with the end of COPY: PostgreSQL reading the rest
    # Python making the rows (reading, checking, formatting) and PostgreSQL reading them overlap.
    timing_log.debug("policies.timing rows:python %.3fs", time.perf_counter() - start - send)
    timing_log.debug("policies.timing copy:send+wait %.3fs", send)
    return staged


def _exists(cursor, table: str) -> bool:
    cursor.execute(f"SELECT EXISTS (SELECT FROM {table})")
    return cursor.fetchone()[0]


def _may_alter(cursor, tables: list[str]) -> bool:
    """Whether this database user owns the tables (so may drop and create their indexes and
    constraints) and may refer to the bulk path's foreign-key targets; if not, the ordinary
    path is taken."""
    cursor.execute(
        "SELECT bool_and(pg_has_role(c.relowner, 'USAGE')) AND bool_and(has_table_privilege(t, 'REFERENCES')) "
        "FROM pg_class c, unnest(%s::regclass[]) AS t WHERE c.oid = ANY(%s::regclass[])",
        [BULK_FOREIGN_KEY_TARGETS, tables],
    )
    return bool(cursor.fetchone()[0])


def _bulk_load_begin(cursor, *, tables: list[str], foreign_keys_from: list[str],
                     foreign_keys_into: list[str]) -> list[tuple[str, str]]:
    """Drop the secondary indexes and unique constraints of `tables` (primary keys stay, and
    any unique key a foreign key relies on) and the foreign keys from `foreign_keys_from` into
    `foreign_keys_into`; returns (name, statement) pairs that create them again, exactly as the
    catalog had them: unique constraints and indexes first, then foreign keys."""
    cursor.execute(
        """
        SELECT c.contype, c.conname,
               format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                      pg_get_constraintdef(c.oid)),
               format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname)
        FROM pg_constraint c
        WHERE (c.contype = 'f' AND c.conrelid = ANY(%(from)s::regclass[])
               AND c.confrelid = ANY(%(into)s::regclass[]))
           OR (c.contype = 'u' AND c.conrelid = ANY(%(tables)s::regclass[])
               AND NOT EXISTS (SELECT FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid))
        ORDER BY c.conname
        """,
        {"tables": tables, "from": foreign_keys_from, "into": foreign_keys_into},
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
               format('DROP INDEX %%s', i.indexrelid::regclass)
        FROM pg_index i
        WHERE i.indrelid = ANY(%(tables)s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY i.indexrelid
        """,
        {"tables": tables},
    )
    indexes = cursor.fetchall()
    foreign = [(name, create, drop) for kind, name, create, drop in constraints if kind == "f"]
    unique = [(name, create, drop) for kind, name, create, drop in constraints if kind == "u"]
    _check_deferred(cursor)  # PostgreSQL alters no table with pending trigger events
    for _name, _create, drop in [*foreign, *unique, *indexes]:
        cursor.execute(drop)
    return ([(f"unique:{name}", create) for name, create, _drop in unique]
            + [(f"index:{name}", create) for name, create, _drop in indexes]
            + [(f"fk:{name}", create) for name, create, _drop in foreign])


def _check_deferred(cursor) -> None:
    """Run the deferred constraint checks queued so far in this transaction, and defer the
    next ones again (every deferrable constraint of the schema is initially deferred)."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _bulk_load_end(cursor, restore: list[tuple[str, str]]) -> None:
    # The foreign keys that stayed (to users) have their checks queued; PostgreSQL alters no
    # table with pending trigger events, so run them now.
    with phase_timer("bulk:fk_checks"):
        _check_deferred(cursor)
    for name, statement in restore:
        with phase_timer(f"restore:{name}"):
            cursor.execute(statement)


# An agent's last line in the file wins; an empty name never blanks a known one.
AGENTS_UPSERT = """
INSERT INTO policies_agent AS a (code, name, status, branch_id)
SELECT s.agent_code, s.agent_name, s.agent_status, b.id
FROM policy_stage s JOIN policies_branch b ON b.code = s.branch_code
WHERE s.line IN (SELECT max(line) FROM policy_stage WHERE agent_code <> '' GROUP BY agent_code)
ON CONFLICT (code) DO UPDATE
SET name = COALESCE(NULLIF(EXCLUDED.name, ''), a.name), status = EXCLUDED.status
WHERE (a.name, a.status) IS DISTINCT FROM (COALESCE(NULLIF(EXCLUDED.name, ''), a.name), EXCLUDED.status)
"""

# A holder's last line wins for the contact fields the feed carries; ours (channel
# preference, opt-outs, contact validity) are never touched by the feed. Most holders appear on
# one line; those on several are listed first (policy_stage_holder_repeats, a small table the planner can
# see is small) with their last line.
HOLDER_REPEATS = """
INSERT INTO policy_stage_holder_repeats (holder_id_type, holder_id_no, line)
SELECT holder_id_type, holder_id_no, max(line) FROM policy_stage
GROUP BY holder_id_type, holder_id_no HAVING count(*) > 1
"""
_HOLDERS_SRC = """
WITH src AS (
    SELECT s.holder_name, s.holder_id_type, s.holder_id_no, s.holder_birth_date, s.holder_gender,
        s.holder_phone, s.holder_email, s.holder_address, s.holder_ref
    FROM policy_stage s
    WHERE NOT EXISTS (SELECT FROM policy_stage_holder_repeats r
                      WHERE r.holder_id_type = s.holder_id_type AND r.holder_id_no = s.holder_id_no)
    UNION ALL
    SELECT s.holder_name, s.holder_id_type, s.holder_id_no, s.holder_birth_date, s.holder_gender,
        s.holder_phone, s.holder_email, s.holder_address, s.holder_ref
    FROM policy_stage s JOIN policy_stage_holder_repeats r ON r.line = s.line
)"""
# Only holders that are new or differ go to the upsert: an unchanged customer is not even locked.
_HOLDERS_CHANGED = """,
changed AS (
    SELECT src.* FROM src
    LEFT JOIN policies_customer c ON c.id_type = src.holder_id_type AND c.id_no = src.holder_id_no
    WHERE c.id IS NULL
       OR (c.name, c.birth_date, c.gender, c.phone, c.email, c.address) IS DISTINCT FROM
          (src.holder_name, COALESCE(src.holder_birth_date, c.birth_date),
           COALESCE(NULLIF(src.holder_gender, ''), c.gender), src.holder_phone, src.holder_email,
           src.holder_address)
)"""
_HOLDERS_INSERT = """
INSERT INTO policies_customer AS c (name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT holder_name, holder_id_type, holder_id_no, holder_birth_date, holder_gender, holder_phone,
    holder_email, holder_address, '', 'zh-hans', '{}', '{}', now()
"""
HOLDERS_UPSERT = _HOLDERS_SRC + _HOLDERS_CHANGED + _HOLDERS_INSERT + """FROM changed
ON CONFLICT (id_type, id_no) DO UPDATE
SET name = EXCLUDED.name, birth_date = COALESCE(EXCLUDED.birth_date, c.birth_date),
    gender = COALESCE(NULLIF(EXCLUDED.gender, ''), c.gender), phone = EXCLUDED.phone,
    email = EXCLUDED.email, address = EXCLUDED.address, updated_at = now()
WHERE (c.name, c.birth_date, c.gender, c.phone, c.email, c.address) IS DISTINCT FROM
    (EXCLUDED.name, COALESCE(EXCLUDED.birth_date, c.birth_date), COALESCE(NULLIF(EXCLUDED.gender, ''), c.gender),
     EXCLUDED.phone, EXCLUDED.email, EXCLUDED.address)
"""
# The bulk path into an empty customers table: every holder is new, nothing to compare with;
# with customer numbers, the ids come from them.
HOLDERS_INSERT_INTO_EMPTY = _HOLDERS_SRC + _HOLDERS_INSERT + "FROM src\n"
HOLDERS_INSERT_WITH_IDS = _HOLDERS_SRC + """
INSERT INTO policies_customer (id, name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT %(base)s::bigint + holder_ref, holder_name, holder_id_type, holder_id_no, holder_birth_date, holder_gender,
    holder_phone, holder_email, holder_address, '', 'zh-hans', '{}', '{}', now()
FROM src
"""

# An insured who is nobody's holder is created with what the feed says of an insured (its last
# line). A row whose insured is its holder has nothing to add: that customer exists by now.
INSUREDS_INSERT = """
INSERT INTO policies_customer (name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT DISTINCT ON (insured_id_no COLLATE "C", insured_id_type COLLATE "C") insured_name, insured_id_type,
    insured_id_no, insured_birth_date, '', '', '', '', '', 'zh-hans', '{}', '{}', now()
FROM policy_stage s
WHERE (s.insured_id_no <> s.holder_id_no OR s.insured_id_type <> s.holder_id_type)
  AND NOT EXISTS (SELECT FROM policies_customer c WHERE c.id_type = s.insured_id_type AND c.id_no = s.insured_id_no)
ORDER BY insured_id_no COLLATE "C", insured_id_type COLLATE "C", line DESC
"""
INSUREDS_ON_CONFLICT = """
ON CONFLICT (id_type, id_no) DO NOTHING
"""
INSUREDS_INSERT_WITH_IDS = """
INSERT INTO policies_customer (id, name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT DISTINCT ON (insured_id_no COLLATE "C", insured_id_type COLLATE "C") %(base)s::bigint + insured_ref,
    insured_name, insured_id_type, insured_id_no, insured_birth_date, '', '', '', '', '', 'zh-hans', '{}', '{}', now()
FROM policy_stage s
WHERE (s.insured_id_no <> s.holder_id_no OR s.insured_id_type <> s.holder_id_type)
  AND NOT EXISTS (SELECT FROM policies_customer c WHERE c.id = %(base)s::bigint + s.insured_ref)
ORDER BY insured_id_no COLLATE "C", insured_id_type COLLATE "C", line DESC
"""

# Status values reach the statements as bound parameters (policies.lifecycle), never as literals.
STATUS_PARAMS: dict[str, Any] = {
    "feed_owned": lifecycle.sql_values(lifecycle.FEED_OWNED),
    "in_force": str(PolicyStatus.IN_FORCE),
    "lapsed": str(PolicyStatus.LAPSED),
}

# After a policy's first import its money state is ours: a different paid_to_date in the feed
# is kept in feed_paid_to_date for the consistency report, never applied.
# So is its lifecycle status (policy-feed.md, "Who owns the status after the first import"): a
# later feed moves it only to an outcome the core system owns (lifecycle.FEED_OWNED; the
# set-based twin of lifecycle.feed_may_set), effective on the business date, and the lapse date
# goes with the lapse. Any other status of the feed that differs from ours (an in_force for a
# policy we lapsed, a lapsed for one in force) is not applied: ours stays with its lapse date,
# and the feed's is kept in feed_status, since the business date of the import that first said
# it, for the consistency report; a feed that agrees again (or an applied outcome) clears it.
# `{n}` is the feed's row (s in the comparison, EXCLUDED in the update), p the policy as it is.
_POLICY_COLUMNS = [
    "product_id", "branch_id", "agent_id", "holder_id", "insured_id", "issue_date", "frequency",
    "premium_term_years", "modal_premium", "sum_assured", "payment_method", "bank_name", "bank_account",
    "bank_account_name", "feed_paid_to_date", "status", "lapse_date", "feed_status", "feed_status_since",
    "sales_channel",
]


def _policy_targets(n: str, ids: str) -> str:
    """What a policy becomes from the feed's row `n` (with the ids of its product, branch, agent,
    holder and insured), p being the policy as it is: _POLICY_COLUMNS' values, in their order."""
    taken = f"({n}.status = p.status OR {n}.status = ANY(%(feed_owned)s))"
    return ",\n        ".join([
        ids,
        *(f"{n}.{column}" for column in ("issue_date", "frequency", "premium_term_years", "modal_premium",
                                          "sum_assured", "payment_method", "bank_name", "bank_account",
                                          "bank_account_name")),
        f"NULLIF({n}.paid_to_date, p.paid_to_date)",
        f"CASE WHEN {taken} THEN {n}.status ELSE p.status END",
        f"CASE WHEN {n}.status <> p.status AND {n}.status = ANY(%(feed_owned)s) THEN NULL ELSE p.lapse_date END",
        f"CASE WHEN {taken} THEN '' ELSE {n}.status END",
        f"CASE WHEN {taken} THEN NULL WHEN {n}.status = p.feed_status THEN p.feed_status_since "
        "ELSE %(as_of)s::date END",
        f"{n}.sales_channel",
    ])


_POLICY_AS_IS = ", ".join(f"p.{column}" for column in _POLICY_COLUMNS)
_POLICY_FROM_FEED = _policy_targets("s", "pr.id, b.id, a.id, h.id, i.id")
_POLICY_FROM_EXCLUDED = _policy_targets(
    "EXCLUDED", "EXCLUDED.product_id, EXCLUDED.branch_id, EXCLUDED.agent_id, EXCLUDED.holder_id, EXCLUDED.insured_id")

# A first import writes the status history from the feed (in force from issue; lapsed from
# lapse_date; other statuses on the business date); a later status change takes effect on the
# business date (policy-feed.md, Status dates).
# Only new or changed policies go to the upsert (src compares with the row as it is): unchanged
# ones are neither locked nor rewritten. Every part of the statement reads the snapshot taken
# before `up` writes, so `prior` is the row a changed policy had.
_POLICIES_SRC = """
WITH src AS (
    SELECT s.*, pr.id AS product_id, b.id AS branch_id, a.id AS agent_id, h.id AS holder_id, i.id AS insured_id
    FROM policy_stage s
    JOIN policies_product pr ON pr.code = s.product_code
    JOIN policies_branch b ON b.code = s.branch_code
    LEFT JOIN policies_agent a ON a.code = NULLIF(s.agent_code, '')
    JOIN policies_customer h ON h.id_type = s.holder_id_type AND h.id_no = s.holder_id_no
    JOIN policies_customer i ON i.id_type = s.insured_id_type AND i.id_no = s.insured_id_no"""
_POLICIES_CHANGED = f"""
    LEFT JOIN policies_policy p ON p.policy_no = s.policy_no
    WHERE p.id IS NULL
       OR ({_POLICY_AS_IS})
          IS DISTINCT FROM
       ({_POLICY_FROM_FEED})"""
_POLICIES_INSERT = """
),
up AS (
    INSERT INTO policies_policy AS p (policy_no, product_id, branch_id, agent_id, holder_id, insured_id,
        issue_date, frequency, premium_term_years, modal_premium, sum_assured, payment_method, bank_name,
        bank_account, bank_account_name, paid_to_date, feed_paid_to_date, status, lapse_date, feed_status,
        feed_status_since, sales_channel, first_imported_on, created_at, updated_at)
    SELECT policy_no, product_id, branch_id, agent_id, holder_id, insured_id, issue_date, frequency,
        premium_term_years, modal_premium, sum_assured, payment_method, bank_name, bank_account,
        bank_account_name, paid_to_date, NULL, status, lapse_date, '', NULL, sales_channel, %(as_of)s::date, now(),
        now()
    FROM src
"""
POLICIES_ON_CONFLICT = f"""
    ON CONFLICT (policy_no) DO UPDATE
    SET ({", ".join(_POLICY_COLUMNS)}, updated_at) = (
        {_POLICY_FROM_EXCLUDED},
        now())
    WHERE ({_POLICY_AS_IS})
        IS DISTINCT FROM (
        {_POLICY_FROM_EXCLUDED})
"""
POLICIES_HISTORY = """
    RETURNING p.id, p.status, p.issue_date, p.lapse_date, p.feed_status, (p.xmax = 0) AS inserted
),
history AS (
    INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule,
        reason, void_reason)
    SELECT up.id, %(in_force)s, up.issue_date, now(), %(source)s, 'feed_first_import', '', ''
    FROM up WHERE up.inserted
    UNION ALL
    SELECT up.id, up.status, CASE WHEN up.status = %(lapsed)s THEN up.lapse_date ELSE %(as_of)s END, now(),
        %(source)s, 'feed_first_import', '', ''
    FROM up WHERE up.inserted AND up.status <> %(in_force)s
    UNION ALL
    SELECT up.id, up.status, %(as_of)s, now(), %(source)s, 'feed_status_change', 'was ' || prior.status, ''
    FROM up JOIN policies_policy prior ON prior.id = up.id WHERE NOT up.inserted AND prior.status <> up.status
    RETURNING 1
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), (SELECT count(*) FROM history),
    (SELECT count(*) FROM up JOIN policies_policy prior ON prior.id = up.id
     WHERE NOT up.inserted AND up.feed_status <> '' AND up.feed_status <> prior.feed_status)
FROM up
"""

POLICIES_UPSERT = _POLICIES_SRC + _POLICIES_CHANGED + _POLICIES_INSERT + POLICIES_ON_CONFLICT + POLICIES_HISTORY
# The bulk path into an empty policies table: every row is new, nothing to compare with; with
# customer numbers, the holder's and insured's ids come from them.
POLICIES_INSERT_INTO_EMPTY = _POLICIES_SRC + _POLICIES_INSERT + POLICIES_HISTORY
POLICIES_INSERT_WITH_IDS = """
WITH src AS (
    SELECT s.*, pr.id AS product_id, b.id AS branch_id, a.id AS agent_id,
        %(base)s::bigint + s.holder_ref AS holder_id, %(base)s::bigint + s.insured_ref AS insured_id
    FROM policy_stage s
    JOIN policies_product pr ON pr.code = s.product_code
    JOIN policies_branch b ON b.code = s.branch_code
    LEFT JOIN policies_agent a ON a.code = NULLIF(s.agent_code, '')""" + _POLICIES_INSERT + POLICIES_HISTORY

# The feed may say in_force for a policy whose first unpaid installment's grace ended long
# ago (policy-feed.md): accepted, counted here, lapsed by the next nightly run.
IN_FORCE_PAST_GRACE = """
SELECT count(*) FROM policy_stage s JOIN policies_product pr ON pr.code = s.product_code
WHERE s.status = %(in_force)s AND s.paid_to_date + pr.grace_days < %(as_of)s
  AND s.paid_to_date < s.issue_date + make_interval(years => s.premium_term_years)
"""
