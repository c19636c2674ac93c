"""The application database role's privileges (core/sql/grants.sql, README "Database roles").

The file is applied by the migration audit.0004_db_roles and again after every `migrate` (the
post_migrate handler below, connected in CoreConfig.ready): a migration cannot be made to run
after migrations written later, and the tables those create need their grants too, the trail's
narrowed to SELECT and INSERT. `flush` also sends post_migrate, without a plan: nothing to do then.
"""

from pathlib import Path

from django.db import connections

GRANTS_SQL = Path(__file__).resolve().parent / "sql" / "grants.sql"


def grants_apply(*, using: str = "default") -> None:
    """Run grants.sql on the database of `using` as that connection's user (the schema owner)."""
    with connections[using].cursor() as cursor:
        cursor.execute(GRANTS_SQL.read_text())


def grants_after_migrate(*, using: str = "default", plan=None, **kwargs) -> None:
    if plan is not None:
        grants_apply(using=using)
