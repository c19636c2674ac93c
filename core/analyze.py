"""ANALYZE after a bulk write, when the write was large against what the planner last saw.

A bulk path (a night's step, a statement's import, the debit answers) writes many rows at once, and
the next statement that reads them plans with the table's statistics. A table never analysed, or
analysed while it was much smaller, gets plans for a small table: on a migration day the first night
after a 1,000,000-policy import, and a second large statement within a minute of the first, ran for
minutes where seconds do (bench/RESULTS.md parts 4 and 25). Autovacuum catches up, but later.

Enough to analyse: at least ANALYZE_MIN_ROWS rows written, and ANALYZE_FRACTION of the rows the
table was last analysed with (or it never was, or was analysed empty); autovacuum's
analyze_scale_factor, 0.1 by default, is the same measure. ANALYZE needs the table's ownership: the
application role calls the owner's rd_analyze (core/sql/grants.sql), which holds the allow-list.
"""

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def analyze_grown(tables: Iterable[str], rows: int, *, why: str) -> dict:
    """ANALYZE those of `tables` for which `rows` written is enough (module docstring). Returns
    {"analyzed": [...], "analyze_seconds": s}, or {} when none was. `why` names the writer in the log."""
    return analyze_tables(tables_grown(tables, rows), rows=rows, why=why)


def analyze_tables(tables: list[str], *, rows: int, why: str, at_once: bool = False) -> dict:
    """ANALYZE `tables` (as analyze_grown; `rows` for the log). `at_once`: outside a transaction,
    each on its own connection at the same time (a statement's money tables)."""
    if not tables:
        return {}
    started = time.monotonic()
    if at_once and len(tables) > 1 and not connection.in_atomic_block:
        with ThreadPoolExecutor(max_workers=len(tables), thread_name_prefix="analyze") as pool:
            for done in [pool.submit(_analyze_alone, table) for table in tables]:
                done.result()
    else:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute("SELECT rd_analyze(%s)", [table])
    seconds = round(time.monotonic() - started, 3)
    logger.info("%s: %s rows written, analysed %s in %.3f s", why, rows, ", ".join(tables), seconds)
    return {"analyzed": tables, "analyze_seconds": seconds}


def tables_grown(tables: Iterable[str], rows: int) -> list[str]:
    """Those of `tables` that `rows` written is enough to analyse (module docstring)."""
    tables = tuple(tables)
    if not tables or rows < settings.NIGHTLY_ANALYZE_MIN_ROWS:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                       [list(tables)])
        known = dict(cursor.fetchall())
    return [t for t in tables if known.get(t, 0) <= 0 or rows >= settings.NIGHTLY_ANALYZE_FRACTION * known[t]]


# A transaction's temporary table (a statement's lines, their candidates, what the set-based matcher
# decided) is analysed so that the statements after it plan with its size and its columns' distinct
# counts. A sample of 3,000 rows (statistics target 10; the server's default 100 samples 30,000)
# estimates both about as well for such a table, whose rows are all live, and costs a tenth: ANALYZE
# of a statement's 100,000 lines took 0.19-0.24 s at 100 and 0.02-0.03 s at 10 (bench/RESULTS.md
# part 31). A table of fewer rows is read whole either way.
TEMP_STATISTICS_TARGET = 10


def temp_tables_analyze(cursor, *tables: str) -> None:
    """ANALYZE the transaction's temporary `tables` (names written by the caller, never input) with
    TEMP_STATISTICS_TARGET; the target as it was before afterwards. Inside a transaction; one
    round trip."""
    cursor.execute("DO $analyze$ DECLARE was text := current_setting('default_statistics_target'); BEGIN "
                   f"PERFORM set_config('default_statistics_target', '{TEMP_STATISTICS_TARGET}', true); "
                   + "".join(f"ANALYZE {table}; " for table in tables)
                   + "PERFORM set_config('default_statistics_target', was, true); END $analyze$")


def _analyze_alone(table: str) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rd_analyze(%s)", [table])
    finally:
        connection.close()
