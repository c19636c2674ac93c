-- The minimal bare SQL producing the rows of the nightly pipeline's lapse step
-- (renewals.services.steps.lapse) for one business date, over the whole portfolio at once: no
-- chunks, no run bookkeeping (NightlyRun, StepRun, ChunkRun), no operation record.
--
-- Variables (psql style; bench/nightly.py substitutes them):
--   :'as_of'   the business date, 2026-11-26
--
-- bench/nightly.py runs it on a copy of the database taken after the previous business date's run
-- (CREATE DATABASE ... TEMPLATE), and compares its rows with the service's.
--
-- The rule (DESIGN.md section 3): a policy in force lapses the day after the end of the grace of
-- its oldest installment not paid in time (open when its grace ended, or completed by money valued
-- after its grace), counting only installments whose grace ends on or after the policy's latest
-- in-force date (a reinstatement settles what came before). Rows produced: the policy's new state
-- (status, lapse_date), one status-history row, and (by the trail triggers, as for the service) one
-- policies_policyevent row per changed policy.

-- the trail's context, as audit_context sets it for the service, and pgtrigger.ignore set to
-- "nothing ignored" (unset, every trail trigger call raises and catches an error)
SELECT set_config('pghistory.context_id', gen_random_uuid()::text, true),
       set_config('pghistory.context_metadata', '{"job": "bench nightly_bare.sql"}', true),
       set_config('pgtrigger.ignore', '{}', true);

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
