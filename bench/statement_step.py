"""Replay a bank statement's import on a bench database, in one transaction that is rolled back,
timing each SQL statement and the time spent outside the database (parsing, Python).

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_m1m_mig_run1 DJANGO_SETTINGS_MODULE=config.settings.dev \\
        .venv/bin/python bench/statement_step.py [--lines N] [--date D] [--pre SQL ...] [--explain SUBSTRING] [--top N]

The file is written as bench/nightly.py writes its statements (N lines, default 100,000, each
paying exactly the oldest open installment of a distinct in-force policy named in 摘要; picked from
what is open now), under var/bench/. The import runs inside an outer transaction (its own becomes
a savepoint), so the database is left as it was: the same file can be replayed, the variants of a
change alternately (--pre runs SQL first, in that transaction).

--copy imports into a copy of the database made for the replay (CREATE DATABASE ... TEMPLATE, a
few seconds, then a CHECKPOINT) at the top level, as bench/nightly.py and production do, and
commits: the figures then hold what a savepoint hides (the checks deferred to the commit, and what
the reference checks skip for rows of the top transaction: core.references), and a large file is
imported in parts (billing.services.statements: the parts' connections are not timed per
statement). The copy is dropped afterwards.

Besides the wall time it prints the CPU seconds of this process (every thread) and of the database
server when it runs on this machine (its processes, and the backends that ended meanwhile: the
postmaster's reaped children). On a machine whose speed moves from minute to minute, compare
variants by both, run alternately (bench/RESULTS.md part 30).
"""

import argparse
import datetime as dt
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

import money  # noqa: E402
import nightly  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from step import statement_timer  # noqa: E402

from billing.services.statements import statement_import  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--pre", action="append", default=[])
    parser.add_argument("--explain")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--copy", action="store_true")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    path = nightly.ROOT / "var" / "bench" / f"statement-step-{args.lines}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        made = nightly.statement_file(url, args.lines, args.date, path, number=9)
        print(f"wrote {path} ({made['lines']} lines)")
    data = path.read_bytes()
    timings: dict[str, list[float]] = defaultdict(list)
    timed = statement_timer(args.explain, lambda seconds, sql: timings[sql[:150]].append(seconds))

    copy = _replay_copy(url) if args.copy else None
    server = _server_cpu()
    python = time.process_time()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                for sql in args.pre:
                    cursor.execute(sql)
            if copy is None:
                total = _import(path, data, args, timed)
                transaction.set_rollback(True)
        if copy is not None:  # the import's own transaction is the top one, and commits
            total = _import(path, data, args, timed)
        python = time.process_time() - python
        server = _server_cpu() - server if server >= 0 else -1.0
    finally:
        if copy is not None:
            connection.close()
            money.sql(copy[0], f"DROP DATABASE IF EXISTS {copy[1]}")
    in_sql = sum(sum(v) for v in timings.values())
    print(f"total={total:.3f}s sql={in_sql:.3f}s outside={total - in_sql:.3f}s "
          f"statements={sum(len(v) for v in timings.values())} cpu: python={python:.2f}s "
          + (f"server={server:.2f}s" if server >= 0 else "server=(not on this machine)"))
    for sql, seconds in sorted(timings.items(), key=lambda kv: -sum(kv[1]))[:args.top]:
        print(f"  {sum(seconds):8.3f} x{len(seconds):<5} {sql}")


def _import(path, data, args, timed) -> float:
    with connection.execute_wrapper(timed):
        started = time.perf_counter()
        report = statement_import(name=path.name, data=data, format="csv", template="cn-online-banking",
                                  as_of=args.date)
        total = time.perf_counter() - started
    print(f"statement {report['lines']} lines, matched {report['matched']}, suspense {report['suspense']}")
    return total


def _server_cpu() -> float:
    """CPU seconds the database server has used: its processes' own and those of the children it
    reaped (the ended backends), from /proc; -1 when the server is not a process of this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        status = Path(f"/proc/{backend}/status").read_text()
        postmaster = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        ticks = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            if proc.name == str(postmaster):
                ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            elif int(fields[1]) == postmaster:
                ticks += int(fields[11]) + int(fields[12])
    except (OSError, StopIteration, ValueError):
        return -1.0
    return ticks / os.sysconf("SC_CLK_TCK")


def _replay_copy(url: str) -> tuple[str, str]:
    """A copy of the bench database for one committed replay; Django's connection pointed at it."""
    source = connection.settings_dict["NAME"]
    target = f"{source}_replay"
    connection.close()
    admin = url.rsplit("/", 1)[0] + "/postgres"
    money.sql(admin, f"DROP DATABASE IF EXISTS {target}")
    money.sql(admin, f"CREATE DATABASE {target} TEMPLATE {source}")
    money.sql(admin, "CHECKPOINT")  # the copy's pages written out before the replay, not during it
    connection.settings_dict["NAME"] = target
    return admin, target


if __name__ == "__main__":
    main()
