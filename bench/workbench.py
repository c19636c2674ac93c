"""Benchmark of the clerks' workbench (issue 14): 30 simulated clerks against gunicorn.

    .venv/bin/python bench/workbench.py [--policies 1000000] [--cases 100000] [--clerks 30]
                                        [--workers 3] [--duration 300] [--reuse]

Only databases whose names start with rd_bench are touched (DATABASE_URL, default
postgres://root@127.0.0.1:5432/rd_bench_wb).

Set-up (not timed; kept as the template <name>_tpl, reused with --reuse when it holds exactly N
policies and M open cases; migrations added since are applied to it): migrate, `seed_demo --policies N --seed 1 --as-of
2026-11-25` (bench/money.py's set-up), the schedules (installments_extend), then
  - eight renewal teams, one per leaf branch (WorkTeam with that branch), each with its share of the
    clerks (wbclerk01..30, role clerk, scoped to the team's branch) and an API token each;
  - M open cases (default 100,000) on every (N/M)-th policy: 70 % overdue follow-up, 30 % failed
    debit, routed to their branch's team, a deadline between 3 working days past and 20 ahead, a
    priority spread 0..149 by policy id (the queue order is what matters here, not the score);
  - VACUUM ANALYZE.
Each run copies the template to <name>, starts gunicorn (config.wsgi, W sync workers, settings
config.settings.dev with DEBUG off, the access log with each request's time in microseconds)
and runs locust headless (bench/locustfile_workbench.py; C users, spawned at 2/s, statistics reset
once all are spawned, for D seconds).
Each simulated clerk logs in through the login page and then loops like a person, pausing 1-3 s
between actions: the queue page (GET /renewals/cases/, then its tabs' counts as HTMX loads them,
GET /renewals/cases/counts/), "next case" through the API (POST
/api/v1/cases/claim-next/, token), the outcome of the call (POST /api/v1/cases/<id>/outcome/:
not reached, so the case waits for the next working day and leaves the pool).

Reported: locust's client-side p50/p95/p99 per request name, failures; gunicorn's server-side
p50/p95/p99 per request name (from the access log's %(D)s); after the run, from the database,
cases claimed more than once and claims overlapping in time (both must be 0), and what the
locust clients saw (a case handed to two clerks). /proc/loadavg before and after: the machine
is shared with other sessions. Prints a JSON summary as the last line (also written to
var/bench/workbench-<N>.json).
"""

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import money  # noqa: E402
import psycopg  # noqa: E402

AS_OF = dt.date(2026, 11, 25)
VAR = ROOT / "var" / "bench"
PASSWORD = "Bench-Workbench-2026"
LEAVES = ["GD-GZ", "GD-SZ", "BJ-CY", "SH-PD", "JS-NJ", "JS-SZ", "SC-CD", "ZJ-HZ"]
TEMPLATE_MARK = "workbench-bench-v1"

CASES_SQL = """
INSERT INTO renewals_case (policy_id, type, status, outcome, escalation, priority, priority_parts, deadline,
                           question, answer, category, opened_on, created_at, updated_at)
SELECT p.id, CASE WHEN p.id %% 10 < 7 THEN 'overdue_follow_up' ELSE 'failed_debit' END, 'open', '', 0,
       (p.id * 7919) %% 150, '{}'::jsonb, %(today)s::date + ((p.id / %(step)s) %% 24 - 4)::int,
       '', '', '', %(today)s::date - 10, now(), now()
FROM policies_policy p WHERE p.id %% %(step)s = 0 ORDER BY p.id LIMIT %(cases)s
"""
ROUTE_SQL = """
UPDATE renewals_case c SET team_id = wt.id
FROM policies_policy p JOIN policies_branch b ON b.id = p.branch_id
JOIN renewals_workteam_branches tb ON tb.branch_id = b.id JOIN renewals_workteam wt ON wt.id = tb.workteam_id
WHERE c.policy_id = p.id
"""


def log(message: str) -> None:
    print(f"[workbench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def with_name(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def copy_database(url: str, source: str, target: str) -> None:
    admin = money.admin_url(url)
    money.sql(admin, f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
    money.sql(admin, f"CREATE DATABASE {target} TEMPLATE {source} STRATEGY FILE_COPY")


def template_ready(url: str, policies: int, cases: int) -> bool:
    try:
        count = money.sql(url, "SELECT count(*) FROM policies_policy")[0][0]
        opened = money.sql(url, "SELECT count(*) FROM renewals_case WHERE status = 'open'")[0][0]
        mark = money.sql(url, "SELECT obj_description('renewals_case'::regclass)")[0][0]
    except psycopg.Error:
        return False
    if (count, opened, mark) != (policies, cases, TEMPLATE_MARK):
        return False
    check = subprocess.run([money.PY, "manage.py", "migrate", "--check"], cwd=ROOT, env=money.child_env(url),
                           capture_output=True)
    if check.returncode != 0:
        # other sessions add migrations all day: bring the template forward rather than seed again
        log("the template misses migrations of the code: migrating it")
        done = subprocess.run([money.PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=money.child_env(url))
        if done.returncode != 0:
            log("migrating the template failed: setting up again")
            return False
        money.sql(url, "VACUUM ANALYZE")
    return True


def setup(url: str, policies: int, cases: int, clerks: int) -> dict:
    """Seed, schedules, teams and clerks, open cases (in process, Django on DATABASE_URL)."""
    summary = money.setup(url, policies, reuse=False)
    from django.db import connection

    from billing.services.schedules import installments_extend

    start = time.perf_counter()
    summary["installments"] = installments_extend(as_of=AS_OF)
    summary["schedule_seconds"] = round(time.perf_counter() - start, 1)
    log(f"schedules: {summary['installments']} rows in {summary['schedule_seconds']} s")
    users_setup(clerks)
    from core.dates import business_today

    today = business_today()
    with connection.cursor() as cursor:
        cursor.execute(CASES_SQL, {"today": today, "step": max(1, policies // cases), "cases": cases})
        summary["cases"] = cursor.rowcount
        cursor.execute(ROUTE_SQL)
        cursor.execute(f"COMMENT ON TABLE renewals_case IS '{TEMPLATE_MARK}'")
    connection.close()
    log(f"cases: {summary['cases']}")
    money.settle(url)
    return summary


def users_setup(clerks: int) -> None:
    from rest_framework.authtoken.models import Token

    from accounts.services import user_create
    from policies.models import Branch
    from renewals.models import WorkTeam
    from renewals.services.teams import work_team_ensure

    for k in range(clerks):
        branch = LEAVES[k % len(LEAVES)]
        user = user_create(username=f"wbclerk{k + 1:02d}", password=PASSWORD, roles=["clerk"],
                           display_name=f"bench clerk {k + 1}")
        user.branches.set(Branch.objects.filter(code=branch))
        Token.objects.create(user=user, key=f"{k + 1:02d}".ljust(40, "0"))
        work_team_ensure(name=f"bench {branch}", kind=WorkTeam.Kind.RENEWAL, branch_codes=(branch,), members=[user])


# -- the run -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


NAME_PATTERNS = [
    (re.compile(r"^POST /api/v1/cases/\d+/outcome/"), "POST outcome"),
    (re.compile(r"^POST /api/v1/cases/claim-next/"), "POST claim-next"),
    (re.compile(r"^GET /renewals/cases/(\?|$| )"), "GET queue page"),
    (re.compile(r"^GET /renewals/cases/counts/"), "GET queue counts"),
    (re.compile(r"^(GET|POST) /accounts/login/"), "login"),
]


def server_times(access_log: Path) -> dict:
    """Per request name: count, p50/p95/p99 in ms, from gunicorn's access log ('%(r)s %(s)s %(D)s')."""
    times: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in access_log.read_text().splitlines():
        try:
            request, status, micros = line.rsplit(" ", 2)
        except ValueError:
            continue
        name = next((n for pattern, n in NAME_PATTERNS if pattern.search(request)), "other")
        times[name].append(int(micros) / 1000)
        statuses[name][status] += 1
    return {name: {"count": len(values), **quantiles(values), "statuses": dict(statuses[name])}
            for name, values in times.items()}


def quantiles(values: list[float]) -> dict:
    if len(values) < 2:
        return {"p50": values[0] if values else None, "p95": None, "p99": None}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1),
            "max": round(max(values), 1)}


DOUBLE_SQL = """
SELECT count(*) FROM (SELECT case_id FROM renewals_casehistory WHERE kind = 'claimed'
                      GROUP BY case_id HAVING count(*) > 1) x
"""
# two holds of one case overlapping in time: a claim, and the claim before it not yet followed
# by that case's contact (which ends the hold) or release
OVERLAP_SQL = """
WITH claims AS (
    SELECT case_id, actor_id, created_at,
           lead(created_at) OVER (PARTITION BY case_id ORDER BY created_at, id) AS next_claim
    FROM renewals_casehistory WHERE kind = 'claimed')
SELECT count(*) FROM claims c
WHERE c.next_claim IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM renewals_casehistory h WHERE h.case_id = c.case_id AND h.kind IN ('contact', 'released')
      AND h.created_at BETWEEN c.created_at AND c.next_claim)
"""


def run(url: str, args) -> dict:
    port = free_port()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    access_log = VAR / f"workbench-access-{stamp}.log"
    env = money.child_env(url)
    if not (ROOT / "var" / "staticfiles" / "staticfiles.json").exists():  # bin/dev collects them too
        subprocess.run([money.PY, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    gunicorn = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--workers", str(args.workers),
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access_log),
         "--access-logformat", "%(m)s %(U)s%(q)s %(s)s %(D)s", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(VAR / f"workbench-gunicorn-{stamp}.err", "w"))
    result: dict = {}
    try:
        wait_for(port)
        result["load_before"] = loadavg()
        csv_prefix = VAR / f"workbench-locust-{stamp}"
        claimed_file = VAR / f"workbench-claimed-{stamp}.json"
        log(f"locust: {args.clerks} clerks for {args.duration} s against 127.0.0.1:{port} "
            f"({args.workers} workers), load {result['load_before']}")
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "locust"), "-f", str(ROOT / "bench" / "locustfile_workbench.py"),
             "--headless", "-u", str(args.clerks), "-r", "2", "--reset-stats", "-t", f"{args.duration}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(csv_prefix), "--only-summary",
             "--stop-timeout", "10"],
            cwd=ROOT, env=dict(os.environ, WB_PASSWORD=PASSWORD, WB_CLERKS=str(args.clerks),
                               WB_CLAIMED=str(claimed_file)), check=False)
        result["load_after"] = loadavg()
        result["client"] = client_stats(Path(f"{csv_prefix}_stats.csv"))
        result["client_failures"] = Path(f"{csv_prefix}_failures.csv").read_text().count("\n") - 1
        seen = json.loads(claimed_file.read_text()) if claimed_file.exists() else {}
        result["client_claims"] = seen.get("claims", 0)
        result["client_duplicates"] = seen.get("duplicates", [])
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(30)
    result["server"] = server_times(access_log)
    result["db_claimed_twice"] = money.sql(url, DOUBLE_SQL)[0][0]
    result["db_overlapping_holds"] = money.sql(url, OVERLAP_SQL)[0][0]
    result["db_claims"] = money.sql(url, "SELECT count(*) FROM renewals_casehistory WHERE kind = 'claimed'")[0][0]
    result["access_log"] = str(access_log.relative_to(ROOT))
    return result


def client_stats(path: Path) -> dict:
    import csv

    rows = {}
    with path.open() as f:
        for row in csv.DictReader(f):
            rows[row["Name"]] = {"count": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                                 "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"]),
                                 "rps": round(float(row["Requests/s"]), 2)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clerks", type=int, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--duration", type=int, default=300)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--setup-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://root@127.0.0.1:5432/rd_bench_wb")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ.setdefault("DEBUG", "False")
    url = money.db_url()
    name = money.db_name(url)
    template = f"{name}_tpl"
    template_url = with_name(url, template)
    VAR.mkdir(parents=True, exist_ok=True)
    summary: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": money.machine(),
                     "policies": args.policies, "cases": args.cases, "clerks": args.clerks, "workers": args.workers,
                     "duration": args.duration}
    if args.reuse and template_ready(template_url, args.policies, args.cases):
        log(f"reusing the template {template}")
    else:
        import django

        django.setup()
        summary["setup"] = setup(url, args.policies, args.cases, args.clerks)
        copy_database(url, name, template)
    if args.setup_only:
        print(json.dumps(summary, ensure_ascii=False, default=str))
        return
    copy_database(url, template, name)
    summary.update(run(url, args))
    ok = (summary["db_claimed_twice"] == 0 and summary["db_overlapping_holds"] == 0
          and not summary["client_duplicates"] and summary["client_failures"] == 0)
    summary["ok"] = ok
    out = VAR / f"workbench-{args.policies}.json"
    out.write_text(json.dumps(summary, ensure_ascii=False, default=str, indent=1))
    for name_, figures in summary["client"].items():
        server = summary["server"].get(name_, {})
        log(f"{name_:18} n={figures['count']:6} fail={figures['failures']} client p95={figures['p95']} ms "
            f"server p95={server.get('p95')} ms")
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
