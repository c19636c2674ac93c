-- The minimal bare SQL producing the rows of the nightly pipeline's state-changing steps for one
-- business date, over the whole portfolio at once: no chunks, no run bookkeeping (NightlyRun,
-- StepRun, ChunkRun), no operation record, one transaction.
--
-- Variables (psql style; bench/nightly.py substitutes them):
--   :'as_of'   the business date (2026-11-25, 2026-11-26)
--
-- bench/nightly.py runs it on a copy of the database taken before the day's run (CREATE DATABASE
-- ... TEMPLATE), times each "-- step:" section, and compares its rows with the service's: the
-- count of each step, and for the lapse each policy, lapse date, status-history row and trail row.
--
-- Rules (DESIGN.md section 3):
--   installment_statuses  nothing paid yet: scheduled before the due date, due on it, overdue after
--   lapse                 a policy in force lapses the day after the end of the grace of its oldest
--                         installment not paid in time (open when its grace ended, or completed by
--                         money valued after its grace), counting only installments whose grace ends
--                         on or after the policy's latest in-force date; one status-history row, and
--                         (by the trail triggers, as for the service) one policies_policyevent row
--   terminate             a lapsed policy not reinstated within the product's window terminates on
--                         lapse date + window (unless a reinstatement application entered before
--                         that date is still open)

-- the trail's context, as audit_context sets it for the service, and pgtrigger.ignore set to
-- "nothing ignored" (unset, every trail trigger call raises and catches an error)
SELECT set_config('pghistory.context_id', gen_random_uuid()::text, true),
       set_config('pghistory.context_metadata', '{"job": "bench nightly_bare.sql"}', true),
       set_config('pgtrigger.ignore', '{}', true);

-- step: installment_statuses
UPDATE billing_installment i
SET status = CASE WHEN i.due_date > :'as_of'::date THEN 'scheduled' WHEN i.due_date = :'as_of'::date THEN 'due'
                  ELSE 'overdue' END,
    updated_at = now()
WHERE i.status IN ('scheduled', 'due', 'overdue', 'partially_paid') AND i.amount_paid = 0
  AND i.status <> CASE WHEN i.due_date > :'as_of'::date THEN 'scheduled' WHEN i.due_date = :'as_of'::date THEN 'due'
                       ELSE 'overdue' END;

-- step: lapse
WITH lapsing AS (
    SELECT i.policy_id, min(i.grace_end) + 1 AS lapse_date
    FROM billing_installment i
    JOIN policies_policy p ON p.id = i.policy_id
    WHERE p.status = 'in_force'
      AND i.grace_end < :'as_of'::date
      AND (i.status IN ('scheduled', 'due', 'overdue', 'partially_paid')
           OR (i.status = 'paid' AND i.paid_value_date > i.grace_end))
      AND i.grace_end >= COALESCE((SELECT max(c.effective_date) FROM policies_policystatuschange c
                                   WHERE c.policy_id = p.id AND c.status = 'in_force' AND c.voided_at IS NULL),
                                  p.issue_date)
    GROUP BY i.policy_id
),
changed AS (
    UPDATE policies_policy p SET status = 'lapsed', lapse_date = l.lapse_date, updated_at = now()
    FROM lapsing l WHERE p.id = l.policy_id
    RETURNING p.id, p.lapse_date
)
INSERT INTO policies_policystatuschange (policy_id, status, effective_date, recorded_at, source, rule, reason,
                                         void_reason)
SELECT id, 'lapsed', lapse_date, now(), 'nightly', 'lapse_after_grace',
       'an installment was not paid in time by the end of its grace period', ''
FROM changed;

-- step: terminate
WITH ending AS (
    SELECT p.id, (p.lapse_date + make_interval(years => pr.reinstatement_years))::date AS end_date
    FROM policies_policy p JOIN policies_product pr ON pr.id = p.product_id
    WHERE p.status = 'lapsed' AND (p.lapse_date + make_interval(years => pr.reinstatement_years))::date <= :'as_of'::date
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
FROM changed;
