"""import_policies: branches, products and policies files, upserted by key.

Policies go through a COPY into a temporary staging table and a handful of set-based
statements (agents, customers, policies with their status history), so a million rows take
one pass; every UPDATE of an existing row is written to the trail by pghistory's triggers,
and each file gets one audit Operation with its counts.
"""

import datetime as dt
import logging
import time
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import connection, transaction

from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from policies.models import Branch, PolicyImport, Product
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
    ("paid_to_date", "date"), ("status", "text"), ("lapse_date", "date"),
]
STAGE_NAMES = [name for name, _type in STAGE_COLUMNS]


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
    report = {"as_of": as_of.isoformat(), "files": []}
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
    product_codes = set(Product.objects.values_list("code", flat=True))
    branch_codes = set(Branch.objects.values_list("code", flat=True))
    staged: dict[str, tuple[int, dict]] = {}
    validate_start = time.perf_counter()
    for line, record in feed.records():
        report["rows"] += 1
        key = (record.get("policy_no") or "").strip()
        try:
            clean = row_rules.policy_row_clean(record, as_of=as_of, product_codes=product_codes,
                                              branch_codes=branch_codes)
        except FieldError as exc:
            report["errors"].append(_error(line, key, exc.column, exc.reason))
            continue
        for warning in clean.warnings:
            report["warnings"].append(_error(line, key, warning.column, warning.reason))
        previous = staged.get(key)
        if previous is not None:
            report["errors"].append(
                _error(previous[0], key, "policy_no", f"the same policy_no appears again on line {line}; "
                       "the later line is imported")
            )
        staged[key] = (line, clean.values)
    timing_log.debug("policies.timing parse+validate %.3fs", time.perf_counter() - validate_start)
    counts = policy_rows_upsert(rows=(dict(values, line=line) for line, values in staged.values()), as_of=as_of)
    report["created"] = counts["created"]
    report["updated"] = counts["updated"]
    report["unchanged"] = len(staged) - counts["created"] - counts["updated"]
    report["rejected"] = len(report["errors"])
    report["in_force_past_grace"] = counts["in_force_past_grace"]
    if counts["in_force_past_grace"]:
        report["warnings"].append(_error(
            0, "", "status", f"{counts['in_force_past_grace']} policies arrive in_force with an installment "
            "unpaid past its grace period; the next nightly run lapses them, dated by the rule"))


def policy_rows_upsert(*, rows: Iterable[dict], as_of: dt.date, source: str = "feed") -> dict:
    """Stage clean policy rows with COPY and upsert them set-based. Call inside a transaction.

    Rows need every STAGE_NAMES key. Returns counts: created, updated, status_changes.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS policy_stage ({}) ON COMMIT DROP".format(
                ", ".join(f"{name} {kind}" for name, kind in STAGE_COLUMNS)
            )
        )
        cursor.execute("TRUNCATE policy_stage")
        raw = cursor.cursor
        with phase_timer("copy"), raw.copy(f"COPY policy_stage ({', '.join(STAGE_NAMES)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in STAGE_NAMES])
        with phase_timer("analyze"):
            cursor.execute("ANALYZE policy_stage")
        for name, statement in (("agents", AGENTS_UPSERT), ("holders", HOLDERS_UPSERT), ("insureds", INSUREDS_INSERT)):
            with phase_timer(name):
                cursor.execute(statement)
        with phase_timer("policies"):
            cursor.execute(POLICIES_UPSERT, {"as_of": as_of, "source": source})
            created, updated, status_changes = cursor.fetchone()
        with phase_timer("past_grace"):
            cursor.execute(IN_FORCE_PAST_GRACE, {"as_of": as_of})
            (past_grace,) = cursor.fetchone()
    return {"created": created, "updated": updated, "status_changes": status_changes,
            "in_force_past_grace": past_grace}


# An agent's last line in the file wins; an empty name never blanks a known one.
AGENTS_UPSERT = """
WITH src AS (
    SELECT DISTINCT ON (s.agent_code) s.agent_code, s.agent_name, s.agent_status, b.id AS branch_id
    FROM policy_stage s JOIN policies_branch b ON b.code = s.branch_code
    WHERE s.agent_code <> ''
    ORDER BY s.agent_code, s.line DESC
)
INSERT INTO policies_agent AS a (code, name, status, branch_id)
SELECT agent_code, agent_name, agent_status, branch_id FROM src
ON CONFLICT (code) DO UPDATE
SET name = COALESCE(NULLIF(EXCLUDED.name, ''), a.name), status = EXCLUDED.status
WHERE (a.name, a.status) IS DISTINCT FROM (COALESCE(NULLIF(EXCLUDED.name, ''), a.name), EXCLUDED.status)
"""

# A holder's last line wins for the contact fields the feed carries; ours (channel
# preference, opt-outs, contact validity) are never touched by the feed.
HOLDERS_UPSERT = """
WITH src AS (
    SELECT DISTINCT ON (holder_id_type, holder_id_no)
        holder_name, holder_id_type, holder_id_no, holder_birth_date, holder_gender, holder_phone,
        holder_email, holder_address
    FROM policy_stage
    ORDER BY holder_id_type, holder_id_no, line DESC
)
INSERT INTO policies_customer AS c (name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT holder_name, holder_id_type, holder_id_no, holder_birth_date, holder_gender, holder_phone,
    holder_email, holder_address, '', 'zh-hans', '{}', '{}', now()
FROM src
ON CONFLICT (id_type, id_no) DO UPDATE
SET name = EXCLUDED.name, birth_date = COALESCE(EXCLUDED.birth_date, c.birth_date),
    gender = COALESCE(NULLIF(EXCLUDED.gender, ''), c.gender), phone = EXCLUDED.phone,
    email = EXCLUDED.email, address = EXCLUDED.address, updated_at = now()
WHERE (c.name, c.birth_date, c.gender, c.phone, c.email, c.address) IS DISTINCT FROM
    (EXCLUDED.name, COALESCE(EXCLUDED.birth_date, c.birth_date), COALESCE(NULLIF(EXCLUDED.gender, ''), c.gender),
     EXCLUDED.phone, EXCLUDED.email, EXCLUDED.address)
"""

# An insured who is nobody's holder is created with what the feed says of an insured.
INSUREDS_INSERT = """
INSERT INTO policies_customer (name, id_type, id_no, birth_date, gender, phone, email, address,
    preferred_channel, language, opt_outs, contact_validity, updated_at)
SELECT DISTINCT ON (insured_id_type, insured_id_no) insured_name, insured_id_type, insured_id_no,
    insured_birth_date, '', '', '', '', '', 'zh-hans', '{}', '{}', now()
FROM policy_stage
ORDER BY insured_id_type, insured_id_no, line DESC
ON CONFLICT (id_type, id_no) DO NOTHING
"""

# After a policy's first import its money state is ours: a different paid_to_date in the feed
# is kept in feed_paid_to_date for the consistency report, never applied.
# A first import writes the status history from the feed (in force from issue; lapsed from
# lapse_date; other statuses on the business date); a later status change takes effect on the
# business date (policy-feed.md, Status dates).
POLICIES_UPSERT = """
WITH prior AS (
    SELECT p.id, p.status FROM policies_policy p JOIN policy_stage s ON s.policy_no = p.policy_no
),
src AS (
    SELECT s.*, pr.id AS product_id, b.id AS branch_id, a.id AS agent_id, h.id AS holder_id, i.id AS insured_id
    FROM policy_stage s
    JOIN policies_product pr ON pr.code = s.product_code
    JOIN policies_branch b ON b.code = s.branch_code
    LEFT JOIN policies_agent a ON a.code = NULLIF(s.agent_code, '')
    JOIN policies_customer h ON h.id_type = s.holder_id_type AND h.id_no = s.holder_id_no
    JOIN policies_customer i ON i.id_type = s.insured_id_type AND i.id_no = s.insured_id_no
),
up AS (
    INSERT INTO policies_policy AS p (policy_no, product_id, branch_id, agent_id, holder_id, insured_id,
        issue_date, frequency, premium_term_years, modal_premium, sum_assured, payment_method, bank_name,
        bank_account, bank_account_name, paid_to_date, feed_paid_to_date, status, lapse_date,
        created_at, updated_at)
    SELECT policy_no, product_id, branch_id, agent_id, holder_id, insured_id, issue_date, frequency,
        premium_term_years, modal_premium, sum_assured, payment_method, bank_name, bank_account,
        bank_account_name, paid_to_date, NULL, status, lapse_date, now(), now()
    FROM src
    ON CONFLICT (policy_no) DO UPDATE
    SET product_id = EXCLUDED.product_id, branch_id = EXCLUDED.branch_id, agent_id = EXCLUDED.agent_id,
        holder_id = EXCLUDED.holder_id, insured_id = EXCLUDED.insured_id, issue_date = EXCLUDED.issue_date,
        frequency = EXCLUDED.frequency, premium_term_years = EXCLUDED.premium_term_years,
        modal_premium = EXCLUDED.modal_premium, sum_assured = EXCLUDED.sum_assured,
        payment_method = EXCLUDED.payment_method, bank_name = EXCLUDED.bank_name,
        bank_account = EXCLUDED.bank_account, bank_account_name = EXCLUDED.bank_account_name,
        feed_paid_to_date = NULLIF(EXCLUDED.paid_to_date, p.paid_to_date),
        status = EXCLUDED.status, lapse_date = EXCLUDED.lapse_date, updated_at = now()
    WHERE (p.product_id, p.branch_id, p.agent_id, p.holder_id, p.insured_id, p.issue_date, p.frequency,
           p.premium_term_years, p.modal_premium, p.sum_assured, p.payment_method, p.bank_name,
           p.bank_account, p.bank_account_name, p.feed_paid_to_date, p.status, p.lapse_date)
        IS DISTINCT FROM
          (EXCLUDED.product_id, EXCLUDED.branch_id, EXCLUDED.agent_id, EXCLUDED.holder_id,
           EXCLUDED.insured_id, EXCLUDED.issue_date, EXCLUDED.frequency, EXCLUDED.premium_term_years,
           EXCLUDED.modal_premium, EXCLUDED.sum_assured, EXCLUDED.payment_method, EXCLUDED.bank_name,
           EXCLUDED.bank_account, EXCLUDED.bank_account_name, NULLIF(EXCLUDED.paid_to_date, p.paid_to_date),
           EXCLUDED.status, EXCLUDED.lapse_date)
    RETURNING p.id, p.status, p.issue_date, p.lapse_date, (p.xmax = 0) AS inserted
),
history AS (
    INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule,
        reason, void_reason)
    SELECT up.id, 'in_force', up.issue_date, now(), %(source)s, 'feed_first_import', '', ''
    FROM up WHERE up.inserted
    UNION ALL
    SELECT up.id, up.status, CASE WHEN up.status = 'lapsed' THEN up.lapse_date ELSE %(as_of)s END, now(),
        %(source)s, 'feed_first_import', '', ''
    FROM up WHERE up.inserted AND up.status <> 'in_force'
    UNION ALL
    SELECT up.id, up.status, %(as_of)s, now(), %(source)s, 'feed_status_change', 'was ' || prior.status, ''
    FROM up JOIN prior ON prior.id = up.id WHERE NOT up.inserted AND prior.status <> up.status
    RETURNING 1
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), (SELECT count(*) FROM history)
FROM up
"""

# The feed may say in_force for a policy whose first unpaid installment's grace ended long
# ago (policy-feed.md): accepted, counted here, lapsed by the next nightly run.
IN_FORCE_PAST_GRACE = """
SELECT count(*) FROM policy_stage s JOIN policies_product pr ON pr.code = s.product_code
WHERE s.status = 'in_force' AND s.paid_to_date + pr.grace_days < %(as_of)s
  AND s.paid_to_date < s.issue_date + make_interval(years => s.premium_term_years)
"""
