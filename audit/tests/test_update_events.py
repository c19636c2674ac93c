"""Update events are written once per UPDATE statement from its transition tables (audit.events.
StatementUpdateEvent): the trail gets one row per changed row, with the new values, none for a row
the statement left as it was, and the comparison is planned for each statement's own size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from audit.services import audit_context
from billing.models import Installment
from billing.services.schedules import installments_extend_chunk
from policies.models import Policy

CENT = Decimal("0.01")

pytestmark = pytest.mark.django_db

TRIGGER_TYPE_ROW, TRIGGER_TYPE_UPDATE = 1, 16  # pg_trigger.tgtype bits (PostgreSQL's trigger.h)


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_every_update_event_is_one_statement_level_trigger_that_plans_its_comparison_each_time(db):
    triggers = _rows("""
        SELECT c.relname, t.tgname, t.tgtype, p.prosrc FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE NOT t.tgisinternal AND t.tgtype & %s <> 0 AND p.prosrc LIKE '%%INSERT INTO "%%event"%%'""",
                     (TRIGGER_TYPE_UPDATE,))
    tables = {table for table, _name, _type, _source in triggers}
    assert {"policies_policy", "billing_installment", "billing_payment", "risk_flag"} <= tables
    for table, name, tgtype, source in triggers:
        assert not tgtype & TRIGGER_TYPE_ROW, f"{table}.{name} fires for each row"
        # a cached plan of the old/new join, made for a one-row update, ran for minutes on a large one
        assert "EXECUTE $pgh_event$" in source, f"{table}.{name} caches its join's plan"


def test_a_statement_s_update_events_are_the_changed_rows_with_their_new_values(portfolio):
    first, second = Policy.objects.exclude(bank_name="中国建设银行").order_by("policy_no")
    third = Policy.objects.create(**{**Policy.objects.filter(pk=second.pk).values().get(), "id": None,
                                     "policy_no": "8860000000000003", "bank_name": "中国农业银行"})
    ids = [first.pk, second.pk, third.pk]
    before = _rows("SELECT count(*) FROM policies_policyevent WHERE pgh_obj_id = ANY(%s::bigint[])", (ids,))[0][0]
    with audit_context(job="test:bank-names"), connection.cursor() as cursor:
        # one statement: two policies get a new bank name, the third keeps the one it has
        cursor.execute("""
            UPDATE policies_policy SET bank_name = CASE WHEN id = %s THEN bank_name ELSE %s END
            WHERE id = ANY(%s::bigint[])""", (third.pk, "中国建设银行", ids))
        assert cursor.rowcount == 3
    events = _rows("""SELECT e.pgh_obj_id, e.bank_name, e.pgh_label, c.metadata->>'job' FROM policies_policyevent e
                      JOIN pghistory_context c ON c.id = e.pgh_context_id
                      WHERE e.pgh_obj_id = ANY(%s::bigint[]) AND c.metadata->>'job' = 'test:bank-names'
                      ORDER BY e.pgh_obj_id""", (ids,))
    assert events == sorted([(first.pk, "中国建设银行", "update", "test:bank-names"),
                             (second.pk, "中国建设银行", "update", "test:bank-names")])
    after = _rows("SELECT count(*) FROM policies_policyevent WHERE pgh_obj_id = ANY(%s::bigint[])", (ids,))[0][0]
    assert after == before + 2


def test_a_large_update_after_a_one_row_update_in_the_same_session_writes_each_event_once(portfolio):
    """The session first writes a one-row update (the plan a cached function would keep), then one
    statement moves every installment's amount paid: one money event per installment, each with
    the new amount."""
    ids = Policy.objects.values_list("pk", flat=True)
    installments_extend_chunk(as_of=dt.date(2026, 11, 25), id_from=min(ids), id_to=max(ids))
    installments = list(Installment.objects.order_by("id").values_list("id", "amount_paid"))
    assert len(installments) > 10
    first_id = installments[0][0]
    Installment.objects.filter(pk=first_id).update(amount_paid=installments[0][1])  # unchanged: no event
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM billing_installmentevent")
        before = cursor.fetchone()[0]
        cursor.execute("UPDATE billing_installment SET amount_paid = amount_paid + 0.01 WHERE id = %s", (first_id,))
        cursor.execute("UPDATE billing_installment SET amount_paid = amount_paid + 0.01")
        assert cursor.rowcount == len(installments)
    rows = _rows("""SELECT pgh_obj_id, count(*), max(amount_paid) FROM billing_installmentevent
                    WHERE pgh_label = 'money' GROUP BY pgh_obj_id""")
    after = {obj_id: (count, top) for obj_id, count, top in rows}
    assert _rows("SELECT count(*) FROM billing_installmentevent")[0][0] == before + 1 + len(installments)
    for installment_id, paid in installments:
        expected_top = paid + (2 if installment_id == first_id else 1) * CENT
        assert after[installment_id][1] == expected_top
