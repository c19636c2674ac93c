"""Benchmark of the pages (issue 12, "Fast and typed"): every demo role's home and menu pages, the
trail with and without filters, and the policy search by number, name, ID and phone, at 1,000,000
policies, each page timed as the role that uses it.

    .venv/bin/python bench/pages.py [--policies 1000000] [--requests 20] [--warmup 3] [--reuse]
                                    [--only ROLE[,ROLE]] [--keep] [--explain]

Only databases whose names start with rd_bench_pages are touched (BENCH_ADMIN_URL, default
postgres://root@127.0.0.1:5432/postgres, says where):

  rd_bench_pages_tpl  the data set, built once (--reuse keeps one that holds N policies and the mark
                      below; migrations added since are applied to it):
                        - the seeded portfolio with schedules and open cases: a copy of the
                          workbench bench's template (rd_bench_wb_tpl: seed_demo --policies N
                          --seed 1 --as-of 2026-11-25, installments_extend, 100,000 open cases,
                          eight teams of clerks) when it is complete, else the same built here
                          (bench/workbench.py's setup), then migrated;
                        - the demo users (one per role: policies.services.demo.demo_users_ensure);
                        - two nights, renewals.services.pipeline.nightly_run(as_of=2026-11-25, 26);
                        - a 100,000-line bank statement (CSV, cn-online-banking, value date
                          2026-11-26), each line paying a distinct in-force policy's oldest open
                          installment (bench/nightly.py's statement);
                        - 30,000 servicing applications, set-based (APPLICATIONS_SQL): deferrals and
                          plan changes awaiting approval, reinstatements referred to underwriting;
                        - VACUUM ANALYZE.
  rd_bench_pages      the copy timed (CREATE DATABASE ... TEMPLATE), dropped at the end unless --keep.

The pages are timed in process with Django's test client (the whole middleware stack, sessions in
Redis, templates rendered; no network, no gunicorn), config.settings.dev with DEBUG off, signed in
as each demo user (force_login): clerk, lead, manager, finance, risk, auditor, admin. For each role:
the home (/) and every page of its menu (core.navigation, as accounts.context_processors shows it),
plus the role's searches and filters (PAGES below). Each page: W warm-up requests, then R timed
ones; p50/p95/max in ms, the status, the number of SQL queries. /proc/loadavg beside every page:
the machine is shared. Pages over 300 ms at p95 are listed; with --explain, the SQL of each slow
page's slowest query is EXPLAIN ANALYZEd into var/bench/pages-explain.txt.

The pages' database sessions are the web process's (core.db_sessions.web_database_sessions: the
web statement timeout, no parallel query workers), so a page over the timeout shows as a 503.

Prints one line per page, a markdown table, and a JSON summary as the last line (also written to
var/bench/pages-<N>.json).
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import money  # noqa: E402  (the shared database plumbing)
import psycopg  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://root@127.0.0.1:5432/postgres")
TEMPLATE, RUN = "rd_bench_pages_tpl", "rd_bench_pages"
BASE = "rd_bench_wb_tpl"  # the workbench bench's template: seeded, scheduled, with open cases
TEMPLATE_MARK = "pages-bench-v1"
DAYS = [dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
VAR = ROOT / "var" / "bench"
ROLES = ["clerk", "lead", "manager", "finance", "risk", "auditor", "admin"]
TARGET_MS = 300

# servicing applications, set-based: a deferral or plan change awaiting approval on every 100th
# in-force policy, a reinstatement referred to underwriting on every 10th lapsed one
APPLICATIONS_SQL = """
INSERT INTO renewals_application (policy_id, kind, status, applied_on, details, created_by_id, created_at, updated_at)
SELECT p.id, CASE WHEN p.id %% 200 < 100 THEN 'deferral' ELSE 'plan_change' END, 'submitted',
       %(day)s::date - (p.id %% 20)::int, '{}'::jsonb, %(clerk)s, now(), now()
FROM policies_policy p WHERE p.status = 'in_force' AND p.id %% 100 = 7 ORDER BY p.id LIMIT 25000
"""
REINSTATEMENTS_SQL = """
INSERT INTO renewals_application (policy_id, kind, status, applied_on, details, created_by_id, created_at, updated_at)
SELECT p.id, 'reinstatement', 'referred', %(day)s::date - (p.id %% 20)::int, '{}'::jsonb, %(clerk)s, now(), now()
FROM policies_policy p WHERE p.status = 'lapsed' AND p.id %% 10 = 3 ORDER BY p.id LIMIT 5000
"""


def log(message: str) -> None:
    print(f"[pages {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def url_of(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def copy_database(source: str, target: str) -> None:
    money.sql(ADMIN_URL, f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
    money.sql(ADMIN_URL, f"CREATE DATABASE {target} TEMPLATE {source} STRATEGY FILE_COPY")


def manage(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([money.PY, "manage.py", *args], cwd=ROOT, env=money.child_env(url), capture_output=True,
                          text=True)


def migrate(url: str) -> None:
    if manage(url, "migrate", "--check").returncode != 0:
        log(f"migrating {money.db_name(url)} to the code's migrations")
        done = manage(url, "migrate", "-v0")
        if done.returncode != 0:
            raise SystemExit(f"migrate failed:\n{done.stderr[-3000:]}")


def template_ready(policies: int) -> bool:
    try:
        count, mark = money.sql(url_of(TEMPLATE), "SELECT (SELECT count(*) FROM policies_policy), "
                                                  "obj_description('renewals_application'::regclass)")[0]
    except psycopg.Error:
        return False
    if (count, mark) != (policies, TEMPLATE_MARK):
        return False
    migrate(url_of(TEMPLATE))
    return True


def base_ready_in(name: str, policies: int) -> bool:
    try:
        count, mark = money.sql(url_of(name), "SELECT (SELECT count(*) FROM policies_policy), "
                                              "obj_description('renewals_case'::regclass)")[0]
    except psycopg.Error:
        return False
    return count == policies and mark == "workbench-bench-v1"


def build(policies: int) -> dict:
    """The data set, into rd_bench_pages_tpl (Django on it for this process)."""
    url = url_of(TEMPLATE)
    summary: dict = {"load_start": loadavg()}
    start = time.perf_counter()
    if base_ready_in(TEMPLATE, policies):
        log(f"{TEMPLATE} already holds the copy of {BASE}: continuing from it")
        summary["base"] = f"copy of {BASE}"
    elif base_ready_in(BASE, policies):
        log(f"copying {BASE} (seeded, scheduled, open cases)")
        copy_database(BASE, TEMPLATE)
        summary["base"] = f"copy of {BASE}"
    else:
        import workbench

        log("building the seeded portfolio, schedules and cases (bench/workbench.py setup)")
        os.environ.update(money.child_env(url))
        import django

        django.setup()  # workbench.setup runs Django in this process
        summary["base"] = workbench.setup(url, policies, cases=100_000, clerks=30)
    migrate(url)
    os.environ.update(money.child_env(url))
    import django

    django.setup()
    import nightly
    from django.db import connection

    from accounts.models import User
    from policies.services.demo import demo_users_ensure

    demo_users_ensure()
    summary["nights"] = []
    for day in DAYS:
        log(f"night {day}")
        night = nightly.nightly_day(url, day)
        night["lapses"], night["trail"] = len(night["lapses"]), len(night["trail"])
        summary["nights"].append(night)
        log(f"night {day}: {night['status']} in {night['seconds']} s (load {night['load']})")
    connection.close()
    money.settle(url)
    VAR.mkdir(parents=True, exist_ok=True)
    log("statement of 100,000 lines")
    statement = nightly.statement_day(url, 100_000, DAYS[1], VAR / "pages-statement.csv")
    summary["statement"] = {k: v for k, v in statement.items() if k != "file"}
    clerk = User.objects.get(username="clerk").pk
    with connection.cursor() as cursor:
        cursor.execute(APPLICATIONS_SQL, {"day": DAYS[1], "clerk": clerk})
        applications = cursor.rowcount
        cursor.execute(REINSTATEMENTS_SQL, {"day": DAYS[1], "clerk": clerk})
        applications += cursor.rowcount
        cursor.execute(f"COMMENT ON TABLE renewals_application IS '{TEMPLATE_MARK}'")
    connection.close()
    summary["applications"] = applications
    money.settle(url)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    summary["load_end"] = loadavg()
    return summary


def data_shape(url: str) -> dict:
    """Rows of the tables the pages read: the portfolio, the trail (every pghistory event table)."""
    tables = money.sql(url, """SELECT c.relname, c.reltuples::bigint FROM pg_class c
                               JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'public' AND c.relkind = 'r'""")
    rows = dict(tables)
    trail = sum(n for name, n in rows.items() if name.endswith("event") and n > 0)
    keep = ["policies_policy", "policies_customer", "billing_installment", "billing_payment", "billing_allocation",
            "renewals_case", "renewals_application", "pghistory_context"]
    return {"trail_rows": trail} | {name: rows.get(name) for name in keep}


# -- the pages -----------------------------------------------------------------------------------

def samples(url: str) -> dict:
    """A policy the clerk (GD-GZ) may see: its number, holder's name prefix, ID number, phone; and
    the demo users' trail data to filter by."""
    row = money.sql(url, """
        SELECT p.policy_no, left(c.name, 1), c.id_no, c.phone
        FROM policies_policy p JOIN policies_customer c ON c.id = p.holder_id
        JOIN policies_branch b ON b.id = p.branch_id
        WHERE b.code = 'GD-GZ' AND c.phone <> '' AND c.id_no <> '' ORDER BY p.id LIMIT 1 OFFSET 5000""")[0]
    policy_no, name, id_no, phone = row
    surname2 = money.sql(url, """SELECT left(c.name, 2) FROM policies_customer c WHERE length(c.name) >= 2
                                 ORDER BY c.id LIMIT 1 OFFSET 7000""")[0][0]
    return {"policy_no": policy_no, "name1": name, "name2": surname2, "id_no": id_no, "phone": phone}


def extra_pages(role: str, s: dict) -> list[tuple[str, str]]:
    """The searches and filters a role uses, beside its menu: (name, path)."""
    search = [
        ("search by number", f"/policies/?q={s['policy_no']}"),
        ("search by name (1 char)", f"/policies/?q={s['name1']}"),
        ("search by name (2 chars)", f"/policies/?q={s['name2']}"),
        ("search by ID", f"/policies/?q={s['id_no']}"),
        ("search by phone", f"/policies/?q={s['phone']}"),
        ("policy page", f"/policies/{s['policy_no']}/"),
    ]
    pages: list[tuple[str, str]] = []
    if role in ("clerk", "lead", "auditor", "admin"):
        pages += search
    if role in ("auditor", "admin"):
        day = DAYS[1].isoformat()
        pages += [
            ("trail, page 2", None),  # the cursor of page 1's "next" link, filled in at run time
            ("trail by policy", f"/audit/?policy_no={s['policy_no']}"),
            ("trail by user", "/audit/?username=clerk"),
            ("trail by user (none)", "/audit/?username=nobody"),
            ("trail by model", "/audit/?model=billing.Installment"),
            ("trail by action", "/audit/?action=update"),
            ("trail by business date", f"/audit/?business_date={day}"),
            ("trail by date range", f"/audit/?date_from={day}&date_to={day}"),
        ]
    if role in ("finance", "admin"):
        statement_day = DAYS[1].isoformat()  # the 100,000-line statement's value date
        pages += [
            ("finance dashboard, reconciliation (htmx)", f"/reporting/finance/reconciliation/?from={statement_day}"
                                                         f"&to={statement_day}"),
            ("reconciliation, statement day", f"/billing/reconciliation/?day={statement_day}"),
            ("reconciliation, statement day, page 2", f"/billing/reconciliation/?day={statement_day}&page=2"),
        ]
    if role in ("lead", "admin"):
        pages += [("approvals, page 2", "/renewals/approvals/?page=2")]
    return pages


def time_page(client, path: str, requests: int, warmup: int) -> dict:
    from django.db import connection, reset_queries

    for _ in range(warmup):
        client.get(path)
    times, statuses, queries = [], set(), []
    for _ in range(requests):
        reset_queries()
        start = time.perf_counter()
        response = client.get(path)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - start) * 1000)
        statuses.add(response.status_code)
        queries.append(list(connection.queries))
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times) + 0.5)) - 1)]
    slowest = max(queries[-1], key=lambda q: float(q["time"]), default=None)
    return {"p50": round(statistics.median(times), 1), "p95": round(p95, 1), "max": round(times[-1], 1),
            "status": sorted(statuses), "queries": len(queries[-1]),
            "slowest_sql_ms": round(float(slowest["time"]) * 1000, 1) if slowest else None,
            "slowest_sql": slowest["sql"] if slowest else None, "load": loadavg()}


def run(policies: int, requests: int, warmup: int, roles: list[str], explain: bool) -> dict:
    url = url_of(RUN)
    os.environ.update(money.child_env(url))
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext  # noqa: F401  (connection.queries below)
    from django.urls import reverse

    from accounts.context_processors import navigation
    from accounts.models import User
    from core.db_sessions import web_database_sessions

    # the database sessions as the web process opens them (core.db_sessions: the web statement
    # timeout, no parallel query workers): a page over the timeout answers 503, as it would to a person
    connection.close()
    web_database_sessions()
    connection.force_debug_cursor = True  # connection.queries with DEBUG off (the SQL and its time)
    s = samples(url)
    results = []
    for role in roles:
        user = User.objects.get(username=role)
        client = Client()
        client.force_login(user)
        menu = client.get("/", follow=True)
        home_path = menu.redirect_chain[-1][0] if menu.redirect_chain else "/"

        class _Request:
            pass

        request = _Request()
        request.user, request.path = user, "/"
        pages = [("home", "/")] + ([("home (landing)", home_path)] if home_path != "/" else [])
        pages += [(str(item["label"]), item["url"]) for item in navigation(request)["nav_items"]]
        for name, path in extra_pages(role, s):
            if path is None:  # page 2 of the trail: follow page 1's cursor
                page1 = client.get(reverse("audit:trail"))
                cursor = page1.context.get("next_after") if page1.context else ""
                path = f"/audit/?after={cursor}"
            pages.append((name, path))
        seen = set()
        for name, path in pages:
            if path in seen:
                continue
            seen.add(path)
            figures = time_page(client, path, requests, warmup)
            figures |= {"role": role, "page": name, "path": path}
            results.append(figures)
            flag = " SLOW" if figures["p95"] > TARGET_MS else ""
            log(f"{role:8} {name[:28]:28} p50 {figures['p50']:7.1f} p95 {figures['p95']:7.1f} ms  "
                f"{figures['queries']:3} q  {figures['status']}  load {figures['load']}{flag}")
    connection.force_debug_cursor = False
    if explain:
        write_explain(url, [r for r in results if r["p95"] > TARGET_MS and r["slowest_sql"]])
    return {"samples": s, "pages": results}


def write_explain(url: str, slow: list[dict]) -> None:
    out = VAR / "pages-explain.txt"
    with out.open("w") as handle, psycopg.connect(url) as conn:
        for r in slow:
            handle.write(f"== {r['role']} {r['page']} {r['path']} (slowest query {r['slowest_sql_ms']} ms)\n")
            handle.write(r["slowest_sql"] + "\n\n")
            try:
                plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + r["slowest_sql"]).fetchall()
                handle.write("\n".join(line for (line,) in plan) + "\n\n")
            except psycopg.Error as exc:  # e.g. the SQL as logged does not quote a literal
                handle.write(f"(not explained: {exc})\n\n")
                conn.rollback()
    log(f"EXPLAIN ANALYZE of the slow pages' slowest queries: {out}")


def markdown(summary: dict) -> str:
    lines = ["| role | page | p50 ms | p95 ms | max ms | queries | status | load (1/5/15 min) |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in summary["run"]["pages"]:
        p95 = f"**{r['p95']}**" if r["p95"] > TARGET_MS else str(r["p95"])
        lines.append(f"| {r['role']} | {r['page']} | {r['p50']} | {p95} | {r['max']} | {r['queries']} | "
                     f"{','.join(map(str, r['status']))} | {r['load']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a template already built with N policies")
    parser.add_argument("--only", help="roles, comma-separated (default: all seven)")
    parser.add_argument("--keep", action="store_true", help="keep rd_bench_pages (for EXPLAIN afterwards)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    summary: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": money.machine(),
                     "policies": args.policies, "load_start": loadavg()}
    if args.reuse and template_ready(args.policies):
        log(f"reusing {TEMPLATE}")
    else:
        # the build runs in a child process: Django is then set up on the run's database here
        done = subprocess.run([money.PY, __file__, "--_build", str(args.policies)], cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit("the build failed")
    setup_file = VAR / f"pages-{args.policies}-setup.json"
    if setup_file.exists():
        summary["setup"] = json.loads(setup_file.read_text())
    if args.build_only:
        return
    log(f"copying {TEMPLATE} to {RUN}")
    copy_database(TEMPLATE, RUN)
    summary["data"] = data_shape(url_of(RUN))
    log(f"data: {summary['data']}")
    roles = args.only.split(",") if args.only else ROLES
    try:
        summary["run"] = run(args.policies, args.requests, args.warmup, roles, args.explain)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            money.sql(ADMIN_URL, f"DROP DATABASE IF EXISTS {RUN} WITH (FORCE)")
    summary["load_end"] = loadavg()
    summary["slow"] = [f"{r['role']} {r['page']}: p95 {r['p95']} ms" for r in summary["run"]["pages"]
                       if r["p95"] > TARGET_MS]
    print(markdown(summary))
    for r in summary["run"]["pages"]:
        r.pop("slowest_sql", None) if r["p95"] <= TARGET_MS else None
    out = VAR / f"pages-{args.policies}.json"
    out.write_text(json.dumps(summary, ensure_ascii=False, default=str, indent=1))
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_build":
        setup = build(int(sys.argv[2]))
        VAR.mkdir(parents=True, exist_ok=True)
        (VAR / f"pages-{sys.argv[2]}-setup.json").write_text(json.dumps(setup, ensure_ascii=False, default=str,
                                                                        indent=1))
        print(json.dumps(setup, ensure_ascii=False, default=str))
    else:
        main()
