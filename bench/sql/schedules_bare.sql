-- The minimal bare SQL producing the rows of billing.services.schedules.installments_extend on an
-- empty schedule (bench/money.py runs it beside the service, in the same run, and compares rows).
--
-- Variables (psql style; bench/money.py substitutes them):
--   :'as_of'    the business date, 2026-11-25
--   :'horizon'  as_of + 13 months, 2027-12-25
--
-- One INSERT ... SELECT with generate_series: no chunking, no ON CONFLICT, no audit record. The
-- bench runs it twice per run, into two targets (:"target"):
--   billing_installment      the real table after TRUNCATE: the same indexes, CHECK constraints,
--                            foreign key to policies_policy (checked at commit) as for the service
--   bench_installment_bare   a scratch copy (below): same columns, defaults, CHECK constraints and
--                            indexes; LIKE copies neither the foreign key nor the triggers (the trail
--                            triggers fire on UPDATE only)
--
-- Installment k of a policy is due at issue_date + k x (12 / per_year) months (PostgreSQL clips to
-- the month's end); k = 1 .. premium_term_years x per_year - 1; kept are those due on or after
-- paid_to_date and on or before the horizon. k's range is narrowed to the whole months between
-- the issue date and paid_to_date / the horizon (age()), so no policy generates its whole term.

DROP TABLE IF EXISTS bench_installment_bare;

CREATE TABLE bench_installment_bare (LIKE billing_installment INCLUDING ALL);

INSERT INTO :"target" (policy_id, sequence, due_date, grace_end, amount_due, amount_paid, status, created_at,
                       updated_at)
SELECT p.id, k, d.due_date, d.due_date + pr.grace_days, p.modal_premium, 0,
       CASE WHEN d.due_date > :'as_of'::date THEN 'scheduled' WHEN d.due_date = :'as_of'::date THEN 'due' ELSE 'overdue' END,
       now(), now()
FROM policies_policy p
JOIN policies_product pr ON pr.id = p.product_id
CROSS JOIN LATERAL (SELECT 12 / CASE p.frequency WHEN 'annual' THEN 1 WHEN 'semiannual' THEN 2
                                                 WHEN 'quarterly' THEN 4 ELSE 12 END AS step) f
CROSS JOIN LATERAL generate_series(
    GREATEST(1, (extract(year FROM age(p.paid_to_date, p.issue_date)) * 12
                 + extract(month FROM age(p.paid_to_date, p.issue_date)))::int / f.step),
    LEAST(p.premium_term_years * 12 / f.step - 1,
          (extract(year FROM age(:'horizon'::date, p.issue_date)) * 12
           + extract(month FROM age(:'horizon'::date, p.issue_date)))::int / f.step + 1)) AS k
CROSS JOIN LATERAL (SELECT (p.issue_date + make_interval(months => k * f.step))::date AS due_date) d
WHERE p.status IN ('in_force', 'lapsed', 'deferred')
  AND d.due_date >= p.paid_to_date AND d.due_date <= :'horizon'::date;
