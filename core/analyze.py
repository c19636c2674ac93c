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

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def analyze_grown(tables: Iterable[str], rows: int, *, why: str) -> dict:
    """ANALYZE those of `tables` for which `rows` written is enough (module docstring). Returns
    {"analyzed": [...], "analyze_seconds": s}, or {} when none was. `why` names the writer in the log."""
    tables = tuple(tables)
    if not tables or rows < settings.NIGHTLY_ANALYZE_MIN_ROWS:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'",
                       [list(tables)])
        known = dict(cursor.fetchall())
    grown = [t for t in tables if known.get(t, 0) <= 0 or rows >= settings.NIGHTLY_ANALYZE_FRACTION * known[t]]
    if not grown:
        return {}
    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in grown:
            cursor.execute("SELECT rd_analyze(%s)", [table])
    seconds = round(time.monotonic() - started, 3)
    logger.info("%s: %s rows written, analysed %s in %.3f s", why, rows, ", ".join(grown), seconds)
    return {"analyzed": grown, "analyze_seconds": seconds}
