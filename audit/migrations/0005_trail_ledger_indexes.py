# The auditor's ledger (audit.selectors.trail_page): each event table newest first along
# (pgh_created_at, pgh_id), and the context rows by user and by business date, which the
# ledger's filters join to (pghistory_context is django-pghistory's table; the trail is audit's).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_db_roles'),
        ('pghistory', '0007_auto_20250421_0444'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='operationevent',
            index=models.Index(fields=['pgh_created_at', 'pgh_id'], name='operation_event_ledger'),
        ),
        migrations.RunSQL(
            sql=[
                "CREATE INDEX IF NOT EXISTS trail_context_username ON pghistory_context ((metadata -> 'username'))",
                "CREATE INDEX IF NOT EXISTS trail_context_business_date ON pghistory_context ((metadata -> 'business_date'))",
                "CREATE INDEX IF NOT EXISTS trail_context_as_of ON pghistory_context ((metadata -> 'as_of'))",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS trail_context_username",
                "DROP INDEX IF EXISTS trail_context_business_date",
                "DROP INDEX IF EXISTS trail_context_as_of",
            ],
        ),
    ]
