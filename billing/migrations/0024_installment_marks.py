"""Installment marks: each statement that inserts or updates installments notes their policies,
with its transaction's time, so that the night's steps read what changed since a time through an
index instead of every installment of their chunk (billing.services.marks)."""

from django.db import migrations


MARKS_SQL = """
CREATE TABLE billing_installment_mark (
    marked_at timestamptz NOT NULL DEFAULT now(),
    policy_id bigint NOT NULL,
    PRIMARY KEY (marked_at, policy_id)
);
CREATE TABLE billing_installment_mark_kept (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    complete_from timestamptz NOT NULL
);
INSERT INTO billing_installment_mark_kept (complete_from) VALUES (now());
CREATE FUNCTION rd_installment_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO billing_installment_mark (marked_at, policy_id)
    SELECT DISTINCT now(), n.policy_id FROM new_rows n
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER installment_mark_insert AFTER INSERT ON billing_installment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rd_installment_mark();
CREATE TRIGGER installment_mark_update AFTER UPDATE ON billing_installment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rd_installment_mark();
"""
MARKS_REVERSE_SQL = """
DROP TRIGGER IF EXISTS installment_mark_update ON billing_installment;
DROP TRIGGER IF EXISTS installment_mark_insert ON billing_installment;
DROP FUNCTION IF EXISTS rd_installment_mark();
DROP TABLE IF EXISTS billing_installment_mark_kept;
DROP TABLE IF EXISTS billing_installment_mark;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0023_statement_references_made_here'),
    ]

    operations = [migrations.RunSQL(MARKS_SQL, MARKS_REVERSE_SQL)]
