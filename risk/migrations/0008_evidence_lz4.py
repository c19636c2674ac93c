"""A flag's evidence compressed with lz4 where the server has it (bench/RESULTS.md part 27): the first
night after a migration writes 475,000 unpaid-installments flags of about 2 KB of evidence each, which
pglz compressed at 0.49 s a chunk of 23,510 against 0.35 s. A server built without lz4 keeps pglz."""

from django.db import migrations

SQL = """
DO $$
BEGIN
    ALTER TABLE risk_flag ALTER COLUMN evidence SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not supported by this server: evidence stays compressed with pglz';
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [("risk", "0007_flag_live_policy_index")]

    operations = [migrations.RunSQL(SQL, "ALTER TABLE risk_flag ALTER COLUMN evidence SET COMPRESSION default")]
