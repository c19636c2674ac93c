"""The nightly KPI snapshot (issue 15): one chunk of policy ids, set-based, idempotent for its date.

For its chunk the step
1. keeps the policies' slice values (PolicySlice): a row closes and a new one opens when a
   policy's branch, product, payment method, sales channel or agent changes;
2. recomputes the facts of the days that need it: the days since the chunk's last snapshot (the
   night's own day included; on the first snapshot every day with data), and the past days whose
   money, status history or debit results changed since then (a back-dated payment, a reversal,
   a voided lapse): facts are keyed by the day the money is due, so such a day is restated;
3. records every restated day with its figures before and after and the causes found;
4. rolls the touched months up (MonthlyFact) and recomputes the chunk's persistency cohorts.

Each recomputation deletes the chunk's rows of those days and inserts them again
(INSERT ... SELECT ... ON CONFLICT), so a rerun after a crash changes nothing twice.
"""

import datetime as dt
import logging

from django.db import DatabaseError, connection, transaction

from billing.models import DebitLine, Installment
from billing.services.marks import marked_policies, marks_complete_since
from core.dates import add_months
from core.horizon import CLOCK_MARGIN, HORIZON_SQL, SINCE_MARGIN, written_since
from policies import lifecycle
from policies.models import Policy, PolicyStatus

logger = logging.getLogger(__name__)

PERSISTENCY_MONTHS = (13, 25, 37, 49, 61)
DAWN = dt.date(1, 1, 1)

PARAMS = {
    "not_due": [Installment.Status.CANCELLED.value, Installment.Status.WAIVED.value],
    "lapsed": PolicyStatus.LAPSED.value,
    "in_force": PolicyStatus.IN_FORCE.value,
    "reinstatement_rule": lifecycle.REINSTATEMENT.rule,
    "debit_paid": DebitLine.Status.PAID.value,
    "debit_failed": DebitLine.Status.FAILED.value,
    "annual": Policy.Frequency.ANNUAL.value,
    "semiannual": Policy.Frequency.SEMIANNUAL.value,
    "quarterly": Policy.Frequency.QUARTERLY.value,
    "months_n": list(PERSISTENCY_MONTHS),
    "dawn": DAWN,
}

SLICE_COLUMNS = "branch_id, product_id, payment_method, sales_channel, agent_id"
# the policy's slice row valid on a day (alias s, the day given as {day})
SLICE_JOIN = ("JOIN reporting_policyslice s ON s.policy_id = {policy} AND s.valid_from <= {day} "
              "AND (s.valid_to IS NULL OR {day} < s.valid_to)")

SLICES_SQL = """
WITH cur AS (
    SELECT p.id, p.branch_id, p.product_id, p.payment_method, p.sales_channel, p.agent_id
    FROM policies_policy p WHERE p.id BETWEEN %(lo)s AND %(hi)s
),
changed_today AS (  -- a rerun of the same night: the row opened tonight takes the new values
    UPDATE reporting_policyslice s
    SET branch_id = cur.branch_id, product_id = cur.product_id, payment_method = cur.payment_method,
        sales_channel = cur.sales_channel, agent_id = cur.agent_id
    FROM cur
    WHERE s.policy_id = cur.id AND s.valid_to IS NULL AND s.valid_from = %(as_of)s
      AND (s.branch_id, s.product_id, s.payment_method, s.sales_channel, s.agent_id)
          IS DISTINCT FROM (cur.branch_id, cur.product_id, cur.payment_method, cur.sales_channel, cur.agent_id)
    RETURNING s.id
)
UPDATE reporting_policyslice s SET valid_to = %(as_of)s
FROM cur
WHERE s.policy_id = cur.id AND s.valid_to IS NULL AND s.valid_from < %(as_of)s
  AND (s.branch_id, s.product_id, s.payment_method, s.sales_channel, s.agent_id)
      IS DISTINCT FROM (cur.branch_id, cur.product_id, cur.payment_method, cur.sales_channel, cur.agent_id)
"""
# The chunk's policies and slice rows are read once each, side by side, and grouped by policy: no
# plan can look a policy's slice rows up per policy, whatever the statistics say.
# - A per-policy look-up (a correlated EXISTS): on a first night reporting_policyslice is empty and
#   analysed as such (a template's VACUUM ANALYZE); the planner then scans it whole for each
#   policy, and each scan also visits the rows this statement and the other chunks have inserted
#   so far: more than five minutes for one chunk of 50,000 (bench/RESULTS.md part 17).
# - A join with the chunk's slice rows (a MATERIALIZED CTE), or a subplan over them: on a normal
#   night only the policies written since are read, estimated at a row or so from updated_at's
#   statistics; a nested loop (or an unhashed subplan) then reads the 50,000 slice rows again for
#   each of the 3,000 policies actually written: 162 million comparisons, 8 s a chunk (part 18).
SLICES_INSERT_SQL = """
INSERT INTO reporting_policyslice (policy_id, valid_from, valid_to, branch_id, product_id, payment_method,
                                   sales_channel, agent_id)
SELECT g.id, CASE WHEN g.slices > 0 THEN %(as_of)s ELSE %(dawn)s END,
       NULL, g.branch_id, g.product_id, g.payment_method, g.sales_channel, g.agent_id
FROM (
    SELECT x.id, bool_or(x.policy) AS policy, bool_or(x.open) AS open, count(*) FILTER (WHERE NOT x.policy) AS slices,
           max(x.branch_id) AS branch_id, max(x.product_id) AS product_id, max(x.payment_method) AS payment_method,
           max(x.sales_channel) AS sales_channel, max(x.agent_id) AS agent_id
    FROM (
        SELECT p.id, true AS policy, false AS open, p.branch_id, p.product_id, p.payment_method, p.sales_channel,
               p.agent_id
        FROM policies_policy p WHERE p.id BETWEEN %(lo)s AND %(hi)s
        UNION ALL
        SELECT o.policy_id, false, o.valid_to IS NULL, NULL, NULL, NULL, NULL, NULL
        FROM reporting_policyslice o WHERE o.policy_id BETWEEN %(lo)s AND %(hi)s
    ) x
    GROUP BY x.id
) g
WHERE g.policy AND NOT g.open
ON CONFLICT (policy_id, valid_from) DO NOTHING
"""
CHUNK_POLICIES = "WHERE p.id BETWEEN %(lo)s AND %(hi)s"


# Since the chunk's last snapshot: a policy written from `since` on, or, where the chunk has grown
# (its last one, after new policies), one above the ids that snapshot's range held (%(last_hi)s:
# made after the night had cut its chunks, its stamps may be older than `since` although no
# snapshot has seen it). Only there: the planner multiplies the id range's selectivity by that of
# `p.id > %(last_hi)s` over the whole table, and for the first chunk took 49,413 of its 17 written
# policies for the slices' hash join (0.9 s instead of 0.04 s).
SINCE_POLICIES = " AND p.updated_at >= %(since)s"
SINCE_POLICIES_GROWN = " AND (p.updated_at >= %(since)s OR p.id > %(last_hi)s)"


def slices_sql(*, since: bool, grown: bool = False) -> list[str]:
    """SLICES_SQL and SLICES_INSERT_SQL; after the first snapshot (`since`) only for the chunk's
    policies written since (every write of a policy stamps updated_at, the import's and the night's
    SQL too) or new to the chunk (`grown`: SINCE_POLICIES_GROWN)."""
    sql = [SLICES_SQL, SLICES_INSERT_SQL]
    if since:
        sql = [q.replace(CHUNK_POLICIES, CHUNK_POLICIES + (SINCE_POLICIES_GROWN if grown else SINCE_POLICIES))
               for q in sql]
    return sql


# Past days whose figures may have changed since the last snapshot (its horizon less a margin): the
# installments whose money or status moved (CHANGED_INSTALLMENTS_SQL, read once for days and
# persistency pairs), the status history written or voided (read through its recorded_at and
# voided_at indexes: PolicyStatusChange.Meta), debit results.
CHANGED_DAYS_SQL = """
SELECT c.effective_date FROM policies_policystatuschange c
WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.effective_date <= %(as_of)s
  AND (""" + written_since("recorded_at", "c") + " OR " + written_since("voided_at", "c") + """)
UNION
SELECT b.collection_date FROM billing_debitline l JOIN billing_debitbatch b ON b.id = l.batch_id
WHERE l.policy_id BETWEEN %(lo)s AND %(hi)s AND b.collection_date <= %(as_of)s
  AND (""" + written_since("result_at", "l") + " OR " + written_since("created_at", "b") + """)
"""
# The (cohort, policy month) pairs whose persistency may have changed since the last snapshot:
# a measuring installment (sequence k x installments a year, policy month 12k + 1) written since,
# or any policy month of a policy written since (its paid-to date, premium, term, a lapse).
_CHANGED_COLUMNS = """i.due_date, date_trunc('month', p.issue_date)::date,
       CASE WHEN i.sequence > 0 AND i.sequence %% f.per_year = 0 THEN i.sequence / f.per_year * 12 + 1 END"""
_PER_YEAR = """CROSS JOIN LATERAL (SELECT CASE p.frequency WHEN %(annual)s THEN 1 WHEN %(semiannual)s THEN 2
                                WHEN %(quarterly)s THEN 4 ELSE 12 END AS per_year) f"""
_INSTALLMENT_WRITTEN = "(" + written_since("updated_at", "i") + " OR " + written_since("created_at", "i") + ")"
CHANGED_INSTALLMENTS_SQL = f"""
SELECT DISTINCT {_CHANGED_COLUMNS}
FROM billing_installment i JOIN policies_policy p ON p.id = i.policy_id
{_PER_YEAR}
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND {_INSTALLMENT_WRITTEN}
"""
# The same, when the installment marks are complete since the last snapshot: only the installments
# of the chunk's policies marked since (billing.services.marks), each policy's read through its
# (policy, sequence) index; the test on each installment's stamps is the same.
CHANGED_MARKED_INSTALLMENTS_SQL = f"""
SELECT DISTINCT {_CHANGED_COLUMNS}
FROM ({marked_policies(lo="lo", hi="hi", since="since", written_since=written_since("marked_at", "m"))}) mk
JOIN policies_policy p ON p.id = mk.policy_id
CROSS JOIN LATERAL (SELECT i.due_date, i.sequence FROM billing_installment i
                    WHERE i.policy_id = mk.policy_id AND {_INSTALLMENT_WRITTEN}) i
{_PER_YEAR}
"""
# Of the policies written since, only those whose persistency terms moved (PersistencyTerms): their
# cohort before and after. A lapse, a payment or a new agent writes the policy but moves no term.
TERMS = ("issue_date", "frequency", "premium_term_years", "modal_premium")


def _terms(alias: str) -> str:
    return ", ".join(f"{alias}.{column}" for column in TERMS)


_TERMS_MOVED = f"({_terms('t')}) IS DISTINCT FROM ({_terms('p')})"
CHANGED_PAIRS_SQL = """
SELECT DISTINCT date_trunc('month', v.issue_date)::date, n.month_n
FROM policies_policy p LEFT JOIN reporting_persistencyterms t ON t.policy_id = p.id
CROSS JOIN LATERAL (VALUES (p.issue_date), (t.issue_date)) AS v(issue_date)
CROSS JOIN unnest(%(months_n)s::int[]) AS n(month_n)
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND """ + written_since("updated_at", "p") + """
  AND (t.policy_id IS NULL OR """ + _TERMS_MOVED + """) AND v.issue_date IS NOT NULL
"""
# the terms the chunk's facts were computed with tonight (all of them on a first snapshot)
TERMS_KEEP_SQL = """
INSERT INTO reporting_persistencyterms AS t (policy_id, """ + ", ".join(TERMS) + """)
SELECT p.id, """ + _terms("p") + """ FROM policies_policy p
WHERE p.id BETWEEN %(lo)s AND %(hi)s {since}
ON CONFLICT (policy_id) DO UPDATE SET (""" + ", ".join(TERMS) + ") = (" + _terms("EXCLUDED") + """)
WHERE (""" + _terms("t") + ") IS DISTINCT FROM (" + _terms("EXCLUDED") + """)
"""
# The first snapshot of a chunk: every day with data up to the night, from the chunk's floor.
ALL_DAYS_SQL = """
SELECT i.due_date FROM billing_installment i
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.due_date BETWEEN %(floor)s AND %(as_of)s AND i.sequence >= 1
UNION
SELECT c.effective_date FROM policies_policystatuschange c
WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.effective_date BETWEEN %(floor)s AND %(as_of)s
UNION
SELECT b.collection_date FROM billing_debitline l JOIN billing_debitbatch b ON b.id = l.batch_id
WHERE l.policy_id BETWEEN %(lo)s AND %(hi)s AND b.collection_date <= %(as_of)s
"""

# A policy's facts start on the day it was first imported (Policy.first_imported_on: earlier history
# lives in the core system, DESIGN.md section 3; a migration's years of arrears and its feed-dated
# lapses are not ours to report, and would show collection near 0 % for every day before it). A
# policy made otherwise has no floor. floor_of(alias) is the policy's; CHUNK_FLOOR_SQL the lowest of a
# chunk's, below which the chunk has no day to compute.


def floor_of(policy: str) -> str:
    return f"COALESCE({policy}.first_imported_on, %(dawn)s)"


FLOOR = floor_of("p")
CHUNK_FLOOR_SQL = ("SELECT COALESCE(min(" + FLOOR + "), %(dawn)s) FROM policies_policy p "
                   "WHERE p.id BETWEEN %(lo)s AND %(hi)s")
# After a snapshot that kept its floor: a policy's first_imported_on is written once, when the feed
# inserts it, so the floor moves down only with the policies new to the chunk since (NEW_POLICIES),
# and the chunk's policies are read once, for those, not twice (bench/RESULTS.md part 26). A policy
# deleted since leaves the floor lower than it need be, which costs a day's recompute, nothing else.
# (created since implies written since: updated_at is never before created_at, and the test on it
# goes through policy_updated_at instead of every policy of the chunk)
NEW_POLICIES_WHERE = ("p.id BETWEEN %(lo)s AND %(hi)s AND ((p.updated_at >= %(since)s AND p.created_at >= %(since)s) "
                      "OR p.id > %(last_hi)s)")
NEW_FLOOR_SQL = "SELECT min(" + FLOOR + "), count(*) > 0 FROM policies_policy p WHERE " + NEW_POLICIES_WHERE

# money valued on or before the installment's (extended) grace end, as known tonight
RECEIVED_IN_TIME = """COALESCE((SELECT sum(a.amount) FROM billing_allocation a
    WHERE a.installment_id = i.id AND a.reversed_at IS NULL AND a.value_date <= i.grace_end), 0)::numeric(16, 2)"""

# Provisional: outreach's contacts and renewals' cases are being reworked. A customer needed
# contact on a day when a contact was planned for it or a case was opened; was reached when a
# call was delivered or a clerk's contact reached them (or got a promise).
CONTACTS_CTE = """
contacts AS (
    SELECT day, policy_id, bool_or(needed) AS needed, bool_or(reached) AS reached FROM (
        SELECT (pc.planned_at AT TIME ZONE 'Asia/Shanghai')::date AS day, pc.policy_id, true AS needed,
               false AS reached
        FROM outreach_plannedcontact pc
        WHERE pc.policy_id BETWEEN %(lo)s AND %(hi)s AND pc.status <> ALL(%(contact_dropped)s)
          AND (pc.planned_at AT TIME ZONE 'Asia/Shanghai')::date = ANY(%(days)s)
        UNION ALL
        SELECT c.opened_on, c.policy_id, true, false FROM renewals_case c
        WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.opened_on = ANY(%(days)s)
        UNION ALL
        SELECT (pc.delivered_at AT TIME ZONE 'Asia/Shanghai')::date, pc.policy_id, false, true
        FROM outreach_plannedcontact pc
        WHERE pc.policy_id BETWEEN %(lo)s AND %(hi)s AND pc.kind = %(robot_call)s AND pc.delivered_at IS NOT NULL
          AND (pc.delivered_at AT TIME ZONE 'Asia/Shanghai')::date = ANY(%(days)s)
        UNION ALL
        SELECT (l.occurred_at AT TIME ZONE 'Asia/Shanghai')::date, l.policy_id, false, true
        FROM outreach_contactlog l
        WHERE l.policy_id BETWEEN %(lo)s AND %(hi)s AND l.outcome = ANY(%(contact_reached)s)
          AND (l.occurred_at AT TIME ZONE 'Asia/Shanghai')::date = ANY(%(days)s)
    ) c GROUP BY day, policy_id
)"""
NO_CONTACTS_CTE = "contacts AS (SELECT NULL::date AS day, NULL::bigint AS policy_id, false AS needed, " \
                  "false AS reached WHERE false)"

FIGURES = ("premium_due, premium_received, installments_due, installments_paid, policies_due, policies_lapsed, "
           "policies_reinstated, contacts_needed, contacts_reached")

DAILY_SQL = """
WITH inst AS (
    SELECT i.due_date AS day, i.policy_id, i.amount_due, """ + RECEIVED_IN_TIME + """ AS received
    FROM billing_installment i JOIN policies_policy p ON p.id = i.policy_id
    WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.due_date = ANY(%(days)s) AND i.sequence >= 1
      AND i.status <> ALL(%(not_due)s) AND p.id BETWEEN %(lo)s AND %(hi)s AND i.due_date >= """ + FLOOR + """
),
moves AS (
    SELECT c.effective_date AS day, c.policy_id, bool_or(c.status = %(lapsed)s) AS lapsed,
           bool_or(c.status = %(in_force)s AND c.rule = %(reinstatement_rule)s) AS reinstated
    FROM policies_policystatuschange c JOIN policies_policy p ON p.id = c.policy_id
    WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.effective_date = ANY(%(days)s) AND c.voided_at IS NULL
      AND p.id BETWEEN %(lo)s AND %(hi)s AND c.effective_date >= """ + FLOOR + """
      AND (c.status = %(lapsed)s OR (c.status = %(in_force)s AND c.rule = %(reinstatement_rule)s))
    GROUP BY 1, 2
),
{contacts},
per_policy AS (
    SELECT day, policy_id, sum(due) AS due, sum(received) AS received, sum(inst) AS inst, sum(paid) AS paid,
           bool_or(lapsed) AS lapsed, bool_or(reinstated) AS reinstated, bool_or(needed) AS needed,
           bool_or(reached) AS reached
    FROM (
        SELECT day, policy_id, amount_due AS due, received, 1 AS inst, (received >= amount_due)::int AS paid,
               false AS lapsed, false AS reinstated, false AS needed, false AS reached FROM inst
        UNION ALL SELECT day, policy_id, 0, 0, 0, 0, lapsed, reinstated, false, false FROM moves
        UNION ALL SELECT day, policy_id, 0, 0, 0, 0, false, false, needed, reached FROM contacts
    ) e GROUP BY day, policy_id
)
INSERT INTO reporting_dailyfact (day, id_lo, """ + SLICE_COLUMNS + """, computed_at, """ + FIGURES + """)
SELECT pp.day, %(lo)s, s.branch_id, s.product_id, s.payment_method, s.sales_channel, s.agent_id, now(),
       sum(pp.due), sum(pp.received), sum(pp.inst), sum(pp.paid), count(*) FILTER (WHERE pp.inst > 0),
       count(*) FILTER (WHERE pp.lapsed), count(*) FILTER (WHERE pp.reinstated),
       count(*) FILTER (WHERE pp.needed), count(*) FILTER (WHERE pp.reached)
FROM per_policy pp
""" + SLICE_JOIN.format(policy="pp.policy_id", day="pp.day") + """
  AND s.policy_id BETWEEN %(lo)s AND %(hi)s
GROUP BY pp.day, s.branch_id, s.product_id, s.payment_method, s.sales_channel, s.agent_id
ON CONFLICT ON CONSTRAINT daily_fact_unique_grain DO UPDATE SET
    computed_at = EXCLUDED.computed_at, premium_due = EXCLUDED.premium_due,
    premium_received = EXCLUDED.premium_received, installments_due = EXCLUDED.installments_due,
    installments_paid = EXCLUDED.installments_paid, policies_due = EXCLUDED.policies_due,
    policies_lapsed = EXCLUDED.policies_lapsed, policies_reinstated = EXCLUDED.policies_reinstated,
    contacts_needed = EXCLUDED.contacts_needed, contacts_reached = EXCLUDED.contacts_reached
"""

DEBIT_SQL = """
INSERT INTO reporting_debitfact (day, id_lo, """ + SLICE_COLUMNS + """, computed_at, bank_name, reason, lines_sent,
                                 lines_paid, lines_failed, amount_sent, amount_paid)
SELECT b.collection_date, %(lo)s, s.branch_id, s.product_id, s.payment_method, s.sales_channel, s.agent_id, now(),
       l.bank_name, CASE WHEN l.status = %(debit_failed)s THEN l.reason ELSE '' END,
       count(*), count(*) FILTER (WHERE l.status = %(debit_paid)s), count(*) FILTER (WHERE l.status = %(debit_failed)s),
       sum(l.amount), COALESCE(sum(l.amount) FILTER (WHERE l.status = %(debit_paid)s), 0)
FROM billing_debitline l
JOIN billing_debitbatch b ON b.id = l.batch_id
""" + SLICE_JOIN.format(policy="l.policy_id", day="b.collection_date") + """
  AND s.policy_id BETWEEN %(lo)s AND %(hi)s
WHERE l.policy_id BETWEEN %(lo)s AND %(hi)s AND b.collection_date = ANY(%(days)s)
GROUP BY 1, 3, 4, 5, 6, 7, 9, 10
ON CONFLICT ON CONSTRAINT debit_fact_unique_grain DO UPDATE SET
    computed_at = EXCLUDED.computed_at, lines_sent = EXCLUDED.lines_sent, lines_paid = EXCLUDED.lines_paid,
    lines_failed = EXCLUDED.lines_failed, amount_sent = EXCLUDED.amount_sent, amount_paid = EXCLUDED.amount_paid
"""

MONTHLY_SQL = """
INSERT INTO reporting_monthlyfact (month, id_lo, """ + SLICE_COLUMNS + """, computed_at, """ + FIGURES + """)
SELECT date_trunc('month', f.day)::date, f.id_lo, f.branch_id, f.product_id, f.payment_method, f.sales_channel,
       f.agent_id, now(), sum(premium_due), sum(premium_received), sum(installments_due), sum(installments_paid),
       sum(policies_due), sum(policies_lapsed), sum(policies_reinstated), sum(contacts_needed), sum(contacts_reached)
FROM reporting_dailyfact f
WHERE f.id_lo = %(lo)s AND date_trunc('month', f.day)::date = ANY(%(months)s)
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

# Policy month N of each policy: the installment due at issue + (N - 1) months (one per window
# whatever the frequency). Missing because the schedule starts later (the feed's paid-to date
# is past it): derived as paid, and marked so. Only months that have begun by the night count.
# the (cohort, policy month) pairs to recompute; all on a chunk's first snapshot
PAIRS_FILTER = """AND (date_trunc('month', p.issue_date)::date, n.month_n)
      IN (SELECT * FROM unnest(%(pair_cohorts)s::date[], %(pair_months)s::int[]))"""
# target is MATERIALIZED: its installment sequence then joins as one column, (policy_id, sequence)
# in the unique index; inlined, the planner could only use the policy and filtered all its installments
PERSISTENCY_SQL = """
WITH target AS MATERIALIZED (
    SELECT p.id, p.issue_date, p.modal_premium, p.paid_to_date, n.month_n,
           (n.month_n - 1) / 12 * (CASE p.frequency WHEN %(annual)s THEN 1 WHEN %(semiannual)s THEN 2
                                   WHEN %(quarterly)s THEN 4 ELSE 12 END) AS seq,
           (p.issue_date + make_interval(months => n.month_n - 1))::date AS window_start
    FROM policies_policy p CROSS JOIN unnest(%(months_n)s::int[]) AS n(month_n)
    WHERE p.id BETWEEN %(lo)s AND %(hi)s AND (n.month_n - 1) / 12 < p.premium_term_years
      AND (p.issue_date + make_interval(months => n.month_n - 1))::date <= %(as_of)s {pairs}
),
measured AS (
    SELECT t.id, t.issue_date, t.month_n, t.window_start, i.id IS NULL AS derived,
           COALESCE(i.amount_due, t.modal_premium) AS due,
           CASE WHEN i.id IS NULL THEN t.modal_premium ELSE """ + RECEIVED_IN_TIME + """ END AS received
    FROM target t
    LEFT JOIN billing_installment i ON i.policy_id = t.id AND i.sequence = t.seq
    WHERE (i.id IS NOT NULL AND i.status <> ALL(%(not_due)s)) OR (i.id IS NULL AND t.paid_to_date > t.window_start)
)
INSERT INTO reporting_persistencyfact (cohort, month_n, derived, id_lo, """ + SLICE_COLUMNS + """, computed_at,
                                       policies_due, policies_persisting, premium_due, premium_received)
SELECT date_trunc('month', m.issue_date)::date, m.month_n, m.derived, %(lo)s, s.branch_id, s.product_id,
       s.payment_method, s.sales_channel, s.agent_id, now(), count(*), count(*) FILTER (WHERE m.received >= m.due),
       sum(m.due), sum(m.received)
FROM measured m
""" + SLICE_JOIN.format(policy="m.id", day="m.window_start") + """
  AND s.policy_id BETWEEN %(lo)s AND %(hi)s
GROUP BY 1, 2, 3, 5, 6, 7, 8, 9
"""

TOTALS_SQL = """
SELECT day, sum(premium_due), sum(premium_received), sum(installments_paid), sum(policies_lapsed),
       sum(policies_reinstated), 0, 0
FROM reporting_dailyfact WHERE id_lo = %(lo)s AND day = ANY(%(days)s) GROUP BY day
UNION ALL
SELECT day, 0, 0, 0, 0, 0, sum(lines_paid), sum(lines_failed)
FROM reporting_debitfact WHERE id_lo = %(lo)s AND day = ANY(%(days)s) GROUP BY day
"""
TOTAL_NAMES = ("premium_due", "premium_received", "installments_paid", "policies_lapsed", "policies_reinstated",
               "debit_lines_paid", "debit_lines_failed")

# why a day changed: what was booked, reversed, voided or answered since the last snapshot
CAUSES_SQL = """
SELECT i.due_date, 'money_imported', count(*) FROM billing_allocation a JOIN billing_installment i ON i.id = a.installment_id
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.due_date = ANY(%(days)s) AND a.created_at >= %(since)s
GROUP BY 1
UNION ALL
SELECT i.due_date, 'reversals', count(*) FROM billing_allocation a JOIN billing_installment i ON i.id = a.installment_id
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.due_date = ANY(%(days)s) AND a.reversed_at >= %(since)s
GROUP BY 1
UNION ALL
SELECT c.effective_date, CASE WHEN c.voided_at >= %(since)s THEN 'lapses_voided' ELSE 'status_changes' END, count(*)
FROM policies_policystatuschange c
WHERE c.policy_id BETWEEN %(lo)s AND %(hi)s AND c.effective_date = ANY(%(days)s)
  AND (c.recorded_at >= %(since)s OR c.voided_at >= %(since)s)
GROUP BY 1, 2
UNION ALL
SELECT b.collection_date, 'debit_results', count(*) FROM billing_debitline l JOIN billing_debitbatch b ON b.id = l.batch_id
WHERE l.policy_id BETWEEN %(lo)s AND %(hi)s AND b.collection_date = ANY(%(days)s) AND l.result_at >= %(since)s
GROUP BY 1
"""


# The compact tables (the dashboard's grain, models._Slice4): each chunk keeps them by adding the
# difference it made, new sums less the old ones it captured before replacing its rows, in one
# upsert per table, rows in key order and table after table in this order, just before the chunk
# commits. Two chunks at once then wait for each other's rows but never deadlock: each takes its
# rows of a table in one statement in key order.
SLICE4 = ("branch_id", "product_id", "payment_method", "sales_channel")
DAY_FIGURES = tuple(FIGURES.replace(" ", "").split(","))
DEBIT_FIGURES = ("lines_sent", "lines_paid", "lines_failed", "amount_sent", "amount_paid")
PERSISTENCY_FIGURES = ("policies_due", "policies_persisting", "premium_due", "premium_received")


BY_DAYS = " AND f.day = ANY(%(days)s)"
# a chunk's first snapshot recomputes every pair (no pair parameters: the filter is left out)
BY_PAIRS = """ AND (f.cohort, f.month_n) IN (SELECT * FROM unnest(%(pair_cohorts)s::date[], %(pair_months)s::int[]))"""


class Compact:
    def __init__(self, name: str, source: str, keys: dict[str, str], figures: tuple[str, ...], where: str):
        self.name, self.source, self.figures, self.where = name, source, figures, where
        self.keys = {**keys, **{column: f"f.{column}" for column in SLICE4}}

    def _select(self, *, all_days: bool = False) -> str:
        keys = ", ".join(f"{expr} AS {name}" for name, expr in self.keys.items())
        sums = ", ".join(f"sum(f.{f}) AS {f}" for f in self.figures)
        where = "" if all_days else self.where
        return (f"SELECT {keys}, {sums} FROM {self.source} f WHERE f.id_lo = %(lo)s{where} "
                f"GROUP BY {', '.join(self.keys.values())}")

    def capture(self, params: dict, *, all_days: bool = False) -> None:
        """The chunk's sums before it replaces its rows: those it recomputes tonight (all on a rebuild)."""
        _run(f"CREATE TEMP TABLE IF NOT EXISTS kpi_old_{self.name} ON COMMIT DROP AS "
             f"{self._select(all_days=all_days)} LIMIT 0", params)
        _run(f"INSERT INTO kpi_old_{self.name} {self._select(all_days=all_days)}", params)

    def apply(self, params: dict, *, all_days: bool = False) -> None:
        names = ", ".join(self.keys)
        plus = ", ".join(f"sum({f})" for f in self.figures)
        moved = " OR ".join(f"sum({f}) <> 0" for f in self.figures)
        update = ", ".join(f"{f} = t.{f} + EXCLUDED.{f}" for f in self.figures)
        old = f"SELECT {names}, {', '.join(f'-{f}' for f in self.figures)} FROM kpi_old_{self.name}"
        _run(f"""INSERT INTO reporting_slice{self.name}fact AS t ({names}, {', '.join(self.figures)})
                 SELECT {names}, {plus} FROM ({self._select(all_days=all_days)} UNION ALL {old}) d
                 GROUP BY {names} HAVING {moved} ORDER BY {names}
                 ON CONFLICT ({names}) DO UPDATE SET {update}""", params)
        _run(f"TRUNCATE kpi_old_{self.name}", {})


COMPACTS = (
    Compact("day", "reporting_dailyfact", {"day": "f.day"}, DAY_FIGURES, BY_DAYS),
    Compact("month", "reporting_dailyfact", {"month": "date_trunc('month', f.day)::date"}, DAY_FIGURES, BY_DAYS),
    Compact("debit", "reporting_debitfact", {"day": "f.day", "bank_name": "f.bank_name", "reason": "f.reason"},
            DEBIT_FIGURES, BY_DAYS),
    Compact("persistency", "reporting_persistencyfact",
            {"cohort": "f.cohort", "month_n": "f.month_n", "derived": "f.derived"}, PERSISTENCY_FIGURES, BY_PAIRS),
)


def _params(**extra) -> dict:
    from outreach.models import ContactLog, PlannedContact

    return {**PARAMS, "contact_dropped": [PlannedContact.Status.CANCELLED.value, PlannedContact.Status.SUPPRESSED.value],
            "robot_call": "robot_call",
            "contact_reached": [ContactLog.Outcome.REACHED.value, ContactLog.Outcome.PROMISED.value], **extra}


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _run(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _contacts_cte(params: dict) -> str:
    """The contact facts' CTE, or an empty one (logged) while the tables it reads are being
    reshaped: the night's money facts must not fail for a provisional figure."""
    probe = "WITH " + CONTACTS_CTE + " SELECT count(*) FROM contacts"
    try:
        with transaction.atomic():
            _rows(probe, {**params, "days": []})
        return CONTACTS_CTE
    except DatabaseError:
        logger.warning("kpi_snapshot: the contact facts' tables cannot be read; contact facts left at zero",
                       exc_info=True)
        return NO_CONTACTS_CTE


def _totals(lo: int, days: list[dt.date]) -> dict[dt.date, dict]:
    totals: dict[dt.date, dict] = {}
    for row in _rows(TOTALS_SQL, {"lo": lo, "days": days}):
        day = totals.setdefault(row[0], dict.fromkeys(TOTAL_NAMES, 0))
        for name, value in zip(TOTAL_NAMES, row[1:], strict=True):
            day[name] += value
    return {day: {k: str(v) for k, v in values.items()} for day, values in totals.items()}


def facts_recompute(*, as_of: dt.date, id_from: int, id_to: int, days: list[dt.date]) -> None:
    """The chunk's facts of these days, replaced, and their months rolled up again."""
    if not days:
        return
    params = _params(as_of=as_of, lo=id_from, hi=id_to, days=days)
    _run("DELETE FROM reporting_dailyfact WHERE id_lo = %(lo)s AND day = ANY(%(days)s)", params)
    _run("DELETE FROM reporting_debitfact WHERE id_lo = %(lo)s AND day = ANY(%(days)s)", params)
    _run(DAILY_SQL.format(contacts=_contacts_cte(params)), params)
    _run(DEBIT_SQL, params)
    months = sorted({day.replace(day=1) for day in days})
    _run("DELETE FROM reporting_monthlyfact WHERE id_lo = %(lo)s AND month = ANY(%(months)s)",
         {"lo": id_from, "months": months})
    _run(MONTHLY_SQL, {"lo": id_from, "months": months})


def persistency_pairs(*, as_of: dt.date, last_as_of: dt.date, id_from: int, id_to: int, changes: dict,
                      installments: list[tuple]) -> list[tuple]:
    """The (cohort, policy month) pairs to recompute tonight: those whose month N began after the
    last snapshot (a policy issued in month M reaches month N in month M + N - 1, whatever its
    day: adding months keeps the month), and those whose inputs were written since (`changes`:
    written_since's parameters)."""
    pairs = set()
    day = last_as_of + dt.timedelta(days=1)
    while day <= as_of:
        pairs |= {(add_months(day.replace(day=1), -(n - 1)), n) for n in PERSISTENCY_MONTHS}
        day += dt.timedelta(days=1)
    params = _params(as_of=as_of, lo=id_from, hi=id_to, **changes)
    pairs |= {(cohort, int(n)) for cohort, n in _rows(CHANGED_PAIRS_SQL, params)}
    pairs |= {(cohort, n) for _day, cohort, n in installments if n in PERSISTENCY_MONTHS}
    return sorted(pairs)


def _pair_params(pairs: list[tuple] | None) -> dict:
    if pairs is None:
        return {"pair_cohorts": None, "pair_months": None}
    return {"pair_cohorts": [c for c, _n in pairs], "pair_months": [n for _c, n in pairs]}


def persistency_recompute(*, as_of: dt.date, id_from: int, id_to: int, pairs: list[tuple] | None = None) -> int:
    """The chunk's persistency facts of these (cohort, month) pairs (all when None), replaced."""
    params = _params(as_of=as_of, lo=id_from, hi=id_to, **_pair_params(pairs))
    if pairs is None:
        _run("DELETE FROM reporting_persistencyfact WHERE id_lo = %(lo)s", params)
        return _run(PERSISTENCY_SQL.format(pairs=""), params)
    if not pairs:
        return 0
    _run("""DELETE FROM reporting_persistencyfact WHERE id_lo = %(lo)s AND (cohort, month_n)
            IN (SELECT * FROM unnest(%(pair_cohorts)s::date[], %(pair_months)s::int[]))""", params)
    return _run(PERSISTENCY_SQL.format(pairs=PAIRS_FILTER), params)


# after the first snapshot, a policy lacks an open slice row only when it is new or its row was
# closed tonight (SLICES_SQL); the chunk's slice rows are read (SLICES_INSERT_SQL) only then
NEW_POLICIES_SQL = "SELECT EXISTS (SELECT 1 FROM policies_policy p WHERE " + NEW_POLICIES_WHERE + ")"


def slices_keep(*, as_of: dt.date, id_from: int, id_to: int, since=None, last_hi: int | None = None,
                any_new: bool | None = None) -> int:
    """The chunk's slice rows kept; after the first snapshot only the policies written since can
    have changed (every write of a policy stamps updated_at, the import's and the night's SQL too),
    and those above the last snapshot's range (`last_hi`) can be new to it. `any_new`: whether the
    chunk has such new policies, when the caller knows (NEW_FLOOR_SQL)."""
    last_hi = id_to if last_hi is None else last_hi
    params = _params(as_of=as_of, lo=id_from, hi=id_to, since=since, last_hi=last_hi)
    sql = slices_sql(since=since is not None, grown=last_hi < id_to)
    closed = _run(sql[0], params)
    if since is not None and not closed:
        if any_new is None:
            any_new = _rows(NEW_POLICIES_SQL, params)[0][0]
        if not any_new:
            return 0
    return closed + _run(sql[1], params)


def kpi_snapshot(as_of: dt.date, id_from: int, id_to: int) -> int:
    """The nightly step (registered from ReportingConfig.ready). Returns the fact rows written."""
    with transaction.atomic():  # the captured sums live in temporary tables dropped on commit
        return _snapshot(as_of, id_from, id_to)


def _snapshot(as_of: dt.date, id_from: int, id_to: int, *, captured: bool = False) -> int:
    """`captured`: the chunk's old sums are captured already (a rebuild, over all its days)."""
    params = _params(as_of=as_of, lo=id_from, hi=id_to)
    horizon, seen_xid = _rows(HORIZON_SQL, {})[0]
    previous = _rows("""SELECT as_of, COALESCE(horizon - %(clock)s, computed_at - %(margin)s), computed_at,
                               horizon, seen_xid, id_hi, floor
                        FROM reporting_snapshotrun WHERE id_lo = %(lo)s AND as_of < %(as_of)s
                        ORDER BY as_of DESC LIMIT 1""", {**params, "clock": CLOCK_MARGIN, "margin": SINCE_MARGIN})
    last_as_of, since, last_mark, last_horizon, last_seen, last_hi, last_floor = (
        previous[0] if previous else (None,) * 7)
    # where the written_since tests start (all of the margin when the run kept no transaction id)
    changes = {"since": since, "until": last_horizon if last_seen is not None else since, "seen_xid": last_seen}
    any_new = None
    if last_floor is not None:
        new_floor, any_new = _rows(NEW_FLOOR_SQL, {**params, "since": since, "last_hi": last_hi})[0]
        floor = min(last_floor, new_floor) if new_floor is not None else last_floor
    else:
        floor = _rows(CHUNK_FLOOR_SQL, params)[0][0]
    params["floor"] = floor
    slices_keep(as_of=as_of, id_from=id_from, id_to=id_to, since=since, last_hi=last_hi, any_new=any_new)
    if last_as_of is None:
        days = sorted({row[0] for row in _rows(ALL_DAYS_SQL, params)} | {as_of})
        restated: list[dt.date] = []
        pairs = None
    else:
        gap = [last_as_of + dt.timedelta(days=n) for n in range(1, (as_of - last_as_of).days + 1)]
        marked = marks_complete_since(since)
        installments = _rows(CHANGED_MARKED_INSTALLMENTS_SQL if marked else CHANGED_INSTALLMENTS_SQL,
                             {**params, **changes})
        candidates = ({row[0] for row in _rows(CHANGED_DAYS_SQL, {**params, **changes})}
                      | {day for day, _cohort, _n in installments if day <= as_of})
        changed = sorted(day for day in candidates if day >= floor)  # none before the chunk's floor
        # a day is restated when it had been reported by an earlier snapshot and its figures move
        restated = [day for day in changed if day <= last_as_of]
        days = sorted(set(gap) | set(changed))
        pairs = persistency_pairs(as_of=as_of, last_as_of=last_as_of, id_from=id_from, id_to=id_to, changes=changes,
                                  installments=installments)
    before = _totals(id_from, restated) if restated else {}
    if not captured:
        for compact in COMPACTS:
            compact.capture({**params, "days": days, **_pair_params(pairs)},
                            all_days=compact.where == BY_PAIRS and pairs is None)
    facts_recompute(as_of=as_of, id_from=id_from, id_to=id_to, days=days)
    if restated:
        after = _totals(id_from, restated)
        # the causes are counted from the mark itself: what was booked after the day was reported
        _restatements_record(as_of=as_of, id_from=id_from, id_to=id_to, before=before, after=after, since=last_mark)
    persistency_recompute(as_of=as_of, id_from=id_from, id_to=id_to, pairs=pairs)
    since_sql = "" if pairs is None else "AND " + written_since("updated_at", "p")
    _run(TERMS_KEEP_SQL.format(since=since_sql), {**params, **changes})
    for compact in COMPACTS:
        compact.apply({**params, "days": days, **_pair_params(pairs)},
                      all_days=compact.where == BY_PAIRS and pairs is None)
    # the mark is the clock when the chunk is done, not its transaction's start: rows written
    # meanwhile by others carry earlier times and are found by the margin (SINCE_MARGIN)
    _run("""INSERT INTO reporting_snapshotrun (as_of, id_lo, id_hi, computed_at, horizon, seen_xid, days, day_list,
                                               floor)
            VALUES (%(as_of)s, %(lo)s, %(hi)s, clock_timestamp(), %(horizon)s, %(seen_xid)s, %(count)s, %(days)s,
                    %(floor)s)
            ON CONFLICT (as_of, id_lo) DO UPDATE SET computed_at = EXCLUDED.computed_at, id_hi = EXCLUDED.id_hi,
                horizon = EXCLUDED.horizon, seen_xid = EXCLUDED.seen_xid, days = EXCLUDED.days,
                day_list = EXCLUDED.day_list, floor = EXCLUDED.floor""",
         {**params, "count": len(days), "horizon": horizon, "seen_xid": seen_xid, "days": days})
    return _rows("SELECT count(*) FROM reporting_dailyfact WHERE id_lo = %(lo)s AND day = ANY(%(days)s)",
                 {"lo": id_from, "days": days})[0][0]


def _restatements_record(*, as_of: dt.date, id_from: int, id_to: int, before: dict, after: dict, since) -> None:
    empty = dict.fromkeys(TOTAL_NAMES, "0")
    moved = [day for day in sorted(set(before) | set(after))
             if {k: float(v) for k, v in before.get(day, empty).items()}
             != {k: float(v) for k, v in after.get(day, empty).items()}]
    if not moved:
        return
    causes: dict[dt.date, dict] = {}
    for day, cause, count in _rows(CAUSES_SQL, {"lo": id_from, "hi": id_to, "days": moved, "since": since}):
        causes.setdefault(day, {})[cause] = causes.get(day, {}).get(cause, 0) + count
    from reporting.models import Restatement

    for day in moved:
        Restatement.objects.update_or_create(
            as_of=as_of, day=day, id_lo=id_from,
            defaults={"before": before.get(day, empty), "after": after.get(day, empty), "causes": causes.get(day, {})})


def kpi_rebuild(*, as_of: dt.date, id_from: int, id_to: int) -> int:
    """The chunk's facts from scratch, as its first snapshot would compute them (no restatement is
    recorded: nothing was reported from the rows being replaced)."""
    params = {"lo": id_from, "hi": id_to}
    with transaction.atomic():
        # what the chunk (or an older chunking's chunks inside its range) added to the compact tables
        los = [row[0] for row in _rows(" UNION ".join(
            f"SELECT DISTINCT id_lo FROM reporting_{table} WHERE id_lo BETWEEN %(lo)s AND %(hi)s"
            for table in ("dailyfact", "debitfact", "persistencyfact")), params)]
        for lo in sorted(set(los) | {id_from}):
            for compact in COMPACTS:
                compact.capture({"lo": lo}, all_days=True)
        for table in ("dailyfact", "monthlyfact", "debitfact", "persistencyfact", "snapshotrun"):
            _run(f"DELETE FROM reporting_{table} WHERE id_lo BETWEEN %(lo)s AND %(hi)s", params)
        return _snapshot(as_of, id_from, id_to, captured=True)


def kpi_rebuild_all(*, as_of: dt.date, workers: int = 2) -> int:
    """Every chunk rebuilt (kpi_rebuild), `workers` chunks at a time, each in its own transaction
    on its own connection (the compact tables' upserts never deadlock: Compact). Returns the fact
    rows written."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from billing.services.schedules import policy_id_chunks

    def one(chunk: tuple[int, int]) -> int:
        try:
            with transaction.atomic():
                return kpi_rebuild(as_of=as_of, id_from=chunk[0], id_to=chunk[1])
        finally:
            connections.close_all()  # this thread's connection

    chunks = policy_id_chunks()
    # inside a transaction (a test, a caller's atomic block) other connections would not see its
    # rows: one chunk after the other on this connection
    if workers <= 1 or len(chunks) <= 1 or connection.in_atomic_block:
        total = 0
        for lo, hi in chunks:
            with transaction.atomic():
                total += kpi_rebuild(as_of=as_of, id_from=lo, id_to=hi)
        return total
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(one, chunks))
