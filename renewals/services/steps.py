"""The nightly pipeline's steps: each one set-based SQL over one chunk of policy ids, idempotent
for its business date, and dated by its rule, not by the night it runs (DESIGN.md section 3).

Every function takes (as_of, id_from, id_to) and returns the number of rows it changed.
"""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection
from django.utils.translation import gettext_lazy as _

from billing.models import Installment
from billing.services.bulk_matching import OLDEST_OPEN_SQL
from billing.services.marks import installment_marks_prune, marked_policies, marks_complete_since
from billing.services.schedules import installments_extend_chunk
from core.copy import id_array
from core.dates import business_today
from core.horizon import CLOCK_MARGIN, written_since
from policies import lifecycle
from policies.models import Agent, PolicyStatus, PolicyStatusChange
from renewals.models import Application, StepRun
from renewals.services.collection import collection_steps, debits, previous_night
from renewals.services.holds import grace_extensions
from renewals.services.servicing import servicing_due

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# Status values reach the SQL as bound parameters, from the one place that defines them (the
# installment's TextChoices, the policy status machine); no statement repeats a status literal.
STATUS_PARAMS: dict[str, str | list[str]] = {
    "open": list(Installment.OPEN_STATUSES),
    "paid": Installment.Status.PAID.value,
    "scheduled": Installment.Status.SCHEDULED.value,
    "due": Installment.Status.DUE.value,
    "overdue": Installment.Status.OVERDUE.value,
    "in_force": PolicyStatus.IN_FORCE.value,
    "lapsed": PolicyStatus.LAPSED.value,
    "terminated": PolicyStatus.TERMINATED.value,
    "live": lifecycle.sql_values(lifecycle.LIVE),
    "lapse_rule": lifecycle.LAPSE_AFTER_GRACE.rule,
    "terminate_rule": lifecycle.TERMINATE_AFTER_WINDOW.rule,
    "source": PolicyStatusChange.Source.NIGHTLY.value,
    "reinstatement": Application.Kind.REINSTATEMENT.value,
    "pending_applications": [Application.Status.SUBMITTED.value, Application.Status.REFERRED.value,
                             Application.Status.ACCEPTED.value, Application.Status.APPROVED.value],
}

# Which policies a statement touches: the night's chunk of ids, or the ids of one money event
# (the same SQL, restricted to the policies the money moved).
CHUNK = "BETWEEN %(lo)s AND %(hi)s"
IDS = "= ANY(%(ids)s::bigint[])"  # bigint[]: psycopg sends small ids as integer[], which a filter cannot hash


def _execute(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, {**STATUS_PARAMS, **params})
        return cursor.rowcount


def _chunk(as_of: dt.date, id_from: int, id_to: int) -> dict:
    return {"as_of": as_of, "lo": id_from, "hi": id_to}


def extend_schedules(as_of: dt.date, id_from: int, id_to: int) -> int:
    """After a finished night every schedule is complete through that night's horizon: only the
    policies that can need more are read (billing.services.schedules.WINDOW_CANDIDATES)."""
    return installments_extend_chunk(as_of=as_of, id_from=id_from, id_to=id_to, previous=previous_night(as_of),
                                     job=f"nightly:{as_of.isoformat()}:extend_schedules").rows


# Nothing paid yet: scheduled before the due date, due on it, overdue after it. Only the rows whose
# status changes are read and written: one pass over the chunk, no join of the table with itself.
UNPAID_STATUS = ("CASE WHEN i.due_date > %(as_of)s THEN %(scheduled)s WHEN i.due_date = %(as_of)s THEN %(due)s "
                 "ELSE %(overdue)s END")
INSTALLMENT_STATUSES_SQL = f"""
UPDATE billing_installment i
SET status = {UNPAID_STATUS}, updated_at = now()
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.status = ANY(%(open)s) AND i.amount_paid = 0
  AND i.status <> {UNPAID_STATUS}
"""


# After a finished night P an unpaid installment's status is that of P, or that of a later business
# date d (P <= d <= tonight) for one a service wrote during the day (a reversal, a schedule made by a
# frequency change: billing.services.allocations._open_status, EXTEND_SQL). The status of a due date
# moves between two dates only when the due date lies between them: tonight only the installments
# due from P to tonight can change, found by their due date's index (a chunk's 1,301 changes in
# 0.03 s instead of a pass over its 700,000 open installments in 0.45 s, bench/RESULTS.md part 23).
# One written on a date after tonight's (a catch-up of missed nights runs the earlier dates later)
# is put right by the night of that date. A night run ahead of the calendar (run_nightly --as-of a
# later date) leaves the services writing today's statuses below it: the window starts at the
# earlier of the two. The first night reads all.
STATUS_WINDOW = " AND i.due_date BETWEEN %(previous)s AND %(as_of)s"


def installment_statuses(as_of: dt.date, id_from: int, id_to: int) -> int:
    previous = previous_night(as_of)
    if previous is None:
        return _execute(INSTALLMENT_STATUSES_SQL, _chunk(as_of, id_from, id_to))
    return _execute(INSTALLMENT_STATUSES_SQL.rstrip() + STATUS_WINDOW, {**_chunk(as_of, id_from, id_to),
                                                                       "previous": min(previous, business_today())})


# An installment lapses its policy when it is not fully paid at the end of its (extended) grace,
# or when the money that completed it was valued after its last grace day. Only installments
# whose grace ends on or after the policy's latest in-force date count: a reinstated policy is
# not lapsed again for what its reinstatement settled.
NOT_PAID_IN_TIME = "(i.status = ANY(%(open)s) OR (i.status = %(paid)s AND i.paid_value_date > i.grace_end))"

# Per in-force policy (LATERAL: a nested loop over the policy's own installments, and its latest
# in-force date looked up once per policy that has an installment past grace, not once per such
# installment). Joined set-wise instead, the planner hashed every installment of the chunk
# (730,000 on the migration bench, 0.55 s a chunk) to find the few of its in-force policies.
# The status is compared as an expression, not an index condition: the chunk's policies are read by
# id and filtered, never by a scan of the whole (branch, status) index for every in-force policy of
# the portfolio (after the first night's 616,373 lapses, before a vacuum, 840,000 entries a chunk).
LAPSING_INSTALLMENTS = """
SELECT p.id AS policy_id, x.grace_end + 1 AS lapse_date
FROM policies_policy p
CROSS JOIN LATERAL (
    SELECT min(i.grace_end) AS grace_end FROM billing_installment i
    WHERE i.policy_id = p.id AND i.grace_end < %(as_of)s
      AND """ + NOT_PAID_IN_TIME + """
      AND i.grace_end >= COALESCE((
          SELECT max(c.effective_date) FROM policies_policystatuschange c
          WHERE c.policy_id = p.id AND c.status = %(in_force)s AND c.voided_at IS NULL), p.issue_date)
) x
WHERE p.id {policies} AND (p.status || '') = %(in_force)s AND x.grace_end IS NOT NULL
"""

# Money valued inside grace imported after the lapse ran: the installment that lapsed the
# policy is now paid in time, so the lapse is void (kept in the history and the trail) and the
# policy is in force again; the lapse rule then applies again from there.
# One pass over the chunk's status history: each lapsed policy's latest change and, beside it, its
# latest in-force date (every other change of the policy is dated on or before the latest, so this
# is the latest in-force date on or before the lapse), so that the installments are read once per
# lapse, not once per installment with a look-up of the history each (6 s a normal night at
# 1,000,000 policies for nothing to reverse; bench/RESULTS.md part 7).
LAPSE_REVERSAL_SQL = """
WITH history AS (
    SELECT c.id, c.policy_id, c.effective_date, c.rule, p.issue_date,
           max(c.effective_date) FILTER (WHERE c.status = %(in_force)s) OVER (PARTITION BY c.policy_id) AS in_force_on
    FROM policies_policystatuschange c
    JOIN policies_policy p ON p.id = c.policy_id
    WHERE p.id {policies} AND p.status = %(lapsed)s AND c.voided_at IS NULL
      {history_bound}
),
lapses AS (
    SELECT DISTINCT ON (h.policy_id) h.id, h.policy_id, h.effective_date, h.rule,
           -- as the lapse rule: what a reinstatement before this lapse settled does not count
           COALESCE(h.in_force_on, h.issue_date) AS since
    FROM history h
    ORDER BY h.policy_id, h.effective_date DESC, h.id DESC
),
unjustified AS (
    SELECT l.id, l.policy_id FROM lapses l
    WHERE l.rule = %(lapse_rule)s
      AND NOT EXISTS (
          SELECT 1 FROM billing_installment i
          WHERE i.policy_id = l.policy_id AND i.grace_end + 1 <= l.effective_date AND i.grace_end >= l.since
            AND """ + NOT_PAID_IN_TIME + """)
),
voided AS (
    UPDATE policies_policystatuschange c
    SET voided_at = now(), void_reason = %(void_reason)s
    FROM unjustified u WHERE c.id = u.id
    RETURNING c.policy_id
)
UPDATE policies_policy p SET status = %(in_force)s, lapse_date = NULL, updated_at = now()
FROM voided v WHERE p.id = v.policy_id
RETURNING p.id
"""
LAPSE_VOID_REASON = "money valued inside grace was imported after the lapse"

LAPSE_SQL = """
WITH lapsing AS (""" + LAPSING_INSTALLMENTS + """),
changed AS (
    UPDATE policies_policy p SET status = %(lapsed)s, lapse_date = l.lapse_date, updated_at = now()
    FROM lapsing l WHERE p.id = l.policy_id
    RETURNING p.id, p.lapse_date
)
INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule, reason,
                                         void_reason)
SELECT id, %(lapsed)s, lapse_date, now(), %(source)s, %(lapse_rule)s,
       'an installment was not paid in time by the end of its grace period', ''
FROM changed
"""


# The chunk's bound said again on the history, for the planner: the chunk's history only, not all
# of it. Not for a money event's ids: its few lapsed policies' history is looked up by policy (a
# second ANY over every policy the money moved, 100,000 in a statement, read the history of each).
HISTORY_CHUNK = "AND c.policy_id " + CHUNK


# The night's reversal is the safety net of the money's own (lapse_reversal_for, in the money's
# transaction). A lapse the lapse rule recorded stops being justified only when one of the policy's
# installments changes (money, a waiver, a grace extension), and every such write marks the policy
# with its transaction's start (billing.services.marks). After a finished night, the chunk's lapsed
# policies marked since that night's reversal step began are looked at, not all of them
# (bench/RESULTS.md part 25): since its horizon, as the KPI snapshot reads what changed since its
# own (core.horizon.written_since: from the horizon on, and in the CLOCK_MARGIN before it when
# written by a transaction the step may not have seen). A step recorded without a horizon: from a
# day before it began. Without such a night, or with marks not kept that far back, every lapsed
# policy of the chunk.
REVERSAL_MARGIN_WITHOUT_HORIZON = dt.timedelta(days=1)
MARKED_CHUNK = "IN (" + marked_policies(lo="lo", hi="hi", since="since",
                                        written_since=written_since("marked_at", "m")) + ")"


def lapse_reversal_since(as_of: dt.date) -> dict | None:
    """From when the night of `as_of` looks for changed installments, as written_since's
    parameters (None: it looks at all)."""
    return step_since("lapse_reversal", as_of)


def step_since(step: str, as_of: dt.date) -> dict | None:
    """From when the night of `as_of` looks for what changed since the step's last finished night,
    as written_since's parameters: that step's horizon (core.horizon), or a day before it began when
    it kept none; None (look at everything) without such a night, or with the installment marks not
    complete from then on."""
    last = (StepRun.objects.filter(step=step, status=StepRun.Status.FINISHED, run__as_of__lt=as_of)
            .order_by("-run__as_of").values_list("horizon", "seen_xid", "started_at").first())
    horizon, seen_xid, started = last if last is not None else (None, None, None)
    if horizon is not None:
        since, until = horizon - CLOCK_MARGIN, horizon
    elif started is not None:
        since = until = started - REVERSAL_MARGIN_WITHOUT_HORIZON
    else:
        return None
    return {"since": since, "until": until, "seen_xid": seen_xid} if marks_complete_since(since) else None


def lapse_reversal(as_of: dt.date, id_from: int, id_to: int) -> int:
    since = lapse_reversal_since(as_of)
    return _execute(LAPSE_REVERSAL_SQL.format(policies=CHUNK if since is None else MARKED_CHUNK,
                                              history_bound=HISTORY_CHUNK),
                    {**_chunk(as_of, id_from, id_to), "void_reason": LAPSE_VOID_REASON, **(since or {})})


def _temp_table(cursor, table: str, select: str, params: dict) -> int:
    """The rows of `select` as a temporary table of the transaction, analysed when not empty
    (the statements after it plan with its real size); returns how many rows it holds."""
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {select}", params)
    rows = cursor.rowcount
    if rows:
        cursor.execute(f"ANALYZE {table}")
    return rows


# A chunk's lapses (and terminations) are found, their policies locked, then found again and
# written, each a statement of its own. In one statement the rows were read with the snapshot taken
# before it waited for a policy's lock: money a transfer, webhook or debit answer allocated while
# holding the policy (its own lapse reversal finding nothing lapsed yet) was not seen, and the policy
# lapsed although paid in time until the next night's lapse reversal voided it. Once locked, no money
# path can allocate to the policies (each books under the policy's lock), nor a reinstatement be
# applied for, and the next statement's snapshot sees what was committed before. Found again for the
# candidates only: a normal night's few hundred, a migration's first night its lapses (the second
# look probes each one's installments again).
def _locked_then(find: str, write: str, chunk: dict, *, table: str) -> int:
    """`find` and `write` take the policies as {policies}: the chunk, then the candidates found."""
    params = {**STATUS_PARAMS, **chunk}
    with connection.cursor() as cursor:
        if not _temp_table(cursor, table, "SELECT f.policy_id FROM (" + find.format(policies=CHUNK) + ") f", params):
            return 0
        cursor.execute(f"SELECT p.id FROM policies_policy p WHERE p.id IN (SELECT policy_id FROM {table}) "
                       "ORDER BY p.id FOR UPDATE")
    return _execute(write.format(policies=f"IN (SELECT policy_id FROM {table})"), params)


def lapse(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _locked_then(LAPSING_INSTALLMENTS, LAPSE_SQL, _chunk(as_of, id_from, id_to), table="lapse_candidate")


def lapse_reversal_for(*, as_of: dt.date, policy_ids: Iterable[int]) -> list[int]:
    """The night's lapse reversal, then its lapse rule, for the given policies only (a money
    event): returns the policies whose lapse was voided. The lapse rule runs again only for those,
    so a later installment past its own grace lapses the policy again on its own date."""
    ids = sorted(set(policy_ids))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(LAPSE_REVERSAL_SQL.format(policies=IDS, history_bound=""),
                       {**STATUS_PARAMS, "ids": id_array(ids), "as_of": as_of, "void_reason": LAPSE_VOID_REASON})
        reversed_ids = sorted(row[0] for row in cursor.fetchall())
    if reversed_ids:
        _execute(LAPSE_SQL.format(policies=IDS), {"as_of": as_of, "ids": id_array(reversed_ids)})
    return reversed_ids


# Without a reinstatement the policy terminates on lapse date + the product's window (2 years).
ENDING_POLICIES = """
SELECT p.id AS policy_id, (p.lapse_date + make_interval(years => pr.reinstatement_years))::date AS end_date
FROM policies_policy p JOIN policies_product pr ON pr.id = p.product_id
WHERE p.id {policies} AND p.status = %(lapsed)s
  AND (p.lapse_date + make_interval(years => pr.reinstatement_years))::date <= %(as_of)s
  -- implied by the line above (the shortest window of any product; a day more for a lapse on 29
  -- February, whose anniversary falls on the 28th): the lapsed policies' index by lapse date
  -- (policy_lapsed_on) holds the few, instead of every lapsed policy of the chunk being read
  AND p.lapse_date <= (%(as_of)s::date - make_interval(years => (
      SELECT COALESCE(min(w.reinstatement_years), 0) FROM policies_product w)))::date + 1
  AND NOT EXISTS (SELECT 1 FROM renewals_application a
                  WHERE a.policy_id = p.id AND a.kind = %(reinstatement)s
                    AND a.status = ANY(%(pending_applications)s)
                    AND a.applied_on < (p.lapse_date + make_interval(years => pr.reinstatement_years))::date)
"""
TERMINATE_SQL = """
WITH ending AS (""" + ENDING_POLICIES + """),
changed AS (
    UPDATE policies_policy p SET status = %(terminated)s, updated_at = now()
    FROM ending e WHERE p.id = e.policy_id
    RETURNING p.id, e.end_date
)
INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule, reason,
                                         void_reason)
SELECT id, %(terminated)s, end_date, now(), %(source)s, %(terminate_rule)s,
       'no reinstatement within the reinstatement window', ''
FROM changed
"""


def terminate(as_of: dt.date, id_from: int, id_to: int) -> int:
    # found, locked, found again (_locked_then): a reinstatement application is made under the
    # policy's lock, and one made while the chunk ran keeps the policy lapsed
    return _locked_then(ENDING_POLICIES, TERMINATE_SQL, _chunk(as_of, id_from, id_to), table="terminate_candidate")


# A policy whose agent has left goes to the active agent of its branch with the fewest policies,
# one orphan after another (DESIGN.md section 3): a night's orphans spread over the branch's agents
# instead of all going to the one that had the fewest at the start (a migration's first night has
# tens of thousands). Set-based: agent a with c_a policies offers the slots (c_a, a), (c_a + 1, a),
# ...; taking one orphan at a time from the agent with the fewest, ties to the lower id, takes the
# slots in (level, agent id) order, so the n-th orphan of the branch (by policy id) gets the n-th
# slot. No agent takes a slot above the branch's mean load after the night (policies + orphans,
# divided by agents, rounded down): the fewest never exceeds the mean, so only those are generated.
# The chunk's orphans are found first (none on most nights: nothing else is read then).
# The branches' loads are counted in one pass over the policies, not by each agent's index entries:
# on the first night after a migration every chunk has orphans in every branch, and the 3,562 active
# agents' 894,057 policies were read one heap fetch each, 2.2 s a chunk (bench/RESULTS.md part 27).
ORPHANS_FIND = """
SELECT p.id, p.branch_id, row_number() OVER (PARTITION BY p.branch_id ORDER BY p.id) AS n
FROM policies_policy p JOIN policies_agent gone ON gone.id = p.agent_id
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND gone.status = %(agent_left)s AND p.status = ANY(%(live)s)
"""
ORPHANS_SQL = """
WITH load AS MATERIALIZED (
    SELECT a.id, a.branch_id, COALESCE(c.policies, 0) AS policies
    FROM policies_agent a
    LEFT JOIN (SELECT p.agent_id, count(*) AS policies FROM policies_policy p GROUP BY p.agent_id) c
           ON c.agent_id = a.id
    WHERE a.status = %(agent_active)s AND a.branch_id IN (SELECT branch_id FROM orphan_policy)
),
mean AS (
    SELECT l.branch_id, div(sum(l.policies) + o.orphans, count(*))::bigint AS top
    FROM load l JOIN (SELECT branch_id, count(*) AS orphans FROM orphan_policy GROUP BY branch_id) o USING (branch_id)
    GROUP BY l.branch_id, o.orphans
),
slot AS (
    SELECT l.branch_id, l.id AS agent_id, row_number() OVER (PARTITION BY l.branch_id ORDER BY s.level, l.id) AS n
    FROM load l JOIN mean m USING (branch_id) CROSS JOIN LATERAL generate_series(l.policies, m.top) AS s(level)
)
UPDATE policies_policy p SET agent_id = slot.agent_id, updated_at = now()
FROM orphan_policy o JOIN slot ON slot.branch_id = o.branch_id AND slot.n = o.n
WHERE p.id = o.id
"""


def orphans(as_of: dt.date, id_from: int, id_to: int) -> int:
    params = {**STATUS_PARAMS, **_chunk(as_of, id_from, id_to), "agent_active": Agent.Status.ACTIVE.value,
              "agent_left": Agent.Status.LEFT.value}
    with connection.cursor() as cursor:
        if not _temp_table(cursor, "orphan_policy", ORPHANS_FIND, params):
            return 0
    return _execute(ORPHANS_SQL, params)


# The due list (renewals_due_list: each in-force policy with its oldest open installment) of the
# chunk's policies, kept in place: a row whose policy left it is deleted, a new or changed one
# written, an unchanged one not touched (most of the list on a normal night). The oldest open
# installment is found as the statement import finds it (one walk of its index per policy). The
# chunk's in-force policies are read by id and filtered on the status as an expression (as
# LAPSING_INSTALLMENTS does): as an index condition the planner ANDed the id range with every
# in-force entry of the (branch, status) index, 237,000 entries a chunk on the migration bench
# (0.26-0.37 s a chunk replayed, 0.21-0.27 s without; bench/RESULTS.md part 23).
#
# A row is a function of its policy (status, branch, product, frequency, payment method, agent) and
# of its installments. After a finished night whose due lists the marks reach back to (step_since),
# only the chunk's policies written since then (every write of a policy stamps updated_at, the
# night's SQL too) or whose installments were (billing.services.marks) are looked at: a normal night's
# few thousand of the chunk's 50,000 (bench/RESULTS.md part 26). {changed}: the policies to look at.
DUE_LIST_TEMPLATE = """
WITH changed AS MATERIALIZED ({changed}),
fresh AS MATERIALIZED (
    SELECT p.id AS policy_id, o.installment_id, o.sequence, o.due_date, o.grace_end, o.owed AS amount,
           p.branch_id, p.product_id, p.frequency, p.payment_method, p.agent_id
    FROM (""" + OLDEST_OPEN_SQL.format(policies="""
        SELECT c.id AS policy_id FROM changed c WHERE (c.status || '') = %(in_force)s""") + """) o
    JOIN policies_policy p ON p.id = o.policy_id
),
gone AS (
    DELETE FROM renewals_due_list d
    WHERE d.policy_id BETWEEN %(lo)s AND %(hi)s AND d.policy_id IN (SELECT c.id FROM changed c)
      AND d.policy_id NOT IN (SELECT f.policy_id FROM fresh f)
    RETURNING 1
),
written AS (
    INSERT INTO renewals_due_list AS d (policy_id, installment_id, sequence, due_date, grace_end, amount, branch_id,
                                        product_id, frequency, payment_method, agent_id)
    SELECT * FROM fresh
    ON CONFLICT (policy_id) DO UPDATE
    SET installment_id = EXCLUDED.installment_id, sequence = EXCLUDED.sequence, due_date = EXCLUDED.due_date,
        grace_end = EXCLUDED.grace_end, amount = EXCLUDED.amount, branch_id = EXCLUDED.branch_id,
        product_id = EXCLUDED.product_id, frequency = EXCLUDED.frequency,
        payment_method = EXCLUDED.payment_method, agent_id = EXCLUDED.agent_id
    WHERE (d.installment_id, d.sequence, d.due_date, d.grace_end, d.amount, d.branch_id, d.product_id, d.frequency,
           d.payment_method, d.agent_id)
          IS DISTINCT FROM
          (EXCLUDED.installment_id, EXCLUDED.sequence, EXCLUDED.due_date, EXCLUDED.grace_end, EXCLUDED.amount,
           EXCLUDED.branch_id, EXCLUDED.product_id, EXCLUDED.frequency, EXCLUDED.payment_method, EXCLUDED.agent_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM written)
"""
DUE_LIST_SQL = DUE_LIST_TEMPLATE.format(
    changed="SELECT c.id, c.status FROM policies_policy c WHERE c.id BETWEEN %(lo)s AND %(hi)s")
# two look-ups, each through its index (the marks' key, policy_updated_at), not one OR over the chunk
DUE_LIST_CHANGED_SQL = DUE_LIST_TEMPLATE.format(changed="""
    SELECT c.id, c.status FROM policies_policy c WHERE c.id """ + MARKED_CHUNK + """
    UNION
    SELECT c.id, c.status FROM policies_policy c
    WHERE c.id BETWEEN %(lo)s AND %(hi)s AND """ + written_since("updated_at", "c"))


def installment_marks(as_of: dt.date, id_from: int, id_to: int) -> int:
    """Unchunked: the installment marks older than their keeping time deleted (billing.services.marks)."""
    return installment_marks_prune()


def due_lists(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The chunk's part of the due list; returns the rows written or deleted."""
    since = step_since("due_lists", as_of)
    with connection.cursor() as cursor:
        cursor.execute(DUE_LIST_SQL if since is None else DUE_LIST_CHANGED_SQL,
                       {**STATUS_PARAMS, **_chunk(as_of, id_from, id_to), **(since or {})})
        return cursor.fetchone()[0]


def reinstatements(as_of: dt.date, id_from: int, id_to: int) -> int:
    """Approved reinstatements whose money has come in are completed (few: a loop is fine)."""
    from renewals.models import Application
    from renewals.services.applications import reinstatement_complete_if_paid

    approved = Application.objects.filter(kind=Application.Kind.REINSTATEMENT, status=Application.Status.APPROVED)
    return sum(reinstatement_complete_if_paid(application=a, as_of=as_of) for a in approved)


# (name, function, chunked): unchunked steps run once over every id
STEPS = [
    ("extend_schedules", extend_schedules, True),
    ("installment_statuses", installment_statuses, True),
    ("reinstatements", reinstatements, False),
    ("servicing", servicing_due, False),
    ("grace_extensions", grace_extensions, True),
    ("lapse_reversal", lapse_reversal, True),
    ("lapse", lapse, True),
    ("terminate", terminate, True),
    ("collection_steps", collection_steps, True),
    ("debits", debits, False),
    ("orphans", orphans, False),
    ("due_lists", due_lists, True),
    ("installment_marks", installment_marks, False),
]
STEP_FUNCTIONS = {name: function for name, function, _chunked in STEPS}


# what the operations page calls each step, in the user's language (registered steps bring theirs)
STEP_LABELS: "dict[str, StrOrPromise]" = {
    "extend_schedules": _("Extend the payment schedules"),
    "installment_statuses": _("Update the installment statuses"),
    "reinstatements": _("Complete paid reinstatements"),
    "servicing": _("Apply approved servicing applications"),
    "grace_extensions": _("Extend grace for holds and moratoria"),
    "lapse_reversal": _("Reverse lapses paid in time"),
    "lapse": _("Lapse after the grace period"),
    "terminate": _("Terminate after the reinstatement window"),
    "collection_steps": _("Plan reminders, calls and cases"),
    "debits": _("Create the auto-debit batch"),
    "orphans": _("Reassign orphan policies"),
    "due_lists": _("Refresh the due lists"),
    "installment_marks": _("Forget old installment marks"),
}


def step_register(name: str, function, *, chunked: bool, after: str | None = None,
                  analyze: tuple[str, ...] = (), label=None) -> None:
    """A step of another app joins the night (from its AppConfig.ready(): risk's rules, reporting's
    snapshot). It runs right after `after` (at the end when None), with the same contract as the
    steps above: `function(as_of, id_from, id_to) -> rows`, idempotent for its date, each chunk in
    its own transaction. Registering a name twice replaces it in place."""
    entry = (name, function, chunked)
    names = [n for n, _f, _c in STEPS]
    if name in names:
        STEPS[names.index(name)] = entry
    elif after is None:
        STEPS.append(entry)
    else:
        STEPS.insert(names.index(after) + 1, entry)
    STEP_FUNCTIONS[name] = function
    if label is not None:
        STEP_LABELS[name] = label
    if analyze:
        ANALYZE_AFTER[name] = analyze


# Tables a step bulk-writes, analysed when the step has finished and before a later step reads
# them: the first night after a large import writes millions of installments, and a planner that
# still believes the table is small picks a bitmap AND over every due date for each policy
# (minutes per chunk instead of seconds; see bench/RESULTS.md).
ANALYZE_AFTER: dict[str, tuple[str, ...]] = {
    "extend_schedules": ("billing_installment",),
    "lapse": ("policies_policy", "policies_policystatuschange"),
    # the due list pages' plans read its due dates, which move on every night
    "due_lists": ("renewals_due_list",),
}
