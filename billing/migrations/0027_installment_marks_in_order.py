"""A statement's installment marks written in policy order: the marks' key is (its transaction's
time, policy), so the rows of one statement, sorted, go in at the right-hand end of the index
instead of splitting pages across it (100,000 marks of a bank statement 0.50-0.55 s -> 0.32-0.34 s;
bench/RESULTS.md part 28)."""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION rd_installment_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_installment_mark (marked_at, policy_id)
    SELECT now(), n.policy_id FROM new_rows n GROUP BY n.policy_id ORDER BY n.policy_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
"""
FUNCTION_BEFORE_SQL = """
CREATE OR REPLACE FUNCTION rd_installment_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_installment_mark (marked_at, policy_id)
    SELECT DISTINCT now(), n.policy_id FROM new_rows n
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0026_references_one_look_in_id_order'),
    ]

    operations = [migrations.RunSQL(FUNCTION_SQL, FUNCTION_BEFORE_SQL)]
