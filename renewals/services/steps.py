"""The nightly pipeline's steps: each one set-based SQL over one chunk of policy ids, idempotent
for its business date, and dated by its rule, not by the night it runs (DESIGN.md section 3).

Every function takes (as_of, id_from, id_to) and returns the number of rows it changed.
"""

import datetime as dt

from django.db import connection

from billing.services.schedules import installments_extend_chunk
from renewals.services.collection import collection_steps, debits
from renewals.services.holds import grace_extensions
from renewals.services.servicing import servicing_due

OPEN = "('scheduled', 'due', 'overdue', 'partially_paid')"


def _execute(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def extend_schedules(as_of: dt.date, id_from: int, id_to: int) -> int:
    return installments_extend_chunk(as_of=as_of, id_from=id_from, id_to=id_to,
                                     job=f"nightly:{as_of.isoformat()}:extend_schedules").rows


# Nothing paid yet: scheduled before the due date, due on it, overdue after it. Only the rows whose
# status changes are read and written: one pass over the chunk, no join of the table with itself.
INSTALLMENT_STATUSES_SQL = f"""
UPDATE billing_installment i
SET status = CASE WHEN i.due_date > %(as_of)s THEN 'scheduled' WHEN i.due_date = %(as_of)s THEN 'due'
                  ELSE 'overdue' END,
    updated_at = now()
WHERE i.policy_id BETWEEN %(lo)s AND %(hi)s AND i.status IN {OPEN} AND i.amount_paid = 0
  AND i.status <> CASE WHEN i.due_date > %(as_of)s THEN 'scheduled' WHEN i.due_date = %(as_of)s THEN 'due'
                       ELSE 'overdue' END
"""


def installment_statuses(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _execute(INSTALLMENT_STATUSES_SQL, {"as_of": as_of, "lo": id_from, "hi": id_to})


# An installment lapses its policy when it is not fully paid at the end of its (extended) grace,
# or when the money that completed it was valued after its last grace day. Only installments
# whose grace ends on or after the policy's latest in-force date count: a reinstated policy is
# not lapsed again for what its reinstatement settled.
LAPSING_INSTALLMENTS = f"""
SELECT i.policy_id, min(i.grace_end) + 1 AS lapse_date
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND {{policy_filter}}
  AND i.policy_id BETWEEN %(lo)s AND %(hi)s  -- said again for the planner: the chunk's installments only
  AND i.grace_end < %(as_of)s
  AND (i.status IN {OPEN} OR (i.status = 'paid' AND i.paid_value_date > i.grace_end))
  AND i.grace_end >= COALESCE((
      SELECT max(c.effective_date) FROM policies_policystatuschange c
      WHERE c.policy_id = p.id AND c.status = 'in_force' AND c.voided_at IS NULL), p.issue_date)
GROUP BY i.policy_id
"""

# Money valued inside grace imported after the lapse ran: the installment that lapsed the
# policy is now paid in time, so the lapse is void (kept in the history and the trail) and the
# policy is in force again; the lapse step that follows applies the rule again from there.
LAPSE_REVERSAL_SQL = f"""
WITH lapses AS (
    SELECT DISTINCT ON (c.policy_id) c.id, c.policy_id, c.effective_date, c.rule
    FROM policies_policystatuschange c
    JOIN policies_policy p ON p.id = c.policy_id
    WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.status = 'lapsed' AND c.voided_at IS NULL
    ORDER BY c.policy_id, c.effective_date DESC, c.id DESC
),
unjustified AS (
    SELECT l.id, l.policy_id FROM lapses l
    WHERE l.rule = 'lapse_after_grace'
      AND NOT EXISTS (
          SELECT 1 FROM billing_installment i
          WHERE i.policy_id = l.policy_id AND i.grace_end + 1 <= l.effective_date
            AND (i.status IN {OPEN} OR (i.status = 'paid' AND i.paid_value_date > i.grace_end)))
),
voided AS (
    UPDATE policies_policystatuschange c
    SET voided_at = now(), void_reason = 'money valued inside grace was imported after the lapse'
    FROM unjustified u WHERE c.id = u.id
    RETURNING c.policy_id
)
UPDATE policies_policy p SET status = 'in_force', lapse_date = NULL, updated_at = now()
FROM voided v WHERE p.id = v.policy_id
"""

LAPSE_SQL = f"""
WITH lapsing AS ({LAPSING_INSTALLMENTS.format(policy_filter="p.status = 'in_force'")}),
changed AS (
    UPDATE policies_policy p SET status = 'lapsed', lapse_date = l.lapse_date, updated_at = now()
    FROM lapsing l WHERE p.id = l.policy_id
    RETURNING p.id, p.lapse_date
)
INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule, reason,
                                         void_reason)
SELECT id, 'lapsed', lapse_date, now(), 'nightly', 'lapse_after_grace',
       'an installment was not paid in time by the end of its grace period', ''
FROM changed
"""


def lapse_reversal(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _execute(LAPSE_REVERSAL_SQL, {"as_of": as_of, "lo": id_from, "hi": id_to})


def lapse(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _execute(LAPSE_SQL, {"as_of": as_of, "lo": id_from, "hi": id_to})


# Without a reinstatement the policy terminates on lapse date + the product's window (2 years).
TERMINATE_SQL = """
WITH ending AS (
    SELECT p.id, (p.lapse_date + make_interval(years => pr.reinstatement_years))::date AS end_date
    FROM policies_policy p JOIN policies_product pr ON pr.id = p.product_id
    WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.status = 'lapsed'
      AND (p.lapse_date + make_interval(years => pr.reinstatement_years))::date <= %(as_of)s
      AND NOT EXISTS (SELECT 1 FROM renewals_application a
                      WHERE a.policy_id = p.id AND a.kind = 'reinstatement'
                        AND a.status IN ('submitted', 'referred', 'accepted', 'approved')
                        AND a.applied_on < (p.lapse_date + make_interval(years => pr.reinstatement_years))::date)
),
changed AS (
    UPDATE policies_policy p SET status = 'terminated', updated_at = now()
    FROM ending e WHERE p.id = e.id
    RETURNING p.id, e.end_date
)
INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule, reason,
                                         void_reason)
SELECT id, 'terminated', end_date, now(), 'nightly', 'terminate_after_reinstatement_window',
       'no reinstatement within the reinstatement window', ''
FROM changed
"""


def terminate(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _execute(TERMINATE_SQL, {"as_of": as_of, "lo": id_from, "hi": id_to})


# A policy whose agent has left goes to the active agent of its branch with the fewest policies.
ORPHANS_SQL = """
WITH load AS (
    SELECT a.id, a.branch_id, count(p.id) AS policies
    FROM policies_agent a LEFT JOIN policies_policy p ON p.agent_id = a.id
    WHERE a.status = 'active' AND a.branch_id IS NOT NULL
    GROUP BY a.id
),
best AS (SELECT DISTINCT ON (branch_id) branch_id, id FROM load ORDER BY branch_id, policies, id)
UPDATE policies_policy p SET agent_id = best.id, updated_at = now()
FROM policies_agent gone, best
WHERE p.id BETWEEN %(lo)s AND %(hi)s AND p.agent_id = gone.id AND gone.status = 'left'
  AND p.status IN ('in_force', 'lapsed', 'deferred') AND best.branch_id = p.branch_id
"""


def orphans(as_of: dt.date, id_from: int, id_to: int) -> int:
    return _execute(ORPHANS_SQL, {"as_of": as_of, "lo": id_from, "hi": id_to})


def due_lists(as_of: dt.date, id_from: int, id_to: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("REFRESH MATERIALIZED VIEW renewals_due_list")
        cursor.execute("SELECT count(*) FROM renewals_due_list")
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
    ("due_lists", due_lists, False),
]
STEP_FUNCTIONS = {name: function for name, function, _chunked in STEPS}
