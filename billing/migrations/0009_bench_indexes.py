from django.db import migrations

# Indexes found missing by the benchmarks (bench/RESULTS.md). Database-only
# (RunSQL, no model state): the models' Meta is unchanged, so makemigrations sees nothing to do.
#
# billing_debitline (installment_id, id): the nightly debit batch and the collection plan read
# an installment's latest debit line (ORDER BY id DESC LIMIT 1, count, bool_or) once per payable
# installment; without it each look-up scans every debit line ever sent.
INDEXES = [
    ("debit_line_installment", "billing_debitline", "(installment_id, id)"),
]


class Migration(migrations.Migration):
    dependencies = [("billing", "0008_charges")]
    operations = [
        migrations.RunSQL(f"CREATE INDEX {name} ON {table} {columns}", f"DROP INDEX IF EXISTS {name}")
        for name, table, columns in INDEXES
    ]
