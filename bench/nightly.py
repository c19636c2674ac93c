"""Benchmark of the nightly pipeline on a seeded, scheduled portfolio, beside the minimal bare SQL
of its lapse step.

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_money \
        .venv/bin/python bench/nightly.py [--policies N] [--runs R] [--reuse]

Set-up (once): the database of DATABASE_URL is dropped, created, migrated and seeded (manage.py
seed_demo --policies N --seed 1 --as-of 2026-11-25), its schedules generated
(billing.services.schedules.installments_extend(as_of=2026-11-25)), VACUUM ANALYZE; the result is
kept as the template database <name>_tpl. --reuse keeps a template that holds exactly N policies.
Only databases whose names start with rd_bench are touched.

Each run (R runs, default 3) copies the template into a database of its own (<name>_run<N>, CREATE DATABASE ... TEMPLATE)
and runs, in process, with no Celery worker (the orchestrator does every chunk itself):

  day 1    renewals.services.pipeline.nightly_run(as_of=2026-11-25): the first run after seeding
  day 2    nightly_run(as_of=2026-11-26): a normal business date

Before each day, the database is copied again (<name>_bare) and bench/sql/nightly_bare.sql (the
rows of the state-changing steps, installment statuses, lapse and terminate, each in one statement
over the whole portfolio) is timed there, step by step; its row counts are compared with the
service's steps of that day, and its lapses (policy, lapse date, status-history row, trail row)
one by one.

Per day and step: rows and seconds from the StepRun rows (started_at to finished_at). Prints one
line per step, the medians, and a JSON summary as the last line.
"""

import argparse
import datetime as dt
import json
import os
import re
import statistics
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
    try:
        return money.sql(url, "SELECT count(*) FROM policies_policy")[0][0] == policies
    except psycopg.OperationalError:
        return False


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
    start = time.perf_counter()
    run = nightly_run(as_of=day)
    seconds = time.perf_counter() - start
    steps = [{"step": s.step, "rows": s.rows, "chunks": s.chunks, "seconds": round(s.seconds or 0.0, 2)}
             for s in StepRun.objects.filter(run=run).order_by("position")]
    connection.close()
    lapses = set(money.sql(url, LAPSES_SQL, (change_mark,)))
    trail = set(money.sql(url, TRAIL_SQL, (event_mark,)))
    return {"as_of": day.isoformat(), "status": run.status, "seconds": round(seconds, 2), "steps": steps,
            "lapses": lapses, "trail": trail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a template already seeded with N policies")
    args = parser.parse_args()

    url = money.db_url()
    name = money.db_name(url)
    template = f"{name}_tpl"
    template_url = with_name(url, template)
    sys.path.insert(0, str(ROOT))
    os.environ.update(money.child_env(url))
    summary = {"date": dt.datetime.now().isoformat(timespec="seconds"), "machine": money.machine(),
               "policies": args.policies, "runs": []}

    import django

    django.setup()
    from django.db import connection

    if args.reuse and template_ready(template_url, args.policies):
        log(f"reusing the template {template}")
    else:
        summary.update(money.setup(url, args.policies, reuse=False))
        from billing.services.schedules import installments_extend

        start = time.perf_counter()
        rows = installments_extend(as_of=DAYS[0])
        summary["schedule"] = {"seconds": round(time.perf_counter() - start, 1), "rows": rows}
        log(f"schedules: {summary['schedule']}")
        connection.close()
        money.settle(url)
        copy_database(url, name, template)
    summary["postgresql"] = money.sql(template_url, "SHOW server_version")[0][0]
    summary["installments"] = money.sql(template_url, "SELECT count(*) FROM billing_installment")[0][0]

    from django.conf import settings as django_settings

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
        for day in DAYS:
            bare = bare_steps(run_url, day)
            for step_name, step in bare["steps"].items():
                log(f"run {number} {day} {step_name:22s} (bare SQL) {step['seconds']:8.2f}s  {step['rows']:>9} rows")
            outcome = nightly_day(run_url, day)
            for step in outcome["steps"]:
                log(f"run {number} {day} {step['step']:22s} {step['seconds']:8.2f}s  {step['rows']:>9} rows "
                    f"({step['chunks']} chunks)")
            log(f"run {number} {day} whole run              {outcome['seconds']:8.2f}s  {outcome['status']}")
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
            state_service = sum(service_steps[step_name]["seconds"] for step_name in bare["steps"])
            state_bare = sum(step["seconds"] for step in bare["steps"].values())
            result["days"].append({
                "as_of": day.isoformat(), "seconds": outcome["seconds"], "steps": outcome["steps"],
                "bare": {k: v for k, v in bare.items() if k not in ("lapses", "trail")}, "compare": compare,
                "state_steps_service": round(state_service, 2), "state_steps_bare": round(state_bare, 2)})
        summary["runs"].append(result)
        connection.close()
        money.sql(money.admin_url(url), f"DROP DATABASE IF EXISTS {run_name} WITH (FORCE)")

    summary["median"] = {}
    for index, day in enumerate(DAYS):
        days = [r["days"][index] for r in summary["runs"]]
        entry = {"whole_run": round(statistics.median(d["seconds"] for d in days), 2),
                 "state_steps_service": round(statistics.median(d["state_steps_service"] for d in days), 2),
                 "state_steps_bare": round(statistics.median(d["state_steps_bare"] for d in days), 2),
                 "steps": {}, "bare_steps": {}}
        for step in days[0]["steps"]:
            entry["steps"][step["step"]] = round(statistics.median(
                next(s["seconds"] for s in d["steps"] if s["step"] == step["step"]) for d in days), 2)
        for step_name in days[0]["bare"]["steps"]:
            entry["bare_steps"][step_name] = round(
                statistics.median(d["bare"]["steps"][step_name]["seconds"] for d in days), 2)
        summary["median"][day.isoformat()] = entry
        log(f"median {day}: whole run {entry['whole_run']}s; state-changing steps {entry['state_steps_service']}s "
            f"vs bare SQL {entry['state_steps_bare']}s; steps {entry['steps']}; bare {entry['bare_steps']} "
            f"over {len(days)} runs")
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
