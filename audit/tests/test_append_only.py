"""The trail is append-only in the database itself (DESIGN.md section 4): UPDATE and DELETE on
the pghistory event tables and on audit_operation fail even as raw SQL on the application's own
connection; the status history refuses DELETE (a reversed lapse is voided, never deleted)."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from pghistory.models import Event

from accounts.tests.factories import UserFactory
from audit.models import Operation
from audit.services import audit_event, operation_record
from policies.models import Customer, Policy, PolicyStatusChange

pytestmark = pytest.mark.django_db

GZ_NO = "8860000000000001"
# pg_trigger.tgtype bits (PostgreSQL's trigger.h)
TRIGGER_TYPE_ROW, TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_DELETE, TRIGGER_TYPE_UPDATE = 1, 2, 8, 16


def _refused(sql: str, params=()) -> str:
    """Runs the statement in a savepoint; returns the database's error message."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(caught.value)


def _count(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.fixture
def trail(portfolio):
    """A few trail rows of several kinds on the Guangzhou policy."""
    policy = Policy.objects.select_related("holder").get(policy_no=GZ_NO)
    clerk = UserFactory(username="clerk", roles=["clerk"], branches=["HQ"])
    audit_event(obj=policy, label="access_denied", actor=clerk, reason="test")
    audit_event(obj=policy.holder, label="reveal", actor=clerk, field="holder_phone")
    Policy.objects.filter(pk=policy.pk).update(bank_name="中国建设银行")  # a trigger-written "update" row
    return policy


@pytest.mark.parametrize("table", [
    "policies_policyevent", "policies_customerevent", "policies_branchevent", "policies_productevent",
    "policies_agentevent", "audit_operationevent",
])
def test_event_table_refuses_raw_update_and_delete(trail, table):
    rows = _count(f"SELECT count(*) FROM {table}")
    assert rows > 0, f"{table} has no row to try on"
    message = _refused(f"UPDATE {table} SET pgh_label = 'tampered'")
    assert f"Cannot update or delete rows from {table} table" in message
    message = _refused(f"DELETE FROM {table}")
    assert f"Cannot update or delete rows from {table} table" in message
    assert _count(f"SELECT count(*) FROM {table}") == rows
    assert _count(f"SELECT count(*) FROM {table} WHERE pgh_label = 'tampered'") == 0


def test_policy_event_rows_refuse_orm_update_and_delete(trail):
    events = Policy.pgh_event_model.objects.filter(pgh_obj=trail)
    assert sorted(events.values_list("pgh_label", flat=True)) == ["access_denied", "update"]
    with pytest.raises(DatabaseError), transaction.atomic():
        events.update(bank_name="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        events.first().delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        event = events.get(pgh_label="update")
        event.bank_name = "tampered"
        event.save()
    assert sorted(events.values_list("bank_name", flat=True)) == ["中国工商银行", "中国建设银行"]


def test_one_event_row_by_id_cannot_be_changed(trail):
    reveal = Customer.pgh_event_model.objects.get(pgh_obj=trail.holder, pgh_label="reveal")
    message = _refused("UPDATE policies_customerevent SET phone = %s WHERE pgh_id = %s", ["13900000000", reveal.pgh_id])
    assert "Cannot update or delete rows from policies_customerevent table" in message
    _refused("DELETE FROM policies_customerevent WHERE pgh_id = %s", [reveal.pgh_id])
    reveal.refresh_from_db()
    assert reveal.phone == "13812345678"


def test_operation_table_refuses_update_and_delete(portfolio):
    operation = operation_record(action="test", job="test:append_only", object_ref="x", details={"rows": 1})
    message = _refused("UPDATE audit_operation SET action = 'tampered' WHERE id = %s", [operation.pk])
    assert "Cannot update or delete rows from audit_operation table" in message
    message = _refused("DELETE FROM audit_operation WHERE id = %s", [operation.pk])
    assert "Cannot update or delete rows from audit_operation table" in message
    with pytest.raises(DatabaseError), transaction.atomic():
        Operation.objects.filter(pk=operation.pk).update(reason="tampered")
    with pytest.raises(DatabaseError), transaction.atomic():
        Operation.objects.filter(pk=operation.pk).delete()
    operation.refresh_from_db()
    assert (operation.action, operation.reason, operation.details) == ("test", "", {"rows": 1})
    # the import's own records are there and protected the same way
    assert Operation.objects.filter(action="import_policies").count() == 3
    _refused("DELETE FROM audit_operation")
    assert Operation.objects.filter(action="import_policies").count() == 3


def test_status_history_refuses_delete_but_may_be_voided(portfolio):
    change = PolicyStatusChange.objects.get(policy__policy_no=GZ_NO)
    message = _refused("DELETE FROM policies_policystatuschange WHERE id = %s", [change.pk])
    assert "Cannot delete rows from policies_policystatuschange table" in message
    with pytest.raises(DatabaseError), transaction.atomic():
        change.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        PolicyStatusChange.objects.all().delete()
    assert PolicyStatusChange.objects.count() == 2
    # voiding is an update, allowed, and it is itself in the trail
    lead = UserFactory(username="lead", roles=["team_lead"], branches=["HQ"])
    change.voided_at = timezone.now()
    change.voided_by = lead
    change.void_reason = "test"
    change.save()
    voids = PolicyStatusChange.pgh_event_model.objects.filter(pgh_obj=change, pgh_label="void")
    assert list(voids.values_list("void_reason", "voided_by_id")) == [("test", lead.pk)]
    _refused("DELETE FROM policies_policystatuschangeevent")
    _refused("UPDATE policies_policystatuschangeevent SET void_reason = 'tampered'")


def test_every_event_table_has_the_append_only_trigger(db):
    """Also the event tables with no row yet (a row trigger cannot be tried on an empty table):
    each has an enabled BEFORE UPDATE OR DELETE row trigger that raises."""
    event_models = [m for m in apps.get_models() if issubclass(m, Event) and not m._meta.proxy
                    and m._meta.managed]
    tables = sorted(m._meta.db_table for m in event_models)
    assert {"policies_policyevent", "policies_customerevent", "audit_operationevent"} <= set(tables)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                """SELECT t.tgtype, t.tgenabled, p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                   WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal""", [table])
            protecting = [
                (tgtype, enabled) for tgtype, enabled, source in cursor.fetchall()
                if "RAISE EXCEPTION" in source
                and tgtype & TRIGGER_TYPE_ROW and tgtype & TRIGGER_TYPE_BEFORE
                and tgtype & TRIGGER_TYPE_UPDATE and tgtype & TRIGGER_TYPE_DELETE
            ]
            assert protecting, f"{table} has no append-only trigger"
            assert all(enabled in ("O", "A") for _tgtype, enabled in protecting), table
