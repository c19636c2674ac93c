"""Benchmark of the KPI snapshot and the managers' pages at 1,000,000 policies (issue 15).

    .venv/bin/python bench/kpis.py [--policies N] [--reuse] [--requests R] [--skip-year] [--build-only]

Only databases whose names start with rd_bench are touched: the template rd_bench_kpis_tpl
(migrated, `seed_demo --policies N --seed 1 --as-of 2026-11-25`, schedules written with
billing.services.schedules.installments_extend(as_of=2026-11-25), VACUUM ANALYZE; --reuse keeps a
template holding exactly N policies) and rd_bench_kpis, copied from it for each run.

Timed, in process, with no Celery worker (every chunk one after the other, each in its own
transaction, as the nightly orchestrator runs one chunk; the night runs two at a time):
  night 1   kpi_snapshot(as_of=2026-11-25) over every chunk: the first snapshot (the policies'
            slice rows, every day with data up to the night)
  night 2   kpi_snapshot(as_of=2026-11-26): a normal night, one day (the target: < 30 s); a
            template built by this run is first left to age past the snapshot's clock margin
            (reporting.services.snapshot.CLOCK_MARGIN), else night 2 takes every seeded row for
            a change since night 1
  pages     R requests each (default 40, after 5 not counted) of the dashboard (/reporting/, a
            month) and the drill-downs (/reporting/drill/, collection rate and lapse rate, first
            page), as a
            head-office manager through Django's test client: median and p95 (target < 100 ms)
  year      a year of history rebuilt set-based: kpi_rebuild_all(as_of=2027-11-25), every chunk, two at
            a time (as manage.py kpi_rebuild runs them),
            every fact from scratch: the seeded schedules' installments due 2026-11-26 to
            2027-11-25 (a year of due days, each policy's installments of that year), target < 10
            min; then the pages again, over the year's last month and the whole year.
The seeded schedules carry no money after the night, so the year's "received in time" sums find
nothing (the subquery runs, on an empty index range): a lower bound for a year with payments.
Records /proc/loadavg before and after each step: the machine is shared with other sessions.
The last line is a JSON summary (also written to var/bench/kpis-N.json).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project, for django.setup()
import money  # noqa: E402  (the shared database plumbing)

ROOT = money.ROOT
BASE = os.environ.get("BENCH_KPIS_URL", "postgres://root@127.0.0.1:5432/rd_bench_kpis")
AS_OF = dt.date(2026, 11, 25)
YEAR_AS_OF = dt.date(2027, 11, 25)


def loadavg() -> list[float]:
    return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]


def cpu() -> float:
    """CPU seconds (user + system) so far of this process and of its PostgreSQL backend (the server
    runs on this machine: /proc): a figure the other load on the machine does not inflate."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return backend + own.user + own.system


def template(url: str, policies: int, reuse: bool) -> dict:
    tpl = url + "_tpl"
    if reuse:
        try:
            # seeded and its schedules written: the mark is made last (a run cut short leaves none)
            ready = money.sql(tpl, "SELECT (SELECT count(*) FROM policies_policy), "
                                   "to_regclass('bench_kpis_template_ready') IS NOT NULL")[0]
            if ready == (policies, True):
                money.log(f"reusing {money.db_name(tpl)}")
                return {"seed_seconds": None, "extend_seconds": None}
        except Exception as exc:  # noqa: BLE001  (no template yet)
            money.log(f"no template to reuse ({exc.__class__.__name__})")
    out = money.setup(tpl, policies, reuse=False)
    start = time.perf_counter()
    subprocess.run([money.PY, "manage.py", "shell", "-c",
                    "import datetime as dt; from billing.services.schedules import installments_extend; "
                    f"installments_extend(as_of=dt.date({AS_OF.year}, {AS_OF.month}, {AS_OF.day}))"],
                   cwd=ROOT, env=money.child_env(tpl), check=True)
    out["extend_seconds"] = round(time.perf_counter() - start, 1)
    money.settle(tpl)
    money.sql(tpl, "CREATE TABLE bench_kpis_template_ready ()")
    out["built_at"] = time.time()
    return out


def copy(url: str) -> None:
    name = money.db_name(url)
    money.sql(money.admin_url(url), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    money.sql(money.admin_url(url), f"CREATE DATABASE {name} TEMPLATE {name}_tpl")
    # a reused template may predate this checkout's last migrations
    subprocess.run([money.PY, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=money.child_env(url),
                   check=True)


def snapshot_all(as_of: dt.date, *, rebuild: bool = False) -> dict:
    from django.db import transaction

    from billing.services.schedules import policy_id_chunks
    from reporting.services.snapshot import kpi_rebuild_all, kpi_snapshot

    before = loadavg()
    cpu_before = cpu()
    start = time.perf_counter()
    rows = 0
    chunks = policy_id_chunks()
    if rebuild:  # as `manage.py kpi_rebuild` does: two chunks at a time
        rows = kpi_rebuild_all(as_of=as_of, workers=2)
    for lo, hi in chunks if not rebuild else ():
        with transaction.atomic():
            rows += kpi_snapshot(as_of, lo, hi)
    # as the nightly pipeline does after the step: the tables it bulk-wrote analysed when it wrote
    # many rows (the first night); this server runs without autovacuum
    from renewals.services.pipeline import _analyze_after

    analyzed = _analyze_after("kpi_snapshot", rows)
    seconds = time.perf_counter() - start
    return {"as_of": as_of.isoformat(), "seconds": round(seconds, 1), **analyzed, "cpu_seconds": round(cpu() - cpu_before, 1),
            "fact_rows": rows, "chunks": len(chunks),
            "load_before": before, "load_after": loadavg()}


def pages(requests: int, periods: dict[str, tuple[str, str]]) -> dict:
    from django.test import Client

    from accounts.models import User
    from accounts.services import user_create
    from policies.models import Branch

    user = User.objects.filter(username="bench_manager").first()
    if user is None:
        user = user_create(username="bench_manager", password="Bench-Password-2026!", roles=["manager"],
                           display_name="bench")
        user.branches.set(Branch.objects.filter(parent__isnull=True))
    # as the web process opens its sessions (core.db_sessions: statement timeout, no parallel
    # workers, kept between requests), put back afterwards for the snapshot steps
    from django.db import connection

    from core.db_sessions import web_database_sessions

    saved = dict(connection.settings_dict["OPTIONS"]), connection.settings_dict["CONN_MAX_AGE"]
    connection.close()
    web_database_sessions()
    client = Client()
    client.force_login(user)
    try:
        return _pages(client, requests, periods)
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"], connection.settings_dict["CONN_MAX_AGE"] = saved


def _pages(client, requests: int, periods: dict[str, tuple[str, str]]) -> dict:
    out = {}
    for label, (start, end) in periods.items():
        for page, url in (("dashboard", f"/reporting/?from={start}&to={end}"),
                          ("drill", f"/reporting/drill/?metric=collection_rate&from={start}&to={end}"),
                          ("drill lapses", f"/reporting/drill/?metric=lapse_rate&from={start}&to={end}")):
            before = loadavg()
            times = []
            cpu_start = 0.0
            for n in range(requests + 5):
                if n == 5:
                    cpu_start = cpu()
                t0 = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - t0) * 1000
                assert response.status_code == 200, (url, response.status_code)
                if n >= 5:
                    times.append(elapsed)
            times.sort()
            out[f"{page} {label}"] = {
                "url": url, "requests": requests, "median_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1), "max_ms": round(times[-1], 1),
                "cpu_ms_per_request": round((cpu() - cpu_start) * 1000 / requests, 1),
                "load_before": before, "load_after": loadavg()}
            money.log(f"{page} {label}: median {out[f'{page} {label}']['median_ms']} ms, "
                      f"p95 {out[f'{page} {label}']['p95_ms']} ms")
    return out


def counts() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        out = {}
        for table in ("policies_policy", "billing_installment", "reporting_dailyfact", "reporting_monthlyfact",
                      "reporting_policyslice"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant names)
            out[table] = cursor.fetchone()[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policies", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--skip-year", action="store_true")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the template and stop")
    args = parser.parse_args()
    url = BASE
    if not money.db_name(url).startswith("rd_bench"):
        raise SystemExit("the bench database's name starts with rd_bench")
    result: dict = {"machine": money.machine(), "policies": args.policies, "started": time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime()), "load_start": loadavg()}
    result["setup"] = template(url, args.policies, args.reuse)
    if args.build_only:
        print(json.dumps(result, default=str))
        return
    copy(url)
    os.environ.update(money.child_env(url))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    import django

    django.setup()
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS.append("testserver")
    built_at = result["setup"].get("built_at")
    if built_at is not None:
        # night 2 looks for changed rows from night 1's horizon less reporting's CLOCK_MARGIN (30 s;
        # 5 minutes when part 13 was measured): a template written within that margin before night 1
        # makes every seeded row look changed, and night 2 recomputes every day (a night comes a day
        # after the last writes, not two minutes)
        from reporting.services.snapshot import CLOCK_MARGIN

        wait = built_at + CLOCK_MARGIN.total_seconds() + 5 - time.time()
        if wait > 0:
            money.log(f"waiting {wait:.0f} s: the template is younger than the snapshot's clock margin")
            time.sleep(wait)
    money.log("night 1 (first snapshot)")
    result["night1"] = snapshot_all(AS_OF)
    money.log(f"night 1: {result['night1']}")
    result["night2"] = snapshot_all(AS_OF + dt.timedelta(days=1))
    money.log(f"night 2 (one day): {result['night2']}")
    result["pages_night2"] = pages(args.requests, {"2026-11": ("2026-11-01", "2026-11-30")})
    if not args.skip_year:
        result["year"] = snapshot_all(YEAR_AS_OF, rebuild=True)
        money.log(f"year rebuilt: {result['year']}")
        result["pages_year"] = pages(args.requests, {"2027-10": ("2027-10-01", "2027-10-31"),
                                                     "year": ("2026-11-26", "2027-11-25")})
    result["counts"] = counts()
    result["load_end"] = loadavg()
    out = ROOT / "var" / "bench" / f"kpis-{args.policies}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
