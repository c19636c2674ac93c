from django.db import migrations

# The due list becomes a table that the nightly due_lists step keeps chunk by chunk (policy ids,
# as the other steps), writing only the rows that changed, instead of a materialised view rebuilt
# whole by one REFRESH on one core every night (3.1-4.3 s at 1,000,000 policies, the other core
# idle; bench/RESULTS.md part 20). Same columns, same indexes; filled here from the same query.
# core/sql/grants.sql grants it to the application role after the migration (a table: written by
# the night as the application role, so the owner's refresh function is dropped there).
COLUMNS_SQL = """
    policy_id bigint PRIMARY KEY,
    installment_id bigint NOT NULL,
    sequence integer NOT NULL,
    due_date date NOT NULL,
    grace_end date NOT NULL,
    amount numeric(14, 2) NOT NULL,
    branch_id bigint NOT NULL,
    product_id bigint NOT NULL,
    frequency varchar(12) NOT NULL,
    payment_method varchar(16) NOT NULL,
    agent_id bigint NULL
"""
FORWARD = f"""
DROP MATERIALIZED VIEW IF EXISTS renewals_due_list;
CREATE TABLE renewals_due_list ({COLUMNS_SQL});
INSERT INTO renewals_due_list
SELECT DISTINCT ON (i.policy_id)
    i.policy_id, i.id, i.sequence, i.due_date, i.grace_end, i.amount_due - i.amount_paid,
    p.branch_id, p.product_id, p.frequency, p.payment_method, p.agent_id
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
WHERE i.status IN ('scheduled', 'due', 'overdue', 'partially_paid') AND p.status = 'in_force'
ORDER BY i.policy_id, i.sequence;
CREATE INDEX renewals_due_list_due_date ON renewals_due_list (due_date, policy_id, branch_id);
CREATE INDEX renewals_due_list_grace_end ON renewals_due_list (grace_end);
ANALYZE renewals_due_list;
"""
# back to the materialised view of 0018
BACKWARD = """
DROP TABLE IF EXISTS renewals_due_list;
CREATE MATERIALIZED VIEW renewals_due_list AS
SELECT DISTINCT ON (i.policy_id)
    i.policy_id, i.id AS installment_id, i.sequence, i.due_date, i.grace_end, i.amount_due - i.amount_paid AS amount,
    p.branch_id, p.product_id, p.frequency, p.payment_method, p.agent_id
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
WHERE i.status IN ('scheduled', 'due', 'overdue', 'partially_paid') AND p.status = 'in_force'
ORDER BY i.policy_id, i.sequence
WITH DATA;
CREATE UNIQUE INDEX renewals_due_list_policy ON renewals_due_list (policy_id);
CREATE INDEX renewals_due_list_due_date ON renewals_due_list (due_date, policy_id, branch_id);
CREATE INDEX renewals_due_list_grace_end ON renewals_due_list (grace_end);
ANALYZE renewals_due_list;
"""


class Migration(migrations.Migration):
    dependencies = [("renewals", "0020_update_events_by_statement")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
