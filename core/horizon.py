"""Where a night's step starts looking for what was written since its last run: the horizon.

The KPI snapshot (reporting.services.snapshot) records one per chunk, the nightly pipeline one per
step (renewals.StepRun.horizon, seen_xid); the next run reads the rows written since with
written_since.
"""

import datetime as dt

# Where the next night starts looking for changes to past days: the chunk's horizon, the start of
# the oldest transaction still open when the chunk began (its own included). A row the chunk could
# not see was written by a transaction open then or begun later, and carries a time at or after
# that start (the database's now() or the application's clock). CLOCK_MARGIN covers the
# application servers' clocks against the database's (kept within a second by NTP: 30 s is a wide
# cover). Inside the margin a row counts only when its transaction is not older than the oldest
# running when the chunk began (written_since): the night's own earlier steps write seconds before
# the step's horizon, and read again the next night they made it recompute every day they touched
# (bench/RESULTS.md parts 14 and 16: after a migration's first night, all of them). SINCE_MARGIN is
# the older rule, kept for snapshot runs recorded before the horizon was.
CLOCK_MARGIN = dt.timedelta(seconds=30)
SINCE_MARGIN = dt.timedelta(hours=1)
# HORIZON_SQL gives two things. The horizon: the oldest open transaction of this database as this
# role may see it (another role's sessions show no start: CLOCK_MARGIN is all that covers those, and
# only the nightly steps write facts' inputs under another role, before this step), of the client
# sessions only: an autovacuum writes no row of ours, and one that ran for minutes over the first
# night's 13.7 million installments pulled the horizon back to its start where its sessions are
# visible (a superuser's). And the oldest
# transaction id the chunk may not have seen (a 64-bit xid8): the snapshot's xmax
# (the newest ended id plus one) or the oldest still running in this database (backend_xid, shown
# for every role's sessions; transactions of other databases write no row here). A transaction
# older than it had ended before the chunk's first statement, and every later statement saw what
# it wrote.
# A backend_xid is 32 bits: its distance below xmax, modulo 2^32, gives its 64-bit value. A running
# transaction may hold an id at or above xmax (begun after the newest ended one): its distance
# wraps past 2^31 and it is left out, as every id from xmax on counts as unseen anyway.
HORIZON_SQL = """
WITH s AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next_xid),
running AS (
    SELECT (s.next_xid %% 4294967296 - a.backend_xid::text::bigint + 4294967296) %% 4294967296 AS below
    FROM s, pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.backend_xid IS NOT NULL
)
SELECT least(now(), (SELECT min(a.xact_start) FROM pg_stat_activity a
                     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
                       AND a.backend_type = 'client backend' AND a.xact_start IS NOT NULL)),
       s.next_xid - COALESCE((SELECT max(below) FROM running WHERE below < 2147483648), 0)
FROM s
"""


def written_since(column: str, alias: str) -> str:
    """A row of `alias` written since the last snapshot, by its time `column`: stamped at or after
    that snapshot's horizon (%(until)s), or inside the clock margin before it (from %(since)s) by a
    transaction the snapshot may not have seen, one not older than %(seen_xid)s (HORIZON_SQL; the
    row's xmin says, frozen rows being the oldest of all). Without the second test every row the
    night's own steps wrote in the margin, committed before the snapshot began, was read again the
    next night: after a migration's first night, all its installments (bench/RESULTS.md part 16).
    With no transaction id recorded (older runs) %(until)s is %(since)s."""
    return (f"({alias}.{column} >= %(until)s OR ({alias}.{column} >= %(since)s "
            f"AND age({alias}.xmin) <= age((%(seen_xid)s::bigint %% 4294967296)::text::xid)))")
