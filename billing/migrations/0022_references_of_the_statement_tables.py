"""A statement's payments, assignments and allocations check their references to rows of the same
statement (and to users, the import, a charge) per statement (core.references) instead of by
foreign-key constraints, whose row-by-row checks ran at commit (bench/RESULTS.md part 21). A row
still referenced is not deleted, as the constraints refused it: a protect trigger on each
referenced table, naming every (table, column) of this app that points to it."""

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

from core.references import protect_sql

PROTECTED = (
    ("accounts_user", [("billing_assignment", "matched_by_id"), ("billing_assignment", "approved_by_id")]),
    ("billing_statementimport", [("billing_payment", "statement_import_id")]),
    ("billing_payment", [("billing_assignment", "payment_id")]),
    ("billing_assignment", [("billing_allocation", "assignment_id")]),
    ("billing_charge", [("billing_allocation", "charge_id")]),
)


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0021_references_checked_per_statement'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='allocation',
            name='assignment',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='billing.assignment'),
        ),
        migrations.AlterField(
            model_name='allocation',
            name='charge',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='billing.charge'),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='approved_by',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='matched_by',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='assignment',
            name='payment',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='assignments', to='billing.payment'),
        ),
        migrations.AlterField(
            model_name='payment',
            name='statement_import',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='billing.statementimport'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='allocation',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint;', func='\nEXECUTE $ref$ SELECT 1 FROM billing_assignment r WHERE r.id IN (SELECT assignment_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.assignment_id) FROM new_rows n\n              WHERE n.assignment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_assignment r WHERE r.id = n.assignment_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference assignment_id -> billing_assignment: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM billing_charge r WHERE r.id IN (SELECT charge_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.charge_id) FROM new_rows n\n              WHERE n.charge_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_charge r WHERE r.id = n.charge_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference charge_id -> billing_charge: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='21886c7d5c0136be45cb02dc8aa15d6f9207398c', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_24677', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_allocation', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='allocation',
            trigger=pgtrigger.compiler.Trigger(name='references_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."assignment_id" IS DISTINCT FROM (NEW."assignment_id") OR OLD."charge_id" IS DISTINCT FROM (NEW."charge_id"))', func='\nIF NEW.assignment_id IS NOT NULL AND NEW.assignment_id IS DISTINCT FROM OLD.assignment_id THEN\n    PERFORM 1 FROM billing_assignment r WHERE r.id = NEW.assignment_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference assignment_id -> billing_assignment: % does not exist\',\n            TG_TABLE_NAME, NEW.assignment_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nIF NEW.charge_id IS NOT NULL AND NEW.charge_id IS DISTINCT FROM OLD.charge_id THEN\n    PERFORM 1 FROM billing_charge r WHERE r.id = NEW.charge_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference charge_id -> billing_charge: % does not exist\',\n            TG_TABLE_NAME, NEW.charge_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nRETURN NULL;', hash='d92ece8330d61f4f47c35d389c4b84f31e331331', operation='UPDATE', pgid='pgtrigger_references_update_273bb', table='billing_allocation', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='assignment',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint;', func='\nEXECUTE $ref$ SELECT 1 FROM billing_payment r WHERE r.id IN (SELECT payment_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.payment_id) FROM new_rows n\n              WHERE n.payment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_payment r WHERE r.id = n.payment_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference payment_id -> billing_payment: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM accounts_user r WHERE r.id IN (SELECT matched_by_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.matched_by_id) FROM new_rows n\n              WHERE n.matched_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_user r WHERE r.id = n.matched_by_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference matched_by_id -> accounts_user: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM accounts_user r WHERE r.id IN (SELECT approved_by_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.approved_by_id) FROM new_rows n\n              WHERE n.approved_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_user r WHERE r.id = n.approved_by_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference approved_by_id -> accounts_user: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='86704b59064965b2d6b0aa0ec8bf220080bc87d1', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_2acbc', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_assignment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='assignment',
            trigger=pgtrigger.compiler.Trigger(name='references_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."payment_id" IS DISTINCT FROM (NEW."payment_id") OR OLD."matched_by_id" IS DISTINCT FROM (NEW."matched_by_id") OR OLD."approved_by_id" IS DISTINCT FROM (NEW."approved_by_id"))', func='\nIF NEW.payment_id IS NOT NULL AND NEW.payment_id IS DISTINCT FROM OLD.payment_id THEN\n    PERFORM 1 FROM billing_payment r WHERE r.id = NEW.payment_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference payment_id -> billing_payment: % does not exist\',\n            TG_TABLE_NAME, NEW.payment_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nIF NEW.matched_by_id IS NOT NULL AND NEW.matched_by_id IS DISTINCT FROM OLD.matched_by_id THEN\n    PERFORM 1 FROM accounts_user r WHERE r.id = NEW.matched_by_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference matched_by_id -> accounts_user: % does not exist\',\n            TG_TABLE_NAME, NEW.matched_by_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nIF NEW.approved_by_id IS NOT NULL AND NEW.approved_by_id IS DISTINCT FROM OLD.approved_by_id THEN\n    PERFORM 1 FROM accounts_user r WHERE r.id = NEW.approved_by_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference approved_by_id -> accounts_user: % does not exist\',\n            TG_TABLE_NAME, NEW.approved_by_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nRETURN NULL;', hash='47c97de0b23dc53a18222bf722da7786c222efb0', operation='UPDATE', pgid='pgtrigger_references_update_a415c', table='billing_assignment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='payment',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint;', func='\nEXECUTE $ref$ SELECT 1 FROM billing_statementimport r WHERE r.id IN (SELECT statement_import_id FROM new_rows) FOR KEY SHARE OF r $ref$;\nEXECUTE $ref$ SELECT min(n.statement_import_id) FROM new_rows n\n              WHERE n.statement_import_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_statementimport r WHERE r.id = n.statement_import_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference statement_import_id -> billing_statementimport: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='885935a57ed6145a1d1a55450573fc17428a1eb8', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_6fa3e', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_payment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='payment',
            trigger=pgtrigger.compiler.Trigger(name='references_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."statement_import_id" IS DISTINCT FROM (NEW."statement_import_id"))', func='\nIF NEW.statement_import_id IS NOT NULL AND NEW.statement_import_id IS DISTINCT FROM OLD.statement_import_id THEN\n    PERFORM 1 FROM billing_statementimport r WHERE r.id = NEW.statement_import_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference statement_import_id -> billing_statementimport: % does not exist\',\n            TG_TABLE_NAME, NEW.statement_import_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nRETURN NULL;', hash='a597476ce8f8a70fcb72241eadff292fbd7ac23f', operation='UPDATE', pgid='pgtrigger_references_update_95503', table='billing_payment', when='AFTER')),
        ),
        *[migrations.RunSQL(*protect_sql(name="billing_references_protect", table=table, referencing=referencing))
          for table, referencing in PROTECTED],
    ]
