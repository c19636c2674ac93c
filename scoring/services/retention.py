"""Retention of the nightly feature snapshot (about one row per in-force policy a night: a million
rows a night at a million policies).

Kept: every night of the last SCORING_SNAPSHOT_KEEP_DAYS days (the drift page reads the latest;
a month's reports look up the night before the month began), and the night of each month's first
day for SCORING_SNAPSHOT_KEEP_MONTHS months (the collection rate by risk decile of a month, a
quarter or a year is read against the deciles of the night its period began; the next model's
training reads dated facts, not the snapshot). Older nights are deleted, once a night, as one
statement over the whole table (the as_of index finds the nights that fell out of the window).
"""

import datetime as dt

from django.conf import settings
from django.db import connection

DEFAULT_KEEP_DAYS = 62
DEFAULT_KEEP_MONTHS = 25

PRUNE_SQL = """
DELETE FROM scoring_featuresnapshot
WHERE as_of < %(daily_from)s AND (as_of < %(monthly_from)s OR extract(day FROM as_of) <> 1)
"""


def snapshot_window(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """(first night kept daily, first month's first night kept) on `as_of`."""
    keep_days = int(getattr(settings, "SCORING_SNAPSHOT_KEEP_DAYS", DEFAULT_KEEP_DAYS))
    keep_months = int(getattr(settings, "SCORING_SNAPSHOT_KEEP_MONTHS", DEFAULT_KEEP_MONTHS))
    months = as_of.year * 12 + as_of.month - 1 - keep_months
    return as_of - dt.timedelta(days=keep_days - 1), dt.date(months // 12, months % 12 + 1, 1)


def snapshots_prune(as_of: dt.date, id_from: int = 0, id_to: int = 2**62) -> int:
    """The nightly step after lapse_risk (not chunked: whole nights go): deletes the snapshot rows
    that fell out of the window; returns their count."""
    daily_from, monthly_from = snapshot_window(as_of)
    with connection.cursor() as cursor:
        cursor.execute(PRUNE_SQL, {"daily_from": daily_from, "monthly_from": monthly_from})
        return cursor.rowcount
