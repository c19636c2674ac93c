"""The single-column indexes that a composite index of the same table already leads with:
policy branch (policy_branch_status), holder and insured (policy_holder and policy_insured, the
same columns twice), status change policy (status_change_on_date). Only the indexes go; the foreign
keys stay as they are (Django's AlterField would drop and re-add them, validating every row)."""

import django.db.models.deletion
from django.db import migrations, models


INDEXES = (
    ("policies_policy", "policies_policy_branch_id_83c5074c", "branch_id"),
    ("policies_policy", "policies_policy_holder_id_16df2b7d", "holder_id"),
    ("policies_policy", "policies_policy_insured_id_7fc1a615", "insured_id"),
    ("policies_policystatuschange", "policies_policystatuschange_policy_id_86c03d5a", "policy_id"),
)


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0013_update_events_by_statement'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='policy',
                    name='branch',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, to='policies.branch', verbose_name='Branch'),
                ),
                migrations.AlterField(
                    model_name='policy',
                    name='holder',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='held_policies', to='policies.customer', verbose_name='Policyholder'),
                ),
                migrations.AlterField(
                    model_name='policy',
                    name='insured',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='insured_policies', to='policies.customer', verbose_name='Insured'),
                ),
                migrations.AlterField(
                    model_name='policystatuschange',
                    name='policy',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='status_changes', to='policies.policy'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"',
                                  reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')
                for table, name, column in INDEXES
            ],
        ),
    ]
