from django.db import migrations

# The due list carries the installment's last day of grace, so that the clerks' and leads' homes
# list their overdue policies, nearest end of grace first, from the snapshot's (due_date, branch_id)
# index instead of reading every overdue installment of their branches (bench/RESULTS.md part 15).
# Built WITH DATA: the pages read it before the next night refreshes it (2.4 s at 1,000,000
# policies) and analysed (a new relation has no statistics). core/sql/grants.sql grants it again
# after the migration.
COLUMNS = """
    i.policy_id, i.id AS installment_id, i.sequence, i.due_date, {grace_end}i.amount_due - i.amount_paid AS amount,
    p.branch_id, p.product_id, p.frequency, p.payment_method, p.agent_id
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
WHERE i.status IN ('scheduled', 'due', 'overdue', 'partially_paid') AND p.status = 'in_force'
ORDER BY i.policy_id, i.sequence
"""
CREATE = """
DROP MATERIALIZED VIEW IF EXISTS renewals_due_list;
CREATE MATERIALIZED VIEW renewals_due_list AS
SELECT DISTINCT ON (i.policy_id) {columns}
WITH {data};
CREATE UNIQUE INDEX renewals_due_list_policy ON renewals_due_list (policy_id);
CREATE INDEX renewals_due_list_due_date ON renewals_due_list ({index_columns});
{grace_end_index}ANALYZE renewals_due_list;
"""
# The due list pages walk the index in their order (due date, policy) and stop at a page; a
# branch's rows are told apart inside the index (branch_id, the third column), before the heap.
# The homes' work list walks the ends of grace from the nearest: the overdue policies come first
# (a policy not yet due ends its grace at least a grace period later), a branch's after a few rows.
FORWARD = CREATE.format(columns=COLUMNS.format(grace_end="i.grace_end, "), data="DATA",
                        index_columns="due_date, policy_id, branch_id",
                        grace_end_index="CREATE INDEX renewals_due_list_grace_end ON renewals_due_list (grace_end);\n")
BACKWARD = CREATE.format(columns=COLUMNS.format(grace_end=""), data="DATA", index_columns="due_date, branch_id",
                         grace_end_index="")


class Migration(migrations.Migration):
    dependencies = [("renewals", "0017_reinstatement_invitation"), ("billing", "0018_payment_value_date")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
