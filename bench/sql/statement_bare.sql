-- The minimal bare SQL that stores a statement's lines and books its exact matches: the work of
-- billing.services.statements.statement_import on the bench's file (bench/money.py), without
-- parsing in Python, duplicate detection, per-line fallbacks or reports.
--
-- Variables (psql style; bench/money.py substitutes them):
--   :'account'  our receiving account (settings.MAIN_RECEIVING_ACCOUNT)
-- The bench streams the CSV file (header 交易日期,收入金额,币种,对方户名,对方账号,交易流水号,摘要)
-- into the COPY, runs everything in one transaction on the real tables (the trail triggers fire
-- as they do for the service), reads the outcome and rolls back.
--
-- Booked: a line naming a policy number whose oldest open installment owes exactly the amount
-- (rule 10), and a line with no policy number from the account registered on a policy whose oldest
-- open installment owes exactly the amount (rule 20). Every other line stays in suspense.

-- the trail's context (who or what wrote the rows), as the service's audit_context sets it, and
-- pgtrigger.ignore set to "nothing ignored": unset, every trail trigger call raises and catches an
-- error (a subtransaction rollback that walks all deferred foreign-key events: quadratic)
SELECT set_config('pghistory.context_id', gen_random_uuid()::text, true),
       set_config('pghistory.context_metadata', '{"job": "bench statement_bare.sql"}', true),
       set_config('pgtrigger.ignore', '{}', true);

CREATE TEMP TABLE bare_stage (
    line_no integer GENERATED ALWAYS AS IDENTITY (START WITH 2),
    value_date date, amount numeric(14, 2), currency text, payer_name text, payer_account text,
    reference text, remittance text
) ON COMMIT DROP;

COPY bare_stage (value_date, amount, currency, payer_name, payer_account, reference, remittance)
FROM STDIN (FORMAT csv, HEADER true);

INSERT INTO billing_statementimport (created_at, file_name, file_sha256, format, account_no, lines, new, duplicate,
                                     rejected, report)
VALUES (now(), 'bare.csv', '', 'csv', :'account', 0, 0, 0, 0, '{}');

INSERT INTO billing_payment (source, statement_import_id, line_no, account_no, identity, value_date, booking_date,
                             direction, amount, currency, payer_name, payer_account, reference, remittance, reversal,
                             status, reason_code, reason_params, status_reason, created_at)
SELECT 'bank', currval(pg_get_serial_sequence('billing_statementimport', 'id')), line_no, :'account', reference,
       value_date, value_date, 'credit', amount, currency, payer_name, payer_account, reference, remittance, false,
       'suspense', '', '{}'::jsonb, '', now()
FROM bare_stage;

CREATE TEMP TABLE bare_match ON COMMIT DROP AS
SELECT pay.id AS payment_id, pol.id AS policy_id, i.id AS installment_id, pay.amount, pay.value_date,
       '保单号（附言或参考号）' AS rule
FROM billing_payment pay
JOIN policies_policy pol ON pol.policy_no = substring(pay.remittance FROM '(?<![0-9])([0-9]{16})(?![0-9])')
JOIN LATERAL (SELECT id, amount_due - amount_paid AS owed FROM billing_installment
              WHERE policy_id = pol.id AND status IN ('scheduled', 'due', 'overdue', 'partially_paid')
              ORDER BY sequence LIMIT 1) i ON i.owed = pay.amount
WHERE pay.statement_import_id = currval(pg_get_serial_sequence('billing_statementimport', 'id'))
UNION ALL
SELECT pay.id, pol.id, i.id, pay.amount, pay.value_date, '付款账号与保单登记账号一致'
FROM billing_payment pay
JOIN policies_policy pol ON pol.bank_account = pay.payer_account AND pol.bank_account <> ''
                        AND pol.status IN ('in_force', 'lapsed', 'deferred')
JOIN LATERAL (SELECT id, amount_due - amount_paid AS owed FROM billing_installment
              WHERE policy_id = pol.id AND status IN ('scheduled', 'due', 'overdue', 'partially_paid')
              ORDER BY sequence LIMIT 1) i ON i.owed = pay.amount
WHERE pay.statement_import_id = currval(pg_get_serial_sequence('billing_statementimport', 'id'))
  AND pay.remittance !~ '(?<![0-9])[0-9]{16}(?![0-9])';

WITH assigned AS (
    INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at)
    SELECT payment_id, policy_id, amount, 'confirmed', rule, now() FROM bare_match
    RETURNING id, payment_id
)
INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, reversal_reason)
SELECT a.id, m.installment_id, m.amount, m.value_date, now(), ''
FROM assigned a JOIN bare_match m ON m.payment_id = a.payment_id;

UPDATE billing_installment i
SET amount_paid = i.amount_paid + m.amount, status = 'paid', paid_value_date = m.value_date, updated_at = now()
FROM bare_match m WHERE i.id = m.installment_id;

UPDATE billing_payment pay SET status = 'matched' FROM bare_match m WHERE pay.id = m.payment_id;

UPDATE billing_payment SET reason_code = 'no_reference'
WHERE statement_import_id = currval(pg_get_serial_sequence('billing_statementimport', 'id')) AND status = 'suspense';
