"""Benchmark of the nightly pipeline on two portfolio shapes, step by step, beside the minimal bare
SQL of its state-changing steps.

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_money \
        .venv/bin/python bench/nightly.py [--shape seeded|migration] [--policies N] [--runs R] [--reuse]
                                          [--no-bare] [--no-analyze] [--lines M[,M2...]] [--keep]

Only databases whose names start with rd_bench are touched. The set-up of each shape is kept as a
template database; --reuse keeps a template that holds exactly N policies.

--shape seeded (default): the database of DATABASE_URL is dropped, created, migrated and seeded
(manage.py seed_demo --policies N --seed 1 --as-of 2026-11-25), its schedules generated
(billing.services.schedules.installments_extend(as_of=2026-11-25)), VACUUM ANALYZE; the result is
the template <name>_tpl. A portfolio nearly all paid to its next due date, its installments
written and analysed before the first night.

--shape migration: a feed as a migration brings it (bench/make_migration_csv.py: issue dates over
10 years, most policies in force with paid_to_date months or years in the past, some arriving
lapsed, monthly / quarterly / semiannual / annual, auto-debit and transfers), written once into
var/bench/migration-N/, imported with `manage.py import_policies branches.csv products.csv
policies.csv --as-of 2026-11-25` into a freshly migrated database <name>_mig: no VACUUM ANALYZE,
no schedules; the first night writes them, as in production on the night after a migration. The
template is <name>_mig_tpl (CREATE DATABASE ... TEMPLATE copies the catalog's statistics as the
import left them).

Each run (R runs, default 3) copies the template into a database of its own (<name>_run<N>, or
<name>_mig_run<N>) and runs, in process, with no Celery worker (the orchestrator does every chunk
itself, two at a time):

  day 1    renewals.services.pipeline.nightly_run(as_of=2026-11-25): the first night after the
           seed or the import
  day 2    nightly_run(as_of=2026-11-26): a normal business date, once autovacuum has nothing
           left to do (no worker running, no table past its thresholds: as a day later, not beside
           the first night's aftermath; untimed, the wait is logged; not on a server with
           autovacuum off)

Before a day's run, unless --no-bare, the database is copied again (<name>_bare) and
bench/sql/nightly_bare.sql (the rows of the state-changing steps, installment statuses, lapse and
terminate, each one statement over the whole portfolio) is timed there, step by step; its row
counts are compared with the service's steps of that day, and its lapses (policy, lapse date,
status-history row, trail row) one by one. Not before the migration shape's first night: its
installments do not exist before that night's extend_schedules, which the bare SQL does not do.

Migration shape, after the two nights: a bank statement (CSV, template cn-online-banking, value
date 2026-11-26) of M lines (default 6 % of the policies: 60,000 at 1,000,000), each paying
exactly the oldest open installment of a distinct in-force policy named in 摘要
(保单<policy_no>续期保费); billing.services.statements.statement_import(as_of=2026-11-26) is
timed: parse, store, match, allocate, and the money events it publishes. --lines 60000,100000
imports one statement after the other (each picked afresh from what is then open). A statement
whose SQL runs longer than --statement-timeout (900 s) is recorded as failed, with the nights'
figures kept.

--from-first-night times the normal night (and the statements) only: the template after the first
night is kept as a second template, <name>_night1_tpl (made once, reused with --reuse), and each run
copies it (bench/RESULTS.md part 7: what a tuning session re-measures).

--no-analyze sets NIGHTLY_ANALYZE_MIN_ROWS out of reach: the pipeline then analyses nothing it
wrote, as before issue 9 (the server's autovacuum is off on this machine: nothing else does).

Per day and step: rows and seconds from the StepRun rows (started_at to finished_at); the whole
run; the statistics PostgreSQL holds for billing_installment afterwards (last analyse, rows
modified since). Prints one line per step, markdown tables of the runs, and a JSON summary as the
last line (also written to var/bench/nightly-<shape>-<N>.json). Each run records /proc/loadavg
before and after.
"""

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import money  # noqa: E402  (the shared database plumbing)

ROOT = money.ROOT
DAYS = [dt.date(2026, 11, 25), dt.date(2026, 11, 26)]


def log(message: str) -> None:
    print(f"[nightly {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def copy_database(url: str, source: str, target: str) -> float:
    admin = money.admin_url(url)
    start = time.perf_counter()
    money.sql(admin, f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
    money.sql(admin, f"CREATE DATABASE {target} TEMPLATE {source} STRATEGY FILE_COPY")
    return time.perf_counter() - start


def with_name(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def template_ready(url: str, policies: int) -> bool:
    """The template holds N policies and every migration of the code (others may have added one
    since it was made: a stale schema would fail, or time the wrong thing)."""
    try:
        if money.sql(url, "SELECT count(*) FROM policies_policy")[0][0] != policies:
            return False
    except psycopg.OperationalError:
        return False
    check = subprocess.run([money.PY, "manage.py", "migrate", "--check"], cwd=ROOT, env=money.child_env(url),
                           capture_output=True)
    if check.returncode != 0:
        log("the template misses migrations of the code: setting up again")
    return check.returncode == 0


# the service's lapses of a day: status-history rows and the trail rows of the policies they changed
LAPSES_SQL = """
SELECT c.policy_id, c.effective_date, p.lapse_date, p.status
FROM policies_policystatuschange c JOIN policies_policy p ON p.id = c.policy_id
WHERE c.rule = 'lapse_after_grace' AND c.voided_at IS NULL AND c.id > %s
"""
# the trail rows the lapse wrote: by the lapse step's chunks (job nightly:<date>:lapse:<ids>), or
# by the bare SQL (its own job)
TRAIL_SQL = """
SELECT e.pgh_obj_id, e.status, e.lapse_date FROM policies_policyevent e
JOIN pghistory_context x ON x.id = e.pgh_context_id
WHERE e.pgh_id > %s AND e.pgh_label = 'update' AND e.status = 'lapsed'
  AND (x.metadata->>'job' LIKE 'nightly:%%:lapse:%%' OR x.metadata->>'job' = 'bench nightly_bare.sql')
"""


def high_water(url: str) -> tuple[int, int]:
    return money.sql(url, "SELECT (SELECT COALESCE(max(id), 0) FROM policies_policystatuschange), "
                          "(SELECT COALESCE(max(pgh_id), 0) FROM policies_policyevent)")[0]


BARE_STEPS = ["installment_statuses", "lapse", "terminate"]


def bare_sections(day: dt.date) -> list[tuple[str, list[str]]]:
    """bench/sql/nightly_bare.sql cut at its "-- step: name" lines: (name, statements); the part
    before the first one is named "context"."""
    text = (money.SQL_DIR / "nightly_bare.sql").read_text()
    parts = re.split(r"^-- step: (\w+)$", text, flags=re.M)
    sections = [("context", parts[0])] + list(zip(parts[1::2], parts[2::2], strict=True))
    out = []
    for name, body in sections:
        body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("--"))
        body = body.replace(":'as_of'", "'" + day.isoformat() + "'")
        out.append((name, [st.strip() for st in re.split(r";\s*\n", body + "\n") if st.strip()]))
    return out


def bare_steps(url: str, day: dt.date) -> dict:
    """bench/sql/nightly_bare.sql on a copy of the database as it is before `day`'s run: the
    seconds and rows of each step, and the lapses it wrote."""
    base = money.db_name(url)
    copy = f"{base}_bare"
    copy_seconds = copy_database(url, base, copy)
    copy_url = with_name(url, copy)
    money.sql(copy_url, "CHECKPOINT")
    change_mark, event_mark = high_water(copy_url)
    steps = {}
    with psycopg.connect(copy_url) as conn:
        start = time.perf_counter()
        for name, statements in bare_sections(day):
            step_start = time.perf_counter()
            rows = 0
            for statement in statements:
                cursor = conn.execute(statement)
                rows = cursor.rowcount
            if name != "context":
                steps[name] = {"seconds": round(time.perf_counter() - step_start, 2), "rows": rows}
        conn.commit()
        seconds = time.perf_counter() - start
    lapses = set(money.sql(copy_url, LAPSES_SQL, (change_mark,)))
    trail = set(money.sql(copy_url, TRAIL_SQL, (event_mark,)))
    money.sql(money.admin_url(url), f"DROP DATABASE {copy} WITH (FORCE)")
    return {"seconds": round(seconds, 2), "steps": steps, "trail": trail, "copy_seconds": round(copy_seconds, 1),
            "lapses": lapses}


def nightly_day(url: str, day: dt.date) -> dict:
    from django.db import connection

    from renewals.models import StepRun
    from renewals.services.pipeline import nightly_run

    change_mark, event_mark = high_water(url)
    money.sql(url, "CHECKPOINT")
    load_before = loadavg()
    start = time.perf_counter()
    run = nightly_run(as_of=day)
    seconds = time.perf_counter() - start
    load_after = loadavg()
    steps = [{"step": s.step, "rows": s.rows, "chunks": s.chunks, "seconds": round(s.seconds or 0.0, 2),
              # the ANALYZE the pipeline ran after the step (inside the step's time), if any
              "analyze_seconds": (getattr(s, "details", None) or {}).get("analyze_seconds")}
             for s in StepRun.objects.filter(run=run).order_by("position")]
    connection.close()
    lapses = set(money.sql(url, LAPSES_SQL, (change_mark,)))
    trail = set(money.sql(url, TRAIL_SQL, (event_mark,)))
    return {"as_of": day.isoformat(), "status": run.status, "seconds": round(seconds, 2), "steps": steps,
            "lapses": lapses, "trail": trail, "load": [load_before, load_after], "table_stats": table_stats(url)}


# Tables of this database autovacuum would still vacuum or analyse (its own thresholds; an insert
# threshold of -1 turns insert vacuums off), and its workers at work on this database.
AUTOVACUUM_PENDING_SQL = """
SELECT (SELECT count(*) FROM pg_stat_activity
        WHERE backend_type = 'autovacuum worker' AND datname = current_database())
     + (SELECT count(*) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE c.relpersistence = 'p' AND (
           s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
               + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
           OR (current_setting('autovacuum_vacuum_insert_threshold')::float8 >= 0
               AND s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
                   + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * greatest(c.reltuples, 0))
           OR s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
               + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)))
"""


def autovacuum_wait(url: str, timeout: float = 600.0) -> tuple[float, bool] | None:
    """Wait until autovacuum has nothing left to do in the database (no worker running on it, no
    table past its thresholds), as it would not a day after the night before. Returns the seconds
    waited and whether it settled (False: the timeout came first, e.g. an old transaction held the
    dead rows back), or None when autovacuum is off (the installed server). Untimed."""
    if money.sql(url, "SHOW autovacuum")[0][0] != "on":
        return None
    start = time.perf_counter()
    while money.sql(url, AUTOVACUUM_PENDING_SQL)[0][0]:
        if time.perf_counter() - start >= timeout:
            return round(time.perf_counter() - start, 1), False
        time.sleep(2)
    return round(time.perf_counter() - start, 1), True


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# reltuples and pg_stats are what the planner reads (a database copy keeps them); the counters of
# pg_stat_user_tables start from zero in a copy (CREATE DATABASE ... TEMPLATE), so they count the
# run's own changes and analyses only
TABLE_STATS_SQL = """
SELECT s.relname, c.reltuples::bigint, (SELECT count(*) FROM pg_stats st WHERE st.tablename = s.relname),
       s.n_mod_since_analyze, s.last_analyze, s.last_autoanalyze
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.relname = ANY(%s) ORDER BY s.relname
"""
WATCHED_TABLES = ["billing_installment", "policies_policy", "policies_policystatuschange"]


def table_stats(url: str) -> dict:
    """What PostgreSQL knows of the tables the night bulk-writes: whether (and when) they were
    analysed, and how many rows changed since."""
    return {name: {"planner_rows": reltuples, "column_stats": columns, "modified_since_analyze": modified,
                   "last_analyze": analyze.isoformat(timespec="seconds") if analyze else None,
                   "last_autoanalyze": auto.isoformat(timespec="seconds") if auto else None}
            for name, reltuples, columns, modified, analyze, auto
            in money.sql(url, TABLE_STATS_SQL, (WATCHED_TABLES,))}


# -- the migration shape -------------------------------------------------------------------------

def migration_files(policies: int) -> tuple[list[str], dict]:
    """The feed files of the migration shape (written once per size); their make-up."""
    data_dir = ROOT / "var" / "bench" / f"migration-{policies}"
    make_up = data_dir / "make-up.json"
    if not (data_dir / "policies.csv").exists() or not make_up.exists():
        log(f"writing {data_dir}/policies.csv ({policies} rows)")
        subprocess.run([money.PY, "bench/make_migration_csv.py", str(data_dir), "--policies", str(policies),
                        "--seed", "1", "--as-of", DAYS[0].isoformat()], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    files = [str(data_dir / name) for name in ("branches.csv", "products.csv", "policies.csv")]
    return files, json.loads(make_up.read_text())


def migration_template_current(url: str, policies: int) -> bool:
    """The template was imported from the feed file as it is now (its first policy number)."""
    files, _make_up = migration_files(policies)
    with open(files[2], encoding="utf-8") as handle:
        handle.readline()
        first = handle.readline().split(",", 1)[0]
    current = money.sql(url, "SELECT policy_no FROM policies_policy ORDER BY id LIMIT 1")[0][0] == first
    if not current:
        log("the template was imported from another feed file: setting up again")
    return current


def migration_setup(url: str, policies: int) -> dict:
    """A fresh migrated database, the feed imported as of the first night's date; nothing else
    (no VACUUM ANALYZE, no schedules): what production has after a migration's import."""
    files, make_up = migration_files(policies)
    name = money.db_name(url)
    admin = money.admin_url(url)
    money.sql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    money.sql(admin, f"CREATE DATABASE {name}")
    subprocess.run([money.PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=money.child_env(url), check=True)
    money.sql(url, "CHECKPOINT")
    log(f"import_policies of {policies} policies --as-of {DAYS[0]}")
    start = time.perf_counter()
    proc = subprocess.run([money.PY, "manage.py", "import_policies", *files, "--as-of", DAYS[0].isoformat(), "--json"],
                          cwd=ROOT, env=money.child_env(url), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"import_policies failed with exit code {proc.returncode}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    feed = report["files"][-1]
    summary = {"feed": make_up, "import": {"seconds": round(seconds, 1), "rows": feed["rows"],
                                           "created": feed["created"], "rejected": feed["rejected"],
                                           "warnings": len(feed.get("warnings", [])),
                                           "in_force_past_grace": feed.get("in_force_past_grace")}}
    log(f"imported in {seconds:.1f}s: {summary['import']}")
    if feed["created"] != policies:
        raise SystemExit(f"the import created {feed['created']} of {policies} policies: {feed['errors'][:5]}")
    summary["import"]["statuses"] = dict(money.sql(url, "SELECT status, count(*) FROM policies_policy GROUP BY 1"))
    summary["import"]["table_stats"] = table_stats(url)
    return summary


# the in-force policies whose oldest open installment owes exactly their modal premium, and that
# no earlier statement paid (a second statement of the run then pays other policies, not the next
# installments in advance)
STATEMENT_PICK_SQL = """
SELECT p.policy_no, p.modal_premium, p.bank_account, c.name
FROM policies_policy p
JOIN policies_customer c ON c.id = p.holder_id
JOIN LATERAL (SELECT i.amount_due - i.amount_paid AS owed FROM billing_installment i
              WHERE i.policy_id = p.id AND i.status = ANY(%s) ORDER BY i.sequence LIMIT 1) o
  ON o.owed = p.modal_premium
WHERE p.status = 'in_force' AND NOT EXISTS (SELECT 1 FROM billing_assignment a WHERE a.policy_id = p.id)
ORDER BY p.id
"""
OPEN_STATUSES = ["scheduled", "due", "overdue", "partially_paid"]


def statement_file(url: str, lines: int, day: dt.date, path: Path, number: int = 1) -> dict:
    """A statement of `lines` lines, each paying a distinct in-force policy's oldest open
    installment exactly and naming the policy in 摘要."""
    import csv
    import random

    candidates = money.sql(url, STATEMENT_PICK_SQL, (OPEN_STATUSES,))
    if len(candidates) < lines:
        log(f"only {len(candidates)} in-force policies owe their modal premium: {len(candidates)} lines, "
            f"not {lines}")
        lines = len(candidates)
    rng = random.Random(1)
    chosen = rng.sample(candidates, lines)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(money.HEADER)
        for n, (policy_no, premium, account, name) in enumerate(chosen, start=1):
            writer.writerow([day.isoformat(), premium, "CNY", name, account or f"62125{rng.randrange(10**14):014d}",
                             f"BENCHMIG{number}-{n:09d}", f"保单{policy_no}续期保费"])
    return {"lines": lines, "candidates": len(candidates), "bytes": path.stat().st_size}


def statement_day(url: str, lines: int, day: dt.date, path: Path, number: int = 1, timeout: int = 900) -> dict:
    from django.db import connection

    from billing.services.statements import statement_import

    made = statement_file(url, lines, day, path, number)
    money.sql(url, "CHECKPOINT")
    load_before = loadavg()
    data = path.read_bytes()
    with connection.cursor() as cursor:  # this connection only (closed below): a runaway plan fails the step
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{timeout}s"])
    start = time.perf_counter()
    try:
        report = statement_import(name=path.name, data=data, format="csv", template="cn-online-banking", as_of=day)
    except Exception as exc:  # recorded with the nights' figures, not lost with them
        seconds = time.perf_counter() - start
        connection.close()
        log(f"statement of {made['lines']} lines failed after {seconds:.1f}s: {exc}")
        return {"as_of": day.isoformat(), "seconds": round(seconds, 2), "file": made, "error": str(exc)[:500],
                "load": [load_before, loadavg()], "lines": made["lines"], "lines_per_second": None,
                "matched": 0, "proposed": 0, "suspense": 0}
    seconds = time.perf_counter() - start
    connection.close()
    keys = ("lines", "new", "duplicate", "matched", "proposed", "suspense", "rejected")
    result = {"as_of": day.isoformat(), "seconds": round(seconds, 2), "file": made,
              "lines_per_second": round(report["lines"] / seconds) if seconds else None,
              "load": [load_before, loadavg()]} | {k: report.get(k) for k in keys}
    return result


# -- output --------------------------------------------------------------------------------------

def markdown_tables(summary: dict, days_run: list[dt.date] = DAYS) -> str:
    """The runs' steps as markdown tables, one per day (the figures bench/RESULTS.md quotes)."""
    out = []
    runs = summary["runs"]
    for index, day in enumerate(days_run):
        days = [r["days"][index] for r in runs]
        out.append(f"\n{summary['shape']} shape, {summary['policies']:,} policies, {day} "
                   f"({'first night' if day == DAYS[0] else 'a normal night'}), seconds\n")
        header = "| step | rows | " + " | ".join(f"run {r['run']}" for r in runs) + " | median |"
        has_bare = any(d.get("bare") for d in days)
        if has_bare:
            header += " bare SQL (median) |"
        out.append(header)
        out.append("| --- | ---: | " + " | ".join("---:" for _ in runs) + " | ---: |" + (" ---: |" if has_bare else ""))
        for step in days[0]["steps"]:
            name = step["step"]
            values = [next(s["seconds"] for s in d["steps"] if s["step"] == name) for d in days]
            analyzed = [next(s.get("analyze_seconds") for s in d["steps"] if s["step"] == name) for d in days]
            label = name + (f" (incl. ANALYZE {statistics.median(a for a in analyzed if a is not None):.2f})"
                            if any(a is not None for a in analyzed) else "")
            line = (f"| {label} | {step['rows']:,} | " + " | ".join(f"{v:.2f}" for v in values)
                    + f" | {statistics.median(values):.2f} |")
            if has_bare:
                bare = [d["bare"]["steps"][name]["seconds"] for d in days if d.get("bare") and name in d["bare"]["steps"]]
                line += f" {statistics.median(bare):.2f} |" if bare else " |"
            out.append(line)
        values = [d["seconds"] for d in days]
        out.append("| **whole run** | | " + " | ".join(f"{v:.2f}" for v in values)
                   + f" | **{statistics.median(values):.2f}** |" + (" |" if has_bare else ""))
        outside = [d["seconds"] - sum(s["seconds"] for s in d["steps"]) for d in days]
        out.append("| outside the steps (run bookkeeping) | | "
                   + " | ".join(f"{v:.2f}" for v in outside) + f" | {statistics.median(outside):.2f} |"
                   + (" |" if has_bare else ""))
        out.append("| load average before / after | | " + " | ".join(f"{d['load'][0]} / {d['load'][1]}" for d in days)
                   + " | |" + (" |" if has_bare else ""))
    for index in range(len(runs[0].get("statements", []))):
        first = runs[0]["statements"][index]
        out.append(f"\nstatement {index + 1}: {first['lines']:,} lines (as of {first['as_of']}): " + "; ".join(
            (f"run {r['run']} FAILED after {s['seconds']:.2f} s: {s['error']}" if s.get("error") else
             f"run {r['run']} {s['seconds']:.2f} s, {s['matched']:,} matched, {s['proposed']:,} proposed, "
             f"{s['suspense']:,} in suspense, {s['lines_per_second']:,} lines/s")
            + f", load {s['load'][0]} / {s['load'][1]}" for r in runs for s in [r["statements"][index]]))
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=["seeded", "migration"], default="seeded")
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a template already set up with N policies")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare SQL (and the database copies it needs)")
    parser.add_argument("--lines", help="statement lines, migration shape (default: 6 %% of the policies); "
                                        "several, comma-separated: one statement after the other")
    parser.add_argument("--no-analyze", action="store_true",
                        help="NIGHTLY_ANALYZE_MIN_ROWS set out of reach: the night as it was before the pipeline "
                             "analysed what a step wrote (to show what the ANALYZE saves)")
    parser.add_argument("--statement-timeout", type=int, default=900,
                        help="seconds a statement's SQL may run before the statement counts as failed (default 900)")
    parser.add_argument("--keep", action="store_true", help="keep the last run's database (for EXPLAIN afterwards)")
    parser.add_argument("--from-first-night", action="store_true",
                        help="time the normal night (and the statements) only, each run from a copy of a second "
                             "template: the first template after the first night (<name>_night1_tpl, made once "
                             "and kept with --reuse); what a tuning session re-measures")
    args = parser.parse_args()
    lines = [int(n) for n in args.lines.split(",")] if args.lines else [args.policies * 6 // 100]
    lines = [n for n in lines if n > 0]

    url = money.db_url()
    name = money.db_name(url)
    if args.shape == "migration":
        name = f"{name}_mig"
        url = with_name(url, name)
    template = f"{name}_tpl"
    template_url = with_name(url, template)
    sys.path.insert(0, str(ROOT))
    os.environ.update(money.child_env(url))
    if args.no_analyze:
        os.environ["NIGHTLY_ANALYZE_MIN_ROWS"] = str(2**62)
    summary = {"shape": args.shape, "no_analyze": args.no_analyze, "date": dt.datetime.now().isoformat(timespec="seconds"),
               "machine": money.machine(), "policies": args.policies, "load_start": loadavg(), "runs": []}

    import django

    django.setup()
    from django.db import connection

    setup_file = ROOT / "var" / "bench" / f"nightly-{args.shape}-{args.policies}-setup.json"
    if args.reuse and template_ready(template_url, args.policies) and (
            args.shape == "seeded" or migration_template_current(template_url, args.policies)):
        log(f"reusing the template {template}")
        if setup_file.exists():  # what the set-up of that template measured
            summary["setup"] = json.loads(setup_file.read_text())
    elif args.shape == "migration":
        summary["setup"] = migration_setup(url, args.policies)
        copy_database(url, name, template)
        setup_file.parent.mkdir(parents=True, exist_ok=True)
        setup_file.write_text(json.dumps(summary["setup"], ensure_ascii=False, default=str, indent=1))
    else:
        summary["setup"] = money.setup(url, args.policies, reuse=False)
        from billing.services.schedules import installments_extend

        start = time.perf_counter()
        rows = installments_extend(as_of=DAYS[0])
        summary["setup"]["schedule"] = {"seconds": round(time.perf_counter() - start, 1), "rows": rows}
        log(f"schedules: {summary['setup']['schedule']}")
        connection.close()
        money.settle(url)
        copy_database(url, name, template)
        setup_file.parent.mkdir(parents=True, exist_ok=True)
        setup_file.write_text(json.dumps(summary["setup"], ensure_ascii=False, default=str, indent=1))
    summary["postgresql"] = money.sql(template_url, "SHOW server_version")[0][0]
    summary["autovacuum"] = money.sql(template_url, "SHOW autovacuum")[0][0]
    summary["installments_before"] = money.sql(template_url, "SELECT count(*) FROM billing_installment")[0][0]
    from django.conf import settings as django_settings

    days_run = DAYS
    if args.from_first_night:
        days_run = DAYS[1:]
        night1 = f"{name}_night1_tpl"
        night1_url = with_name(url, night1)
        if not (args.reuse and template_ready(night1_url, args.policies) and money.sql(
                night1_url, "SELECT count(*) FROM renewals_nightlyrun WHERE as_of = %s AND status = 'finished'",
                (DAYS[0],))[0][0]):
            connection.close()
            copy_database(url, template, night1)
            django_settings.DATABASES["default"]["NAME"] = night1
            outcome = nightly_day(night1_url, DAYS[0])
            summary["first_night"] = {k: outcome[k] for k in ("seconds", "steps", "load", "status")}
            log(f"first night on {night1}: {outcome['seconds']}s {outcome['status']}")
            connection.close()
            money.sql(night1_url, "CHECKPOINT")
        else:
            log(f"reusing the template {night1} (after the first night)")
        template = night1

    for number in range(1, args.runs + 1):
        # each run in a database of its own, copied from the template (Django's connections are
        # pointed at it: new connections read the settings' dictionary)
        connection.close()
        run_name = f"{name}_run{number}"
        seconds = copy_database(url, template, run_name)
        run_url = with_name(url, run_name)
        django_settings.DATABASES["default"]["NAME"] = run_name
        log(f"run {number}: database copied from the template in {seconds:.1f}s")
        result: dict = {"run": number, "days": []}
        for day in days_run:
            waited = None
            if day != days_run[0]:
                # a normal night comes a day after the one before: not beside its autovacuum (waited
                # for before the bare SQL's copy too, which would stop the workers)
                waited = autovacuum_wait(run_url)
                if waited is not None:
                    log(f"run {number} {day} autovacuum {'settled' if waited[1] else 'NOT settled (timeout)'} "
                        f"after {waited[0]:.1f}s (untimed)")
            bare = None
            if not args.no_bare and not (args.shape == "migration" and day == DAYS[0]):
                bare = bare_steps(run_url, day)
                for step_name, step in bare["steps"].items():
                    log(f"run {number} {day} {step_name:22s} (bare SQL) {step['seconds']:8.2f}s  {step['rows']:>9} rows")
            outcome = nightly_day(run_url, day)
            for step in outcome["steps"]:
                analyzed = f", ANALYZE {step['analyze_seconds']:.2f}s" if step["analyze_seconds"] is not None else ""
                log(f"run {number} {day} {step['step']:22s} {step['seconds']:8.2f}s  {step['rows']:>9} rows "
                    f"({step['chunks']} chunks{analyzed})")
            log(f"run {number} {day} whole run              {outcome['seconds']:8.2f}s  {outcome['status']}  "
                f"load {outcome['load'][0]} -> {outcome['load'][1]}")
            log(f"run {number} {day} statistics afterwards {outcome['table_stats']}")
            entry = {"as_of": day.isoformat(), "seconds": outcome["seconds"], "steps": outcome["steps"],
                     "load": outcome["load"], "table_stats": outcome["table_stats"],
                     "lapses": len(outcome["lapses"]),
                     "autovacuum_waited": waited and {"seconds": waited[0], "settled": waited[1]}}
            if bare is not None:
                same = outcome["lapses"] == bare["lapses"] and outcome["trail"] == bare["trail"]
                compare = {"lapses_service": len(outcome["lapses"]), "lapses_bare": len(bare["lapses"]),
                           "differing": len(outcome["lapses"] ^ bare["lapses"]),
                           "trail_service": len(outcome["trail"]), "trail_bare": len(bare["trail"]),
                           "trail_differing": len(outcome["trail"] ^ bare["trail"]), "same": same}
                service_steps = {s["step"]: s for s in outcome["steps"]}
                compare["rows"] = {step_name: {"service": service_steps[step_name]["rows"], "bare": step["rows"],
                                               "same": service_steps[step_name]["rows"] == step["rows"]}
                                   for step_name, step in bare["steps"].items()}
                log(f"run {number} {day} compare {compare}")
                entry["bare"] = {k: v for k, v in bare.items() if k not in ("lapses", "trail")}
                entry["compare"] = compare
                entry["state_steps_service"] = round(sum(service_steps[s]["seconds"] for s in bare["steps"]), 2)
                entry["state_steps_bare"] = round(sum(step["seconds"] for step in bare["steps"].values()), 2)
            result["days"].append(entry)
        result["installments_after"] = money.sql(run_url, "SELECT count(*) FROM billing_installment")[0][0]
        if args.shape == "migration":
            result["statements"] = []
            for statement_number, count in enumerate(lines, start=1):
                connection.close()
                path = Path(f"/tmp/{run_name}_statement_{count}.csv")
                result["statements"].append(statement_day(run_url, count, DAYS[1], path, statement_number,
                                                          args.statement_timeout))
                log(f"run {number} statement {result['statements'][-1]}")
        summary["runs"].append(result)
        connection.close()
        if not (args.keep and number == args.runs):
            money.sql(money.admin_url(url), f"DROP DATABASE IF EXISTS {run_name} WITH (FORCE)")

    summary["load_end"] = loadavg()
    summary["median"] = {}
    for index, day in enumerate(days_run):
        days = [r["days"][index] for r in summary["runs"]]
        entry = {"whole_run": round(statistics.median(d["seconds"] for d in days), 2), "steps": {}}
        for step in days[0]["steps"]:
            entry["steps"][step["step"]] = round(statistics.median(
                next(s["seconds"] for s in d["steps"] if s["step"] == step["step"]) for d in days), 2)
        with_bare = [d for d in days if "bare" in d]
        if with_bare:
            entry["state_steps_service"] = round(statistics.median(d["state_steps_service"] for d in with_bare), 2)
            entry["state_steps_bare"] = round(statistics.median(d["state_steps_bare"] for d in with_bare), 2)
            entry["bare_steps"] = {step_name: round(statistics.median(d["bare"]["steps"][step_name]["seconds"]
                                                                      for d in with_bare), 2)
                                   for step_name in with_bare[0]["bare"]["steps"]}
        summary["median"][day.isoformat()] = entry
        log(f"median {day}: whole run {entry['whole_run']}s; state-changing steps "
            f"{entry.get('state_steps_service')}s vs bare SQL {entry.get('state_steps_bare')}s; steps {entry['steps']}; "
            f"bare {entry.get('bare_steps')} over {len(days)} runs")
    for index, count in enumerate(lines if args.shape == "migration" else []):
        values = [r["statements"][index]["seconds"] for r in summary["runs"]]
        summary["median"][f"statement_{count}"] = round(statistics.median(values), 2)
    print(markdown_tables(summary, days_run))
    out = ROOT / "var" / "bench" / f"nightly-{args.shape}-{args.policies}{'-no-analyze' if args.no_analyze else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, default=str, indent=1))
    log(f"written to {out}")
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
