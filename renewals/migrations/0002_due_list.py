from django.db import migrations

# The due lists read this snapshot, refreshed by the nightly pipeline's last step: each policy in
# force with its next open installment (DESIGN.md section 4: lists read snapshots, not raw rows).
CREATE = """
CREATE MATERIALIZED VIEW renewals_due_list AS
SELECT DISTINCT ON (i.policy_id)
    i.policy_id, i.id AS installment_id, i.sequence, i.due_date, i.amount_due - i.amount_paid AS amount,
    p.branch_id, p.product_id, p.frequency, p.payment_method, p.agent_id
FROM billing_installment i
JOIN policies_policy p ON p.id = i.policy_id
WHERE i.status IN ('scheduled', 'due', 'overdue', 'partially_paid') AND p.status = 'in_force'
ORDER BY i.policy_id, i.sequence
WITH NO DATA;
CREATE UNIQUE INDEX renewals_due_list_policy ON renewals_due_list (policy_id);
CREATE INDEX renewals_due_list_due_date ON renewals_due_list (due_date, branch_id);
"""


class Migration(migrations.Migration):
    dependencies = [("renewals", "0001_initial"), ("billing", "0007_csv_templates")]
    operations = [migrations.RunSQL(CREATE, "DROP MATERIALIZED VIEW IF EXISTS renewals_due_list")]
