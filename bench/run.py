"""Benchmark of seed_demo and import_policies at a given portfolio size.

    bench/run.sh [SIZE] [--runs N]          (SIZE default 1000000, runs default 3)

Uses its own database rd_bench (dropped and created again before every timed command, then
migrated with manage.py migrate), never the development or test databases. Each run times:
  seed      manage.py seed_demo --policies SIZE --seed 1 --as-of 2026-11-25   (empty database)
  import    manage.py import_policies branches.csv products.csv policies.csv   (empty database)
  reimport  the same import again (the re-send: must change nothing)
and checks the outcome (row counts; the re-send reports every row unchanged). Phase timings
come from the DEBUG log lines of the logger policies.timing (LOG_LEVEL=DEBUG).
"""

import argparse
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://root@127.0.0.1:5432/postgres")
DB_NAME = "rd_bench"
DB_URL = ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
AS_OF = "2026-11-25"
SEED = "1"
TIMING_RE = re.compile(r"policies\.timing (\S+) ([0-9.]+)s")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def env() -> dict:
    return dict(os.environ, DATABASE_URL=DB_URL, DJANGO_SETTINGS_MODULE="config.settings.dev", LOG_LEVEL="DEBUG")


def admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def bench_sql(sql: str):
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def fresh_database() -> None:
    admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin(f"CREATE DATABASE {DB_NAME}")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
    bench_sql("VACUUM ANALYZE")
    admin("CHECKPOINT")


def timed(args: list[str]) -> tuple[float, dict, dict]:
    """Run a manage.py command; returns (seconds, its JSON report, phase timings)."""
    start = time.perf_counter()
    proc = subprocess.run([PY, "manage.py", *args, "--json"], cwd=ROOT, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"{args[0]} failed with exit code {proc.returncode}")
    phases: dict[str, float] = defaultdict(float)
    for match in TIMING_RE.finditer(proc.stderr):
        phases[match.group(1)] += float(match.group(2))
    return seconds, json.loads(proc.stdout.strip().splitlines()[-1]), dict(phases)


def counts() -> dict:
    (row,) = bench_sql(
        "SELECT (SELECT count(*) FROM policies_policy), (SELECT count(*) FROM policies_customer), "
        "(SELECT count(*) FROM policies_agent), (SELECT count(*) FROM policies_policystatuschange), "
        "(SELECT count(*) FROM policies_policyevent)"
    )
    return dict(zip(["policies", "customers", "agents", "status_changes", "policy_events"], row, strict=True))


def machine() -> dict:
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    (pg_version,) = psycopg.connect(ADMIN_URL).execute("SHOW server_version").fetchone()
    return {"nproc": os.cpu_count(), "cpu": cpu.group(1) if cpu else platform.machine(),
            "memory_gib": round(mem_kb / 1024 / 1024, 1), "postgresql": pg_version,
            "python": platform.python_version(), "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["seed", "import"], help="time only one of the two commands")
    parser.add_argument("--keep", action="store_true", help="leave rd_bench in place at the end")
    args = parser.parse_args()
    size = args.size
    data_dir = ROOT / "var" / "bench" / str(size)
    info = machine()
    log(f"machine: {info}")

    if args.only != "seed" and not (data_dir / "policies.csv").exists():
        log(f"writing {data_dir}/policies.csv ({size} rows)")
        subprocess.run([PY, "bench/make_csv.py", str(data_dir), "--policies", str(size), "--seed", SEED,
                        "--as-of", AS_OF], cwd=ROOT, check=True)
    files = [str(data_dir / name) for name in ("branches.csv", "products.csv", "policies.csv")]

    results: dict[str, list[float]] = defaultdict(list)
    phase_runs: dict[str, list[dict]] = defaultdict(list)
    for run in range(1, args.runs + 1):
        if args.only != "import":
            fresh_database()
            log(f"run {run}: seed_demo --policies {size}")
            seconds, report, phases = timed(["seed_demo", "--policies", str(size), "--seed", SEED, "--as-of", AS_OF])
            c = counts()
            assert report["created"] == size and c["policies"] == size, (report, c)
            log(f"run {run}: seed {seconds:.1f}s {c}")
            results["seed"].append(seconds)
            phase_runs["seed"].append(phases)
        if args.only != "seed":
            fresh_database()
            log(f"run {run}: import_policies ({size} rows)")
            seconds, report, phases = timed(["import_policies", *files, "--as-of", AS_OF])
            policies = report["files"][-1]
            assert (policies["rows"], policies["created"], policies["rejected"]) == (size, size, 0), policies
            c = counts()
            assert c["policies"] == size, c
            log(f"run {run}: import {seconds:.1f}s {c}")
            results["import"].append(seconds)
            phase_runs["import"].append(phases)
            seconds, report, phases = timed(["import_policies", *files, "--as-of", AS_OF])
            policies = report["files"][-1]
            assert (policies["created"], policies["updated"], policies["unchanged"]) == (0, 0, size), policies
            c2 = counts()
            assert c2 == c, (c, c2)
            log(f"run {run}: re-import {seconds:.1f}s (unchanged {policies['unchanged']})")
            results["reimport"].append(seconds)
            phase_runs["reimport"].append(phases)

    if not args.keep:
        admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    print(f"\nmachine: {info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB, PostgreSQL "
          f"{info['postgresql']}, Python {info['python']}; {info['date']}")
    print(f"size: {size:,} policies; {args.runs} run(s) each\n")
    print("| command | " + " | ".join(f"run {i}" for i in range(1, args.runs + 1)) + " | median |")
    print("| --- | " + " | ".join("---:" for _ in range(args.runs)) + " | ---: |")
    for name, times in results.items():
        print(f"| {name} | " + " | ".join(f"{t:.1f} s" for t in times) + f" | **{statistics.median(times):.1f} s** |")
    for name, runs in phase_runs.items():
        keys = list(dict.fromkeys(k for r in runs for k in r))
        if not keys:
            continue
        print(f"\n{name}: phases (median of {len(runs)} run(s))\n")
        print("| phase | seconds |\n| --- | ---: |")
        for key in keys:
            print(f"| {key} | {statistics.median(r.get(key, 0.0) for r in runs):.2f} |")


if __name__ == "__main__":
    main()
