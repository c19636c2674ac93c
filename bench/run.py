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
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
CODE = ROOT  # the checkout whose manage.py is timed (--code: e.g. an older version, for a before/after)
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
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=CODE, env=env(), check=True)
    bench_sql("VACUUM ANALYZE")
    admin("CHECKPOINT")


class BackendCpu(threading.Thread):
    """Samples the CPU time (user + system) of the PostgreSQL processes serving rd_bench
    (backends and parallel workers) while a command runs: the last sample of each process."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ticks: dict[int, int] = {}
        self.done = threading.Event()

    def run(self):
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self.done.wait(0.25):
                pids = [pid for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB_NAME])]
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.ticks[pid] = int(fields[11]) + int(fields[12])

    def seconds(self) -> float:
        self.done.set()
        self.join()
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def timed(args: list[str]) -> tuple[float, dict, dict]:
    """Run a manage.py command; returns (seconds, its JSON report, phase timings); the phase
    timings include cpu:python and cpu:postgres (CPU seconds of the command and of its
    PostgreSQL processes) and load:start / load:end (1-minute load average of the machine)."""
    load_start = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = BackendCpu()
    sampler.start()
    start = time.perf_counter()
    proc = subprocess.run([PY, "manage.py", *args, "--json"], cwd=CODE, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    backend = sampler.seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr[-5000:])
        raise SystemExit(f"{args[0]} failed with exit code {proc.returncode}")
    phases: dict[str, float] = defaultdict(float)
    for match in TIMING_RE.finditer(proc.stderr):
        phases[match.group(1)] += float(match.group(2))
    phases["cpu:python"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    phases["cpu:postgres"] = backend
    phases["load:start"] = load_start
    phases["load:end"] = os.getloadavg()[0]
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
    parser.add_argument("--code", type=Path, help="time the manage.py of another checkout (same data files)")
    args = parser.parse_args()
    if args.code:
        global CODE
        CODE = args.code.resolve()
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

    out = ROOT / "var" / "bench" / f"results-{size}{'-' + CODE.name if CODE != ROOT else ''}.json"
    out.write_text(json.dumps({"machine": info, "size": size, "times": results, "phases": phase_runs}, indent=1))
    print(f"\nmachine: {info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB, PostgreSQL "
          f"{info['postgresql']}, Python {info['python']}; {info['date']}")
    print(f"size: {size:,} policies; {args.runs} run(s) each; every run in a new database; code: {CODE}; "
          f"raw figures in {out}\n")
    print("| command | " + " | ".join(f"run {i}" for i in range(1, args.runs + 1)) + " | median |")
    print("| --- | " + " | ".join("---:" for _ in range(args.runs)) + " | ---: |")
    for name, times in results.items():
        print(f"| {name} | " + " | ".join(f"{t:.1f} s" for t in times) + f" | **{statistics.median(times):.1f} s** |")
    print_phases(results, phase_runs)


def _grouped(phases: dict, total: float) -> dict:
    """Restore steps summed by kind (their detail is printed apart), and the time outside the
    timed phases (start-up, branches and products, audit records)."""
    grouped: dict[str, float] = {}
    for key, seconds in phases.items():
        if key.startswith("restore:"):
            kind = {"unique": "unique constraints", "index": "indexes", "fk": "foreign keys"}[key.split(":")[1]]
            key = f"restore: {kind}"
        grouped[key] = grouped.get(key, 0.0) + seconds
    timed_phases = sum(v for k, v in grouped.items() if not k.startswith(("cpu:", "load:")))
    grouped["other (start-up, reference files, audit)"] = total - timed_phases
    return grouped


def print_phases(results: dict, phase_runs: dict) -> None:
    commands = [name for name in results if phase_runs.get(name)]
    grouped = {name: [_grouped(p, t) for p, t in zip(phase_runs[name], results[name], strict=True)]
               for name in commands}
    keys = list(dict.fromkeys(k for name in commands for run in grouped[name] for k in run))
    keys = [k for k in keys if not k.startswith(("cpu:", "load:"))] + [k for k in keys if k.startswith(("cpu:", "load:"))]
    print("\nphases, seconds (median of the runs; rows:python overlaps with PostgreSQL reading the COPY)\n")
    print("| phase | " + " | ".join(commands) + " |\n| --- | " + " | ".join("---:" for _ in commands) + " |")
    for key in keys:
        cells = [f"{statistics.median(run.get(key, 0.0) for run in grouped[name]):.2f}"
                 if any(key in run for run in grouped[name]) else "" for name in commands]
        print(f"| {key} | " + " | ".join(cells) + " |")
    details = list(dict.fromkeys(k for name in commands for run in phase_runs[name] for k in run
                                 if k.startswith("restore:")))
    if details:
        print("\nrestore steps of the bulk path, seconds (median)\n")
        print("| step | " + " | ".join(commands) + " |\n| --- | " + " | ".join("---:" for _ in commands) + " |")
        for key in details:
            cells = [f"{statistics.median(run.get(key, 0.0) for run in phase_runs[name]):.2f}"
                     if any(key in run for run in phase_runs[name]) else "" for name in commands]
            print(f"| {key.split(':', 1)[1]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
