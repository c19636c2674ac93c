"""Replay one nightly step's chunk on a bench database, in one transaction that is rolled back,
timing each SQL statement (bench/RESULTS.md: the "replayed chunks" figures).

    DATABASE_URL=postgres://root@127.0.0.1:5432/rd_bench_m1m_mig_run1 DJANGO_SETTINGS_MODULE=config.settings.dev \\
        .venv/bin/python bench/step.py STEP DATE LO HI [--pre SQL ...] [--explain SUBSTRING] [--top N] [--commit]

The transaction is prepared as the pipeline prepares a chunk's (billing.services.schedules.
bulk_transaction_prepare). --pre runs SQL first, in the same transaction (an A/B: drop an index,
add a constraint, SET CONSTRAINTS ALL IMMEDIATE to count deferred checks, which a rollback never
runs). --explain prints EXPLAIN (ANALYZE, BUFFERS) of the first statement containing SUBSTRING and
stops. --commit keeps what the step wrote.
"""

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from billing.services.schedules import bulk_transaction_prepare  # noqa: E402
from renewals.services.steps import STEP_FUNCTIONS  # noqa: E402


def statement_timer(explain: str | None, record: Callable[[float, str], None]):
    """An execute wrapper that records each statement's seconds and text (whitespace squashed),
    or, for the first statement containing `explain`, prints EXPLAIN (ANALYZE, BUFFERS) and stops."""

    def timed(execute, sql, params, many, context):
        text = " ".join(sql.split())
        if explain and explain in text and not text.upper().startswith("EXPLAIN"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                print("\n".join(row[0] for row in cursor.fetchall()))
            raise SystemExit("explained (rolled back)")
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            record(time.perf_counter() - started, text)

    return timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=sorted(STEP_FUNCTIONS))
    parser.add_argument("date", type=dt.date.fromisoformat)
    parser.add_argument("lo", type=int)
    parser.add_argument("hi", type=int)
    parser.add_argument("--pre", action="append", default=[])
    parser.add_argument("--explain")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--commit", action="store_true")
    args = parser.parse_args()
    timings: list[tuple[float, str]] = []
    timed = statement_timer(args.explain, lambda seconds, sql: timings.append((seconds, sql[:160])))

    with transaction.atomic():
        bulk_transaction_prepare()
        with connection.cursor() as cursor:
            for sql in args.pre:
                cursor.execute(sql)
        with connection.execute_wrapper(timed):
            started = time.perf_counter()
            rows = STEP_FUNCTIONS[args.step](args.date, args.lo, args.hi)
            total = time.perf_counter() - started
        print(f"{args.step} {args.lo}-{args.hi}: rows={rows} total={total:.3f}s statements={len(timings)}")
        for seconds, sql in sorted(timings, reverse=True)[:args.top]:
            print(f"  {seconds:8.3f}  {sql}")
        if not args.commit:
            transaction.set_rollback(True)


if __name__ == "__main__":
    main()
