"""The application's database role (README "Database roles", core/sql/grants.sql).

The suite's own connection is the schema's owner (config/settings/test.py); these tests connect
to the same test database as the application role, with psycopg directly, and show that it cannot
rewrite the trail by any route: UPDATE, DELETE, TRUNCATE (also with `pgtrigger.ignore` set for the
session, which the trail's trigger functions honour), disabling the triggers, or changing
pghistory's context rows. The catalogue test holds every table of the schema to its expected
privileges, so a grant forgotten by a later migration fails here.
"""

import uuid

import pghistory.models
import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from psycopg import errors, sql

from audit.models import Operation
from billing.services.statements import MONEY_TABLES
from renewals.services.steps import ANALYZE_AFTER

APP = settings.DATABASE_APP_ROLE
DML = {"SELECT", "INSERT", "UPDATE", "DELETE"}
TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]


def _trail_tables() -> list[str]:
    """The audit operation table, every pghistory event table and pghistory's context table."""
    events = [m._meta.db_table for m in apps.get_models()
              if issubclass(m, pghistory.models.Event) and m._meta.managed]
    return sorted([Operation._meta.db_table, pghistory.models.Context._meta.db_table, *events])


@pytest.fixture
def app_db(db):
    """A psycopg connection to the test database as the application role (autocommit off)."""
    own = connection.settings_dict
    conn = psycopg.connect(host=own.get("HOST") or "127.0.0.1", port=own.get("PORT") or 5432, dbname=own["NAME"],
                           user=APP, password=settings.DATABASE_APP_PASSWORD or None)
    yield conn
    conn.rollback()
    conn.close()


def _refused(conn, statement, *, ignore_triggers_of: str | None = None) -> str:
    """Run `statement` as the application role in a transaction of its own; returns the error."""
    try:
        with conn.cursor() as cursor:
            if ignore_triggers_of:
                # every trigger of the table listed, as pgtrigger.ignore() would do it
                cursor.execute("SELECT set_config('pgtrigger.ignore', '{' || string_agg(tgname, ',') || '}', false) "
                               "FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                               [ignore_triggers_of])
                assert cursor.fetchone()[0] not in (None, "{}")
            cursor.execute(statement)
    except (errors.InsufficientPrivilege, errors.RaiseException) as exc:
        conn.rollback()
        return str(exc)
    conn.rollback()
    raise AssertionError(f"not refused: {statement.as_string(conn) if hasattr(statement, 'as_string') else statement}")


def test_the_application_role_is_no_superuser_creates_no_database_and_owns_nothing(app_db):
    with app_db.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute("SELECT pg_has_role(current_user, pg_get_userbyid(datdba), 'MEMBER') FROM pg_database "
                       "WHERE datname = current_database()")
        assert cursor.fetchone() == (False,)  # not the owner, nor a member of it
        cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = current_user::regrole "
                       "AND relnamespace = 'public'::regnamespace")
        assert cursor.fetchone() == (0,)


def test_the_trail_refuses_update_delete_and_truncate_even_with_pgtrigger_ignore(app_db):
    trail = _trail_tables()
    assert {"audit_operation", "audit_operationevent", "pghistory_context", "policies_policyevent"} <= set(trail)
    for table in trail:
        name = sql.Identifier(table)
        statements = [sql.SQL("UPDATE {} SET id = id").format(name) if table == "pghistory_context"
                      else sql.SQL("UPDATE {} SET pgh_label = pgh_label").format(name) if table != "audit_operation"
                      else sql.SQL("UPDATE {} SET reason = reason").format(name),
                      sql.SQL("DELETE FROM {}").format(name),
                      sql.SQL("TRUNCATE {}").format(name)]
        for statement in statements:
            for ignore in (None, table):
                message = _refused(app_db, statement, ignore_triggers_of=ignore)
                assert "permission denied" in message, (table, message)


def test_the_trail_s_triggers_cannot_be_disabled(app_db):
    for table in _trail_tables():
        for statement in ("ALTER TABLE {} DISABLE TRIGGER ALL", "ALTER TABLE {} DISABLE TRIGGER USER",
                          "ALTER TABLE {} OWNER TO " + APP):
            message = _refused(app_db, sql.SQL(statement).format(sql.Identifier(table)))
            assert "must be owner" in message, (table, message)
    with app_db.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
    message = _refused(app_db, "SET session_replication_role = replica")
    assert "permission denied" in message


def test_the_application_role_writes_the_trail_and_its_context_only_by_inserting(app_db):
    context_id = str(uuid.uuid4())
    with app_db.cursor() as cursor:
        cursor.execute("SELECT set_config('pghistory.context_id', %s, false), "
                       "set_config('pghistory.context_metadata', %s, false)", [context_id, '{"job": "role-test"}'])
        cursor.execute("INSERT INTO audit_operation (created_at, job, action, object_type, object_ref, reason, details) "
                       "VALUES (now(), 'role-test', 'test', '', '', '', '{}') RETURNING id")
        (operation_id,) = cursor.fetchone()
        # the statement-level trigger wrote the event, and the owner's function the context
        cursor.execute("SELECT e.pgh_label, c.metadata FROM audit_operationevent e JOIN pghistory_context c "
                       "ON c.id = e.pgh_context_id WHERE e.pgh_obj_id = %s", [operation_id])
        assert cursor.fetchall() == [("operation", {"job": "role-test"})]
        # the row exists (in this transaction); changing it directly is refused all the same
        cursor.execute("SAVEPOINT before_update")
        with pytest.raises(errors.InsufficientPrivilege):
            cursor.execute("UPDATE pghistory_context SET metadata = '{}' WHERE id = %s", [context_id])
        cursor.execute("ROLLBACK TO SAVEPOINT before_update")
        with pytest.raises(errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM pghistory_context WHERE id = %s", [context_id])
    app_db.rollback()


def test_the_owner_function_is_the_only_way_to_analyse(app_db):
    with app_db.cursor() as cursor:
        for table in sorted({t for tables in ANALYZE_AFTER.values() for t in tables}
                           | {"policies_customer", "policies_agent"} | set(MONEY_TABLES)):
            cursor.execute("SELECT rd_analyze(%s)", [table])
    app_db.rollback()
    assert "may analyse" in _refused(app_db, "SELECT rd_analyze('audit_operation')")


def test_the_application_role_s_privileges_on_every_table_of_the_schema(db):
    """Catalogue: every relation of the public schema, the application role's privileges on it."""
    trail = set(_trail_tables())
    select_only = {"django_migrations"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relkind, array(SELECT p FROM unnest(%s::text[]) AS p "
            "                                   WHERE has_table_privilege(%s, c.oid, p)) "
            "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "ORDER BY c.relname", [TABLE_PRIVILEGES, APP])
        tables = cursor.fetchall()
        cursor.execute("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
                       "AND c.relkind = 'S' AND NOT (has_sequence_privilege(%s, c.oid, 'USAGE') "
                       "AND NOT has_sequence_privilege(%s, c.oid, 'UPDATE'))", [APP, APP])
        sequences_wrong = cursor.fetchall()
    assert len(tables) > 60
    wrong = {}
    for name, _kind, granted in tables:
        expected = {"SELECT", "INSERT"} if name in trail else {"SELECT"} if name in select_only else DML
        if set(granted) != expected:
            wrong[name] = sorted(granted)
    assert wrong == {}, "application role privileges differ from core/sql/grants.sql's rules"
    assert sequences_wrong == []
