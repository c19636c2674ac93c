"""The application database role's privileges and the SECURITY DEFINER functions it calls
(core/sql/grants.sql). After every migrate the file runs again (core.grants), so the tables of
later migrations get their privileges as well."""

from django.db import migrations


def grants_apply(apps, schema_editor):
    from core.grants import grants_apply as apply

    apply(using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_statement_level_trail"),
        # pghistory installs its _pgh_attach_context(); grants.sql replaces it (SECURITY DEFINER)
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [migrations.RunPython(grants_apply, migrations.RunPython.noop)]
