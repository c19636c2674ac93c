"""Premium schedules: installments materialised set-based, chunk by chunk of policy ids.

Installment k of a policy is due at issue_date + k x (12 / f) months, computed from the issue
date each time and clipped to the month's end (PostgreSQL's date + interval does the clipping:
31 Jan + 1 month = 28/29 Feb). k = 1 .. n x f - 1 for a premium term of n years; nothing is
due on or after issue + n years. A schedule starts at the first unpaid installment (the first
due date on or after paid_to_date) and is kept through the business date + 13 months, for
lapsed and deferred policies too (DESIGN.md section 3, Due dates).

A payment plan change to another frequency, effective from a due date E that is also a due date
of the new frequency, anchors the schedule there (Policy.schedule_anchor_sequence a, the next free
sequence, and schedule_anchor_months b, the whole months from the issue date to E): installment
s >= a is due at issue_date + b + (s - a) x (12 / f) months, still computed from the issue date.
With a = b = 0 this is the formula above.
"""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import connection, connections, transaction

from audit.services import audit_context, operation_record
from billing.models import Installment
from core.dates import add_months
from policies import lifecycle

CHUNK_SIZE = 50_000
# status values bound into EXTEND_SQL, from the one place each is defined
EXTEND_STATUS_PARAMS: dict[str, str | list[str]] = {
    "scheduled_policies": lifecycle.sql_values(lifecycle.PAYING),
    "scheduled": Installment.Status.SCHEDULED.value, "due": Installment.Status.DUE.value,
    "overdue": Installment.Status.OVERDUE.value}
# chunks installments_extend does at once outside a transaction (each on its own connection)
EXTEND_THREADS = 2

# months_between(a, b): whole months from a to b (age() counts them the calendar way).
# The last sequence of every policy of the chunk comes from one of two places ({last_cte},
# {last_join}, {last_seq} below, chosen per chunk by installments_extend_chunk):
# - LAST_AGGREGATE: read once for the chunk (MATERIALIZED) by aggregating its installments. Used
#   while the planner's statistics believe billing_installment small (never analysed, or analysed
#   when nearly empty: the first night after a migration's import): looked up per policy, such a
#   table is scanned sequentially per policy, and the scan grows with every row the statement
#   inserts.
# - LAST_PROBE: one look-up per policy at the end of its (policy_id, sequence) index. Once the
#   table is known to be large (a normal night), this reads one index entry per policy instead of
#   every installment of the chunk (730,000 rows a chunk on the 1,000,000-policy bench: 0.3 of
#   the chunk's 0.5 s; bench/RESULTS.md part 7).
LAST_AGGREGATE = {
    "last_cte": """last AS MATERIALIZED (
    SELECT i.policy_id, max(i.sequence) AS last_seq FROM billing_installment i
    WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s
    GROUP BY i.policy_id
),""",
    "last_join": "LEFT JOIN last ON last.policy_id = pol.id",
    "last_seq": "last.last_seq",
}
LAST_PROBE = {
    "last_cte": "",
    "last_join": "",
    "last_seq": "(SELECT max(i.sequence) FROM billing_installment i WHERE i.policy_id = pol.id)",
}
# the planner's row count of billing_installment from which LAST_PROBE is used
EXTEND_PROBE_MIN_ROWS = 100_000
# Every sequence written is above the policy's last one (k_from), as the statement's snapshot saw
# it, so a plain INSERT writes no duplicate and a rerun writes nothing. No ON CONFLICT: its
# speculative insertion cost 15 % of the first night after a migration's import (0.8 s of a
# 751,647-row chunk; bench/RESULTS.md part 21). A transaction that adds the same policy's
# installments meanwhile (a frequency change applied while the chunk runs) makes the chunk fail
# on installment_unique_sequence; the pipeline retries it, and the retry starts after the new ones.
PER_YEAR = {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12}
# the same in SQL, for a policy alias {policy} (any other frequency counts as monthly)
PER_YEAR_SQL = ("(CASE {policy}.frequency "
                + " ".join(f"WHEN '{frequency}' THEN {n}" for frequency, n in PER_YEAR.items() if n != 12)
                + " ELSE 12 END)")
EXTEND_SQL = """
WITH claimed AS (  -- the chunk's schedule changes (policies.ScheduleChange), read once and forgotten
    DELETE FROM policies_schedulechange c WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s RETURNING c.policy_id
),
{last_cte}
p AS (
    SELECT pol.id, pol.issue_date, pol.paid_to_date, pol.modal_premium, pr.grace_days,
           12 / f.per_year AS step, pol.premium_term_years * 12 AS term_months, {last_seq} AS last_seq,
           pol.schedule_anchor_sequence AS a, pol.schedule_anchor_months AS b
    FROM policies_policy pol
    JOIN policies_product pr ON pr.id = pol.product_id
    {last_join}
    CROSS JOIN LATERAL (SELECT """ + PER_YEAR_SQL.format(policy="pol") + """ AS per_year) f
    WHERE pol.id BETWEEN %(lo)s AND %(hi)s AND pol.status = ANY(%(scheduled_policies)s) {candidates}
),
bounds AS (
    SELECT p.*,
        GREATEST(1, a, COALESCE(last_seq + 1, 0),
                 a + ((extract(year FROM age(paid_to_date, issue_date)) * 12
                       + extract(month FROM age(paid_to_date, issue_date)))::int - b) / step) AS k_from,
        LEAST(a + (term_months - b) / step - 1,
              a + ((extract(year FROM age(%(horizon)s::date, issue_date)) * 12
                    + extract(month FROM age(%(horizon)s::date, issue_date)))::int - b) / step + 1) AS k_to
    FROM p
),
-- each due date computed once (OFFSET 0 keeps the subquery from being flattened, which wrote the
-- date arithmetic into the filter twice and the output once: 119 ms against 78 ms for 315,008 rows)
rows AS (
    SELECT b.id AS policy_id, d.sequence, d.due_date, b.grace_days, b.modal_premium, b.paid_to_date
    FROM bounds b CROSS JOIN LATERAL (
        SELECT k AS sequence, (b.issue_date + make_interval(months => b.b + (k - b.a) * b.step))::date AS due_date
        FROM generate_series(b.k_from, b.k_to) AS k OFFSET 0) d
)
INSERT INTO billing_installment (policy_id, sequence, due_date, grace_end, amount_due, amount_paid, status,
                                 created_at, updated_at)
SELECT policy_id, sequence, due_date, due_date + grace_days, modal_premium, 0,
       CASE WHEN due_date > %(as_of)s THEN %(scheduled)s WHEN due_date = %(as_of)s THEN %(due)s ELSE %(overdue)s END,
       now(), now()
FROM rows
WHERE due_date >= paid_to_date AND due_date <= %(horizon)s
"""

# After a night that extended every schedule through its horizon H0, tonight's (H1) adds rows only to
# a policy with a due date in (H0, H1] (due dates grow with the sequence), or to one whose schedule
# changed since (claimed). A due date of a policy issued on day d, m months after its issue month,
# falls on a day of the window when that day is d (or the month's last day, for d past it) and m is
# b plus a multiple of the step: tested against the window's few days in arithmetic, with no look-up
# of the policy's installments (a normal night probes 1 policy in 30 instead of all of them).
# The policies whose issue day is one of the window's (or past a window day that ends its month) are
# found first through the index of the issue day (policy_issue_day: a normal night's one day in
# thirty), and only those are tested against the window's months: the chunk's other policies are not
# read (bench/RESULTS.md part 26).
WINDOW_CANDIDATES = """AND pol.id IN (
    SELECT policy_id FROM claimed
    UNION ALL
    SELECT q.id FROM policies_policy q
    WHERE q.id BETWEEN %(lo)s AND %(hi)s AND extract(day FROM q.issue_date) = ANY(%(window_issue_days)s::numeric[])
      AND EXISTS (
        SELECT 1 FROM unnest(%(window_day)s::int[], %(window_month)s::int[], %(window_month_end)s::bool[]) w(day, month, last)
        WHERE (w.day = extract(day FROM q.issue_date) OR (w.last AND extract(day FROM q.issue_date) > w.day))
          AND (w.month - extract(year FROM q.issue_date)::int * 12 - extract(month FROM q.issue_date)::int
               - q.schedule_anchor_months) %% (12 / """ + PER_YEAR_SQL.format(policy="q") + """) = 0))"""


WINDOW_MAX = dt.timedelta(days=31)


def horizon_window(*, previous: dt.date, as_of: dt.date) -> dict[str, list]:
    """The days in (horizon(previous), horizon(as_of)], as WINDOW_CANDIDATES reads them: day of the
    month, month number (year x 12 + month) and whether the day is its month's last."""
    days, day = [], schedule_horizon(previous) + dt.timedelta(days=1)
    while day <= schedule_horizon(as_of):
        days.append(day)
        day += dt.timedelta(days=1)
    ends = [(d + dt.timedelta(days=1)).month != d.month for d in days]
    # the issue days whose due dates can fall in the window: its days, and every later day of the
    # month after a window day that is its month's last (a policy issued on the 31st is due on 30 November)
    issue_days = {d.day for d in days} | {n for d, end in zip(days, ends, strict=True) if end for n in range(d.day, 32)}
    return {"window_day": [d.day for d in days], "window_month": [d.year * 12 + d.month for d in days],
            "window_month_end": ends, "window_issue_days": sorted(issue_days)}


# Settings for a transaction that writes many rows with set-based SQL (bulk_transaction_prepare):
# - pgtrigger.ignore = '{}'. The trail's trigger functions (pgtrigger, pghistory) read this setting
#   inside a plpgsql exception block; unset, reading it raises, and the block rolls back a
#   subtransaction for every row a tracked table writes. Each such rollback walks the
#   transaction's whole queue of deferred trigger events (Django's foreign keys are DEFERRABLE
#   INITIALLY DEFERRED), so a transaction writing n tracked rows costs n squared. Set to the empty
#   list it ignores no trigger and raises nothing (pgtrigger.ignore() still overrides it).
# - jit = off. These statements are estimated expensive (a generate_series per policy) and JIT
#   compiles each of them for about a second, more than most of them take to run.
# - work_mem = 64MB: the hashes and sorts of a chunk or a statement file stay in memory.
BULK_TRANSACTION_SQL = ("SELECT set_config('pgtrigger.ignore', '{}', true), set_config('jit', 'off', true), "
                        "set_config('work_mem', '64MB', true)")


def bulk_transaction_prepare() -> None:
    """Call inside a transaction that writes many rows set-based; lasts until it ends."""
    with connection.cursor() as cursor:
        cursor.execute(BULK_TRANSACTION_SQL)


@dataclass
class ChunkResult:
    id_from: int
    id_to: int
    rows: int


def schedule_step_months(frequency: str) -> int:
    return 12 // PER_YEAR[frequency]


def schedule_anchor_months(*, issue_date: dt.date, day: dt.date, frequency: str) -> int | None:
    """The whole months from the issue date to `day` when `day` is a due date of `frequency`
    counted from the issue date (issue + m months == day, month-end clipping, m a multiple of the
    frequency's interval), else None: where a change to that frequency may anchor the schedule."""
    months = (day.year - issue_date.year) * 12 + day.month - issue_date.month
    if months <= 0 or months % schedule_step_months(frequency) or add_months(issue_date, months) != day:
        return None
    return months


def schedule_last_sequence(policy) -> int:
    """The sequence of the policy's last installment of its premium term (under its anchor)."""
    step = schedule_step_months(policy.frequency)
    return (policy.schedule_anchor_sequence
            + (policy.premium_term_years * 12 - policy.schedule_anchor_months) // step - 1)


def schedule_horizon(as_of: dt.date) -> dt.date:
    return add_months(as_of, 13)


def policy_id_chunks(*, chunk_size: int = CHUNK_SIZE) -> list[tuple[int, int]]:
    """Contiguous id ranges of at most chunk_size ids, covering every policy."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM policies_policy")
        low, high = cursor.fetchone()
    if low is None:
        return []
    return [(start, min(start + chunk_size - 1, high)) for start in range(low, high + 1, chunk_size)]


def installments_extend_chunk(*, as_of: dt.date, id_from: int, id_to: int, job: str = "",
                              previous: dt.date | None = None) -> ChunkResult:
    """Materialise the missing installments of policies id_from..id_to; idempotent. `previous`: the
    business date of the last night that extended every schedule (the nightly step's), after which
    only the policies whose schedule changed or whose due dates reach the new horizon are read
    (WINDOW_CANDIDATES); without it, every policy of the chunk."""
    job = job or f"installments_extend:{as_of.isoformat()}"
    candidates, window = "", {}
    # (after a long gap, reading every policy costs less than testing each against months of days)
    if previous is not None and previous < as_of <= previous + WINDOW_MAX:
        candidates, window = WINDOW_CANDIDATES, horizon_window(previous=previous, as_of=as_of)
    with transaction.atomic(), audit_context(job=job):
        bulk_transaction_prepare()
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'billing_installment'::regclass")
            last = LAST_PROBE if cursor.fetchone()[0] >= EXTEND_PROBE_MIN_ROWS else LAST_AGGREGATE
            cursor.execute(EXTEND_SQL.format(**last, candidates=candidates),
                           {"lo": id_from, "hi": id_to, "as_of": as_of, "horizon": schedule_horizon(as_of),
                            **EXTEND_STATUS_PARAMS, **window})
            rows = cursor.rowcount
        if rows:
            operation_record(action="installments_extend", job=job, object_type="policies",
                             object_ref=f"{id_from}-{id_to}", details={"rows": rows, "as_of": as_of.isoformat()})
    return ChunkResult(id_from, id_to, rows)


def installments_extend(*, as_of: dt.date, chunk_size: int = CHUNK_SIZE, threads: int = EXTEND_THREADS) -> int:
    """Every policy's schedule through as_of + 13 months, chunk by chunk (each its own
    transaction, so a crash loses at most one chunk and a rerun completes the job). Outside a
    transaction, `threads` chunks are done at once, each on its own connection; inside one (the
    chunks must then see and join it) they are done one after the other on the caller's."""
    chunks = policy_id_chunks(chunk_size=chunk_size)
    if threads <= 1 or len(chunks) <= 1 or connection.in_atomic_block:
        return sum(installments_extend_chunk(as_of=as_of, id_from=lo, id_to=hi).rows for lo, hi in chunks)

    def extend(bounds: tuple[int, int]) -> int:
        try:
            return installments_extend_chunk(as_of=as_of, id_from=bounds[0], id_to=bounds[1]).rows
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(extend, chunks))
