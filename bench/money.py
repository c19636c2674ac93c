"""Benchmark of the money path: schedules for the whole portfolio, and a bank statement imported
and matched, each beside the minimal bare SQL doing the same work in the same run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_money \
        .venv/bin/python bench/money.py [--policies N] [--lines M] [--runs R] [--reuse]

Set-up (once): the database of DATABASE_URL is dropped, created, migrated (manage.py migrate) and
seeded (manage.py seed_demo --policies N --seed 1 --as-of 2026-11-25). --reuse keeps a database
that already holds exactly N policies. Only a database whose name starts with rd_bench is touched.

Each run (R runs, default 3) starts from that seeded state (installments, payments and their
trail tables truncated, VACUUM ANALYZE, CHECKPOINT) and times:

  schedules_bare_real  bench/sql/schedules_bare.sql: one INSERT ... SELECT into billing_installment
                   (empty); its rows are kept aside, then the table is truncated again
  schedules_bare   the same INSERT into a scratch copy of billing_installment (LIKE ... INCLUDING
                   ALL: no foreign key)
  schedules        billing.services.schedules.installments_extend(as_of=2026-11-25), in process;
                   its rows are compared with both (counts and EXCEPT ALL both ways)
  statement_bare   bench/sql/statement_bare.sql on the real tables in one transaction, its
                   outcome read, then rolled back
  statement        billing.services.statements.statement_import(format="csv",
                   template="cn-online-banking", as_of=2026-11-25) of the same file: parse, store,
                   match, allocate; its outcome must equal the bare SQL's, line by line
  reimport         the same file again: must add nothing

The statement file (M lines, default 100,000; written once, in the first run, from the seeded
portfolio with its fresh schedule): 90% lines pay exactly the modal premium of a policy whose
oldest open installment is that amount, with 保单<policy_no>续期保费 in 摘要 (each policy once); 5%
pay the same way from the policy's registered bank account (an account registered on that policy
only) with no policy number; 5% come from unknown payers (no number, unknown account and name).

Between timed steps: CHECKPOINT (and VACUUM ANALYZE where a step left dead rows), not timed.
Prints one line per step and run, the medians, and a JSON summary as the last line.
"""

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "bench" / "sql"
PY = str(ROOT / ".venv" / "bin" / "python")
AS_OF = dt.date(2026, 11, 25)
HORIZON = dt.date(2027, 12, 25)  # as_of + 13 months
OPEN = ("scheduled", "due", "overdue", "partially_paid")
HEADER = ["交易日期", "收入金额", "币种", "对方户名", "对方账号", "交易流水号", "摘要"]

# what a run leaves behind and the next run clears (the trail tables too: they refuse DELETE, not TRUNCATE)
RESET_TABLES = [
    "billing_allocation", "billing_allocationevent", "billing_assignment", "billing_assignmentevent",
    "billing_payment", "billing_paymentevent", "billing_statementimport", "billing_debitline",
    "billing_debitlineevent", "billing_debitbatch", "billing_installment", "billing_installmentevent",
]


def log(message: str) -> None:
    print(f"[money {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


# -- database plumbing ---------------------------------------------------------------------------

def db_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/rd_bench_money")
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if not name.startswith("rd_bench"):
        raise SystemExit(f"refusing to drop and seed {name!r}: the bench database's name starts with rd_bench")
    return url


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def sql(url: str, statement: str, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def child_env(url: str) -> dict:
    return dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="config.settings.dev", DEBUG="False")


def sql_file(name: str, **variables) -> list[str]:
    """The statements of bench/sql/<name>, psql variables (:'x') replaced by quoted literals."""
    text = (SQL_DIR / name).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    for key, value in variables.items():
        text = text.replace(f":'{key}'", "'" + str(value).replace("'", "''") + "'")
        text = text.replace(f':"{key}"', '"' + str(value).replace('"', '""') + '"')
    return [s.strip() for s in re.split(r";\s*\n", text) if s.strip()]


def machine() -> dict:
    mem_kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1), "python": platform.python_version()}


def setup(url: str, policies: int, reuse: bool) -> dict:
    if reuse:
        try:
            count = sql(url, "SELECT count(*) FROM policies_policy")[0][0]
        except psycopg.OperationalError:
            count = None
        if count == policies:
            log(f"reusing {db_name(url)} with {count} policies")
            return {"seed_seconds": None}
        log(f"cannot reuse {db_name(url)} (policies: {count}); setting up")
    name = db_name(url)
    sql(admin_url(url), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    sql(admin_url(url), f"CREATE DATABASE {name}")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=child_env(url), check=True)
    log(f"seed_demo --policies {policies}")
    start = time.perf_counter()
    subprocess.run([PY, "manage.py", "seed_demo", "--policies", str(policies), "--seed", "1", "--as-of",
                    AS_OF.isoformat(), "--json"], cwd=ROOT, env=child_env(url), check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    log(f"seeded in {seconds:.1f}s")
    return {"seed_seconds": round(seconds, 1)}


def settle(url: str, *tables: str) -> None:
    """VACUUM ANALYZE (the given tables, or all) and CHECKPOINT: not timed, between timed steps."""
    with psycopg.connect(url, autocommit=True) as conn:
        if tables:
            for table in tables:
                conn.execute(f"VACUUM ANALYZE {table}")
        else:
            conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(RESET_TABLES)} RESTART IDENTITY CASCADE")
        conn.execute("DROP TABLE IF EXISTS bench_installment_bare")
        conn.execute("DROP TABLE IF EXISTS bench_installment_real_rows")
    settle(url)


# -- A1: schedules -------------------------------------------------------------------------------

INSTALLMENT_COLUMNS = "policy_id, sequence, due_date, grace_end, amount_due, amount_paid, status, paid_value_date"


def schedules_app() -> tuple[float, int]:
    from billing.services.schedules import installments_extend

    start = time.perf_counter()
    rows = installments_extend(as_of=AS_OF)
    return time.perf_counter() - start, rows


def schedules_bare(url: str, target: str) -> tuple[float, int]:
    """bench/sql/schedules_bare.sql into `target` (the real table, empty, or the scratch copy)."""
    statements = sql_file("schedules_bare.sql", as_of=AS_OF.isoformat(), horizon=HORIZON.isoformat(), target=target)
    *prepare, insert = statements
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in prepare:
            conn.execute(statement)
        conn.execute("CHECKPOINT")
        start = time.perf_counter()
        rows = conn.execute(insert).rowcount  # autocommit: the foreign key checks at commit are included
        return time.perf_counter() - start, rows


def schedules_compare(url: str, other: str) -> dict:
    real, bare, only_real, only_bare = sql(url, f"""
        SELECT (SELECT count(*) FROM billing_installment), (SELECT count(*) FROM {other}),
               (SELECT count(*) FROM (SELECT {INSTALLMENT_COLUMNS} FROM billing_installment EXCEPT ALL
                                      SELECT {INSTALLMENT_COLUMNS} FROM {other}) x),
               (SELECT count(*) FROM (SELECT {INSTALLMENT_COLUMNS} FROM {other} EXCEPT ALL
                                      SELECT {INSTALLMENT_COLUMNS} FROM billing_installment) y)""")[0]
    return {"rows_service": real, "rows_bare": bare, "only_service": only_real, "only_bare": only_bare,
            "same": real == bare and only_real == 0 and only_bare == 0}


# -- A2: statement -------------------------------------------------------------------------------

PICK_SQL = f"""
SELECT p.id, p.policy_no, p.modal_premium, p.bank_account, c.name,
       count(*) OVER (PARTITION BY NULLIF(p.bank_account, '')) AS same_account
FROM policies_policy p
JOIN policies_customer c ON c.id = p.holder_id
JOIN LATERAL (SELECT i.amount_due - i.amount_paid AS owed FROM billing_installment i
              WHERE i.policy_id = p.id AND i.status IN {OPEN} ORDER BY i.sequence LIMIT 1) o ON o.owed = p.modal_premium
WHERE p.status IN ('in_force', 'lapsed', 'deferred')
ORDER BY p.id
"""


def statement_csv(url: str, lines: int, path: Path) -> dict:
    """Write the statement file; returns its make-up."""
    candidates = sql(url, PICK_SQL)
    rng = random.Random(1)
    rng.shuffle(candidates)
    n_account = lines * 5 // 100
    n_unknown = lines * 5 // 100
    n_number = lines - n_account - n_unknown
    by_account = [c for c in candidates if c[3] and c[5] == 1][:n_account]
    taken = {c[0] for c in by_account}
    by_number = [c for c in candidates if c[0] not in taken][:n_number]
    if len(by_number) < n_number or len(by_account) < n_account:
        raise SystemExit(f"the portfolio has too few policies for {lines} lines "
                         f"({len(by_number)} by number, {len(by_account)} by account)")
    rows = []
    for _id, policy_no, premium, account, name, _same in by_number:
        rows.append((premium, name, account or f"62125{rng.randrange(10**14):014d}", f"保单{policy_no}续期保费"))
    for _id, _policy_no, premium, account, name, _same in by_account:
        rows.append((premium, name, account, "续期保费"))
    for i in range(n_unknown):
        rows.append((f"{rng.randrange(100, 50000)}.00", f"未知商贸有限公司{i + 1:06d}",
                     f"9559{rng.randrange(10**15):015d}", "货款"))
    rng.shuffle(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for n, (amount, name, account, text) in enumerate(rows, start=1):
            writer.writerow([AS_OF.isoformat(), amount, "CNY", name, account, f"BENCH{n:09d}", text])
    return {"lines": lines, "by_policy_number": n_number, "by_account": n_account, "unknown": n_unknown,
            "bytes": path.stat().st_size}


OUTCOME_SQL = """
SELECT pay.reference, pay.status, pay.reason_code, a.policy_id, a.rule, al.installment_id, al.amount,
       i.status, i.amount_paid, i.paid_value_date
FROM billing_payment pay
LEFT JOIN billing_assignment a ON a.payment_id = pay.id
LEFT JOIN billing_allocation al ON al.assignment_id = a.id
LEFT JOIN billing_installment i ON i.id = al.installment_id
WHERE pay.statement_import_id = %s
"""


def statement_bare(url: str, path: Path, account: str) -> tuple[float, set, int]:
    statements = sql_file("statement_bare.sql", account=account)
    data = path.read_bytes()
    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")
        conn.commit()
        start = time.perf_counter()
        steps = []
        with conn.cursor() as cursor:
            for statement in statements:
                began = time.perf_counter()
                if statement.startswith("COPY"):
                    with cursor.copy(statement) as copy:
                        copy.write(data)
                else:
                    cursor.execute(statement)
                steps.append((round(time.perf_counter() - began, 2), " ".join(statement.split())[:60]))
            seconds = time.perf_counter() - start
            log(f"bare statement steps: {steps}")
            cursor.execute("SELECT currval(pg_get_serial_sequence('billing_statementimport', 'id'))")
            import_id = cursor.fetchone()[0]
            cursor.execute(OUTCOME_SQL, (import_id,))
            outcome = set(cursor.fetchall())
            cursor.execute("SELECT count(*) FROM billing_installmentevent")
            trail = cursor.fetchone()[0]
        conn.rollback()
    return seconds, outcome, trail


def statement_app(path: Path, name: str) -> tuple[float, dict]:
    from billing.services.statements import statement_import

    data = path.read_bytes()
    start = time.perf_counter()
    report = statement_import(name=name, data=data, format="csv", template="cn-online-banking", as_of=AS_OF)
    return time.perf_counter() - start, report


def outcome_of(url: str, import_id: int) -> set:
    return set(sql(url, OUTCOME_SQL, (import_id,)))


# -- main ----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a database already seeded with N policies")
    parser.add_argument("--only", choices=["schedules", "statement"], help="time one part (schedules still run)")
    parser.add_argument("--csv", default="/tmp/rd_bench_money_statement.csv", help="where the statement is written")
    args = parser.parse_args()

    url = db_url()
    sys.path.insert(0, str(ROOT))
    os.environ.update(child_env(url))
    summary = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
               "policies": args.policies, "lines": args.lines, "runs": []}
    summary.update(setup(url, args.policies, args.reuse))
    summary["postgresql"] = sql(url, "SHOW server_version")[0][0]

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    account = settings.MAIN_RECEIVING_ACCOUNT
    path = Path(args.csv)
    for run in range(1, args.runs + 1):
        connection.close()
        reset(url)
        result: dict = {"run": run}
        # A1 schedules: the bare SQL into the real table (its rows kept aside, then truncated), the
        # bare SQL into a scratch copy, the service; the service's rows compared with both
        seconds, rows = schedules_bare(url, "billing_installment")
        result["schedules_bare_real"] = {"seconds": round(seconds, 2), "rows": rows}
        log(f"run {run} schedules (bare SQL, real table)    {seconds:8.2f}s  {rows} rows")
        sql(url, f"CREATE TABLE bench_installment_real_rows AS SELECT {INSTALLMENT_COLUMNS} FROM billing_installment")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE billing_installment RESTART IDENTITY CASCADE")
        settle(url, "billing_installment")
        seconds, rows = schedules_bare(url, "bench_installment_bare")
        result["schedules_bare"] = {"seconds": round(seconds, 2), "rows": rows}
        log(f"run {run} schedules (bare SQL, scratch copy)  {seconds:8.2f}s  {rows} rows")
        sql(url, "CHECKPOINT")
        seconds, rows = schedules_app()
        connection.close()
        result["schedules"] = {"seconds": round(seconds, 2), "rows": rows}
        log(f"run {run} schedules (service)                 {seconds:8.2f}s  {rows} rows")
        result["schedules_compare"] = schedules_compare(url, "bench_installment_bare")
        result["schedules_compare_real"] = schedules_compare(url, "bench_installment_real_rows")
        log(f"run {run} schedules compare, scratch copy {result['schedules_compare']}")
        log(f"run {run} schedules compare, real table   {result['schedules_compare_real']}")
        sql(url, "DROP TABLE bench_installment_bare")
        sql(url, "DROP TABLE bench_installment_real_rows")
        settle(url, "billing_installment")
        if args.only == "schedules":
            summary["runs"].append(result)
            continue
        # A2 statement: the file, the bare SQL (rolled back), the service, the re-import
        if run == 1 or not path.exists():
            summary["statement_file"] = statement_csv(url, args.lines, path)
            log(f"statement file {path}: {summary['statement_file']}")
        seconds, bare_outcome, _trail = statement_bare(url, path, account)
        result["statement_bare"] = {"seconds": round(seconds, 2),
                                    "matched": sum(1 for row in bare_outcome if row[1] == "matched")}
        log(f"run {run} statement (bare SQL) {seconds:8.2f}s  {result['statement_bare']}")
        settle(url, "billing_payment", "billing_installment", "billing_assignment", "billing_allocation",
               "billing_statementimport")
        seconds, report = statement_app(path, f"bench-{run}.csv")
        keys = ("lines", "new", "duplicate", "matched", "proposed", "suspense", "rejected")
        result["statement"] = {"seconds": round(seconds, 2)} | {k: report[k] for k in keys}
        log(f"run {run} statement (service)  {seconds:8.2f}s  {result['statement']}")
        app_outcome = outcome_of(url, report["import_id"])
        result["statement_compare"] = {"lines_service": len(app_outcome), "lines_bare": len(bare_outcome),
                                       "differing": len(app_outcome ^ bare_outcome),
                                       "same": app_outcome == bare_outcome}
        log(f"run {run} statement compare    {result['statement_compare']}")
        if app_outcome != bare_outcome:
            for row in sorted(app_outcome ^ bare_outcome, key=str)[:10]:
                log(f"  differs: {row} ({'service' if row in app_outcome else 'bare'})")
        connection.close()
        sql(url, "CHECKPOINT")
        seconds, report = statement_app(path, f"bench-{run}-again.csv")
        result["reimport"] = {"seconds": round(seconds, 2)} | {k: report[k] for k in keys}
        log(f"run {run} re-import           {seconds:8.2f}s  {result['reimport']}")
        connection.close()
        summary["runs"].append(result)

    def median(step: str) -> float | None:
        values = [r[step]["seconds"] for r in summary["runs"] if step in r]
        return round(statistics.median(values), 2) if values else None

    summary["median"] = {step: median(step) for step in ("schedules", "schedules_bare", "schedules_bare_real",
                                                         "statement_bare", "statement", "reimport")}
    m = summary["median"]
    if m["schedules"] and m["schedules_bare"]:
        summary["ratio_schedules"] = round(m["schedules"] / m["schedules_bare"], 2)
    if m["schedules"] and m["schedules_bare_real"]:
        summary["ratio_schedules_real"] = round(m["schedules"] / m["schedules_bare_real"], 2)
    if m["statement"] and m["statement_bare"]:
        summary["ratio_statement"] = round(m["statement"] / m["statement_bare"], 2)
    for step, value in m.items():
        log(f"median {step:15s} {value}s over {len(summary['runs'])} runs")
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
