"""An allocation's installment checked per statement, as its assignment is; a statement's references
to rows its own transaction wrote take no lock (core.references; bench/RESULTS.md part 22)."""


import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from core.references import protect_sql


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0022_references_of_the_statement_tables'),
    ]

    operations = [
        # an installment still allocated to is not deleted, as the constraint refused it
        migrations.RunSQL(*protect_sql(name="billing_references_protect", table="billing_installment",
                                       referencing=[("billing_allocation", "installment_id")])),
        pgtrigger.migrations.RemoveTrigger(
            model_name='allocation',
            name='references_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='allocation',
            name='references_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='assignment',
            name='references_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='installment',
            name='references_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='payment',
            name='references_insert',
        ),
        migrations.AlterField(
            model_name='allocation',
            name='installment',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='allocations', to='billing.installment'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='allocation',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint; me xid8;', func='\nme := pg_current_xact_id();\nEXECUTE $ref$ SELECT 1 FROM billing_assignment r WHERE r.id IN (SELECT assignment_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.assignment_id) FROM new_rows n\n              WHERE n.assignment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_assignment r WHERE r.id = n.assignment_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference assignment_id -> billing_assignment: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM billing_installment r WHERE r.id IN (SELECT installment_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.installment_id) FROM new_rows n\n              WHERE n.installment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_installment r WHERE r.id = n.installment_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference installment_id -> billing_installment: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM billing_charge r WHERE r.id IN (SELECT charge_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.charge_id) FROM new_rows n\n              WHERE n.charge_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_charge r WHERE r.id = n.charge_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference charge_id -> billing_charge: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='49402a182bcc2cbcb47e440e07b1406a8b15c1f8', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_24677', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_allocation', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='allocation',
            trigger=pgtrigger.compiler.Trigger(name='references_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."assignment_id" IS DISTINCT FROM (NEW."assignment_id") OR OLD."installment_id" IS DISTINCT FROM (NEW."installment_id") OR OLD."charge_id" IS DISTINCT FROM (NEW."charge_id"))', func='\nIF NEW.assignment_id IS NOT NULL AND NEW.assignment_id IS DISTINCT FROM OLD.assignment_id THEN\n    PERFORM 1 FROM billing_assignment r WHERE r.id = NEW.assignment_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference assignment_id -> billing_assignment: % does not exist\',\n            TG_TABLE_NAME, NEW.assignment_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nIF NEW.installment_id IS NOT NULL AND NEW.installment_id IS DISTINCT FROM OLD.installment_id THEN\n    PERFORM 1 FROM billing_installment r WHERE r.id = NEW.installment_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference installment_id -> billing_installment: % does not exist\',\n            TG_TABLE_NAME, NEW.installment_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nIF NEW.charge_id IS NOT NULL AND NEW.charge_id IS DISTINCT FROM OLD.charge_id THEN\n    PERFORM 1 FROM billing_charge r WHERE r.id = NEW.charge_id FOR KEY SHARE OF r;\n    IF NOT FOUND THEN\n        RAISE EXCEPTION \'update on table "%" violates the reference charge_id -> billing_charge: % does not exist\',\n            TG_TABLE_NAME, NEW.charge_id USING ERRCODE = \'foreign_key_violation\';\n    END IF;\nEND IF;\nRETURN NULL;', hash='dd90ce0752792bcd2dc7d9b9d9f869b02e7e785b', operation='UPDATE', pgid='pgtrigger_references_update_273bb', table='billing_allocation', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='assignment',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint; me xid8;', func='\nme := pg_current_xact_id();\nEXECUTE $ref$ SELECT 1 FROM billing_payment r WHERE r.id IN (SELECT payment_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.payment_id) FROM new_rows n\n              WHERE n.payment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_payment r WHERE r.id = n.payment_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference payment_id -> billing_payment: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM accounts_user r WHERE r.id IN (SELECT matched_by_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.matched_by_id) FROM new_rows n\n              WHERE n.matched_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_user r WHERE r.id = n.matched_by_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference matched_by_id -> accounts_user: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nEXECUTE $ref$ SELECT 1 FROM accounts_user r WHERE r.id IN (SELECT approved_by_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.approved_by_id) FROM new_rows n\n              WHERE n.approved_by_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts_user r WHERE r.id = n.approved_by_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference approved_by_id -> accounts_user: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='34fa1db2ef99fefd95937da85f9311ad9dc32490', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_2acbc', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_assignment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='installment',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint; me xid8;', func='\nme := pg_current_xact_id();\nEXECUTE $ref$ SELECT 1 FROM policies_policy r WHERE r.id IN (SELECT policy_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.policy_id) FROM new_rows n\n              WHERE n.policy_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM policies_policy r WHERE r.id = n.policy_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference policy_id -> policies_policy: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='311fd4a0113cfcb0ad2b7f741470656ef4ec8659', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_60390', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_installment', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='payment',
            trigger=pgtrigger.compiler.Trigger(name='references_insert', sql=pgtrigger.compiler.UpsertTriggerSql(declare='DECLARE missing bigint; me xid8;', func='\nme := pg_current_xact_id();\nEXECUTE $ref$ SELECT 1 FROM billing_statementimport r WHERE r.id IN (SELECT statement_import_id FROM new_rows)\n              AND NOT (r.xmin = $1::xid AND $1 < \'4294967296\'::xid8) FOR KEY SHARE OF r $ref$ USING me;\nEXECUTE $ref$ SELECT min(n.statement_import_id) FROM new_rows n\n              WHERE n.statement_import_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM billing_statementimport r WHERE r.id = n.statement_import_id) $ref$\n    INTO missing;\nIF missing IS NOT NULL THEN\n    RAISE EXCEPTION \'insert on table "%" violates the reference statement_import_id -> billing_statementimport: % does not exist\',\n        TG_TABLE_NAME, missing USING ERRCODE = \'foreign_key_violation\';\nEND IF;\nRETURN NULL;', hash='28436fbce76271ad69537e2e63ea900441b5d05b', level='STATEMENT', operation='INSERT', pgid='pgtrigger_references_insert_6fa3e', referencing='REFERENCING NEW TABLE AS new_rows ', table='billing_payment', when='AFTER')),
        ),
    ]
