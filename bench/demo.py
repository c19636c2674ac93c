"""Benchmark of the demo department's whole build as bin/dev does it on a fresh machine: migrate
an empty database, then `manage.py demo_build` (demo users, the seed_demo portfolio, and the
product run over every business date of the span with the day's files imported and the demo
users acting). Prints the seconds of each phase and, as the last line, the total:

    .venv/bin/python bench/demo.py [--policies 3000] [--days 120] [--end YYYY-MM-DD] [--runs 1]

The database is rd_bench_demo on the server of DATABASE_URL (default postgres://root@127.0.0.1:5432),
dropped and created for each run; only databases whose names start with rd_bench are touched.
Each phase runs as its own manage.py process, as bin/dev runs them, so interpreter start-up and
Django's set-up are counted. The budget (issue 11): under 120 s at 3,000 policies and 120 days on
the 2-core development machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
NAME = "rd_bench_demo"


def _server_url() -> str:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/renewal_desk"))
    return urlunsplit((url.scheme, url.netloc, "", "", ""))


def _psql(server: str, sql: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-qc", sql], check=True, stdout=subprocess.DEVNULL)


def _manage(env: dict, *args: str) -> float:
    began = time.perf_counter()
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def run_once(*, policies: int, days: int, end: str | None) -> dict:
    server = _server_url()
    assert NAME.startswith("rd_bench")
    _psql(server, f"DROP DATABASE IF EXISTS {NAME}")
    _psql(server, f"CREATE DATABASE {NAME}")
    env = {**os.environ, "DATABASE_URL": f"{server}/{NAME}", "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    migrate = _manage(env, "migrate", "--noinput", "-v", "0")
    build_args = ["demo_build", "--policies", str(policies), "--days", str(days), "--quiet"]
    if end:
        build_args += ["--end", end]
    build = _manage(env, *build_args)
    return {"migrate": round(migrate, 1), "demo_build": round(build, 1), "total": round(migrate + build, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=3000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--end", help="last business date (default: yesterday)")
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args()
    results = []
    for number in range(1, options.runs + 1):
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        result = run_once(policies=options.policies, days=options.days, end=options.end)
        result["load_before"] = load
        results.append(result)
        print(f"run {number}: migrate {result['migrate']} s, demo_build {result['demo_build']} s, "
              f"total {result['total']} s (load before {load})", file=sys.stderr)
    summary = {"policies": options.policies, "days": options.days, "runs": results,
               "median_total": statistics.median(r["total"] for r in results)}
    print(json.dumps(summary))
    print(f"{summary['median_total']:.1f}")


if __name__ == "__main__":
    main()
