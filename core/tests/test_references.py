"""References checked once per statement instead of by foreign-key constraints row by row
(core.references; billing_installment's policy, the KPI facts' and slices' policy, branch, product
and agent, bench/RESULTS.md part 19; a statement's payments, assignments and allocations, part
21; an allocation's installment, part 22): the same refusals as the constraints, in the same error
class, and the same lock against a delete while the rows are being written, except on rows the
writing transaction wrote itself, which no other transaction can see."""

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import Installment
from billing.tests.factories import InstallmentFactory
from policies.models import Policy
from policies.tests.factories import PolicyFactory

INSERT = """INSERT INTO billing_installment (policy_id, sequence, due_date, grace_end, amount_due, amount_paid, status,
                                            created_at, updated_at)
            SELECT v.policy_id, v.sequence, DATE '2026-12-15', DATE '2027-02-13', 300.00, 0, 'scheduled', now(), now()
            FROM unnest(%s::bigint[], %s::int[]) v (policy_id, sequence)"""


def _insert(policy_ids: list[int], sequences: list[int]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(INSERT, [policy_ids, sequences])


UNCHECKED = ("billing_installment", "billing_payment", "billing_assignment", "billing_allocation",
             "reporting_policyslice", "reporting_persistencyterms", "reporting_dailyfact", "reporting_monthlyfact",
             "reporting_debitfact", "reporting_persistencyfact", "reporting_slicedayfact", "reporting_slicemonthfact",
             "reporting_slicedebitfact", "reporting_slicepersistencyfact")


KEPT_CONSTRAINTS: dict[str, set[str]] = {}


def _unconstrained_references() -> dict[str, set[tuple[str, str]]]:
    """{referenced table: {(table, column)}} of every foreign key declared without a constraint."""
    from django.apps import apps

    found: dict[str, set[tuple[str, str]]] = {}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.many_to_one | field.one_to_one and not field.db_constraint \
                    and not model._meta.db_table.endswith("event"):  # pghistory's event tables: no checks
                found.setdefault(field.related_model._meta.db_table, set()).add((model._meta.db_table, field.column))
    return found


@pytest.mark.django_db
def test_the_bulk_written_tables_check_their_references_per_statement_not_by_row_constraints():
    references = _unconstrained_references()
    # not checked at all, each for its reason beside its field: the contact baseline (written by a
    # trigger on the customer), the lapse-risk feature snapshots (derived, pruned)
    for pair in (("risk_contactbaseline", "customer_id"), ("scoring_featuresnapshot", "policy_id")):
        for pairs in references.values():
            pairs.discard(pair)
    references = {table: pairs for table, pairs in references.items() if pairs}
    assert {table for pairs in references.values() for table, _column in pairs} == set(UNCHECKED)
    with connection.cursor() as cursor:
        for table in UNCHECKED:
            cursor.execute("""SELECT a.attname FROM pg_constraint c
                              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
                              WHERE c.conrelid = %s::regclass AND c.contype = 'f'""", [table])
            # no foreign key is left (an assignment's policy, kept until billing 0026 because two
            # matchers of one policy could deadlock, is checked per statement now that every writer
            # locks the policy first)
            assert {row[0] for row in cursor.fetchall()} == KEPT_CONSTRAINTS.get(table, set()), table
            # tgtype bit 0: row-level. The insert check runs per statement; the update check per row,
            # only when a reference changed (its WHEN clause)
            cursor.execute("""SELECT tgtype & 1 = 1, pg_get_triggerdef(oid) LIKE '%%WHEN%%' FROM pg_trigger
                              WHERE tgrelid = %s::regclass AND tgname LIKE 'pgtrigger_references_%%'
                              ORDER BY tgname""", [table])
            assert cursor.fetchall() == [(False, False), (True, True)], table
        # every referenced table refuses a delete of a row still referenced, naming each pair
        for referenced, pairs in references.items():
            cursor.execute("""SELECT array_agg(encode(tgargs, 'escape')) FROM pg_trigger
                              WHERE tgrelid = %s::regclass AND tgname LIKE '%%_references_protect'""", [referenced])
            args = " ".join(cursor.fetchone()[0] or []).replace("\\000", " ").split()
            declared = set(zip(args[::2], args[1::2], strict=True))
            assert pairs == declared, referenced


@pytest.mark.django_db
def test_an_installment_of_a_policy_that_does_not_exist_is_refused_and_its_statement_writes_nothing():
    policy = PolicyFactory()
    missing = Policy.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing} does not exist"):
        _insert([policy.pk, missing, policy.pk], [101, 1, 102])
    assert not Installment.objects.filter(policy=policy, sequence__gte=101).exists()
    _insert([policy.pk, policy.pk], [101, 102])
    assert list(Installment.objects.filter(policy=policy, sequence__gte=101)
                .values_list("sequence", "amount_due")) == [(101, Decimal("300.00")), (102, Decimal("300.00"))]


@pytest.mark.django_db
def test_an_installment_moves_only_to_a_policy_that_exists():
    installment = InstallmentFactory(sequence=1, due_date=dt.date(2026, 12, 15), grace_end=dt.date(2027, 2, 13),
                                     amount_due=Decimal("300.00"))
    other = PolicyFactory()
    missing = Policy.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing} does not exist"), transaction.atomic():
        Installment.objects.filter(pk=installment.pk).update(policy_id=missing)
    Installment.objects.filter(pk=installment.pk).update(policy_id=other.pk)
    assert Installment.objects.get(pk=installment.pk).policy_id == other.pk


@pytest.mark.django_db
def test_a_policy_with_installments_is_not_deleted():
    installment = InstallmentFactory(sequence=1, due_date=dt.date(2026, 12, 15), grace_end=dt.date(2027, 2, 13),
                                     amount_due=Decimal("300.00"))
    with pytest.raises(IntegrityError, match=f"billing_installment.policy_id: {installment.policy_id} is still referenced"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM policies_policy WHERE id = %s", [installment.policy_id])
    assert Policy.objects.filter(pk=installment.policy_id).exists()
    with pytest.raises(IntegrityError, match="is still referenced"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE policies_policy SET id = id + 1000000 WHERE id = %s", [installment.policy_id])


@pytest.mark.django_db(transaction=True)
def test_a_policy_whose_installments_are_being_written_cannot_be_deleted_until_they_are(django_db_blocker):
    """As a constraint's check, the statement locks its policies FOR KEY SHARE: a delete on
    another connection waits for the writing transaction (here it gives up at its lock timeout)."""
    policy = PolicyFactory()
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None, autocommit=True)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(INSERT, [[policy.pk], [1]])
            other.execute("SET lock_timeout = '100ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM policies_policy WHERE id = %s", [policy.pk])
        # committed: the delete is now refused for what it would orphan
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="is still referenced"):
            other.execute("DELETE FROM policies_policy WHERE id = %s", [policy.pk])
    finally:
        other.close()


@pytest.mark.django_db
def test_a_kpi_slice_points_to_a_branch_that_exists_and_keeps_its_product_from_being_deleted():
    from policies.models import Branch
    from reporting.models import PolicySlice

    policy = PolicyFactory()
    missing = Branch.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    with pytest.raises(IntegrityError, match=f"branch_id -> policies_branch: {missing} does not exist"), \
            transaction.atomic():
        PolicySlice.objects.create(policy=policy, valid_from=dt.date(1, 1, 1), branch_id=missing,
                                   product=policy.product, payment_method="transfer", sales_channel="agency")
    PolicySlice.objects.create(policy=policy, valid_from=dt.date(1, 1, 1), branch=policy.branch,
                               product=policy.product, payment_method="transfer", sales_channel="agency")
    with pytest.raises(IntegrityError, match=f"reporting_policyslice.product_id: {policy.product_id} is still"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM policies_product WHERE id = %s", [policy.product_id])


@pytest.mark.django_db
def test_a_statement_s_assignment_needs_its_payment_and_a_paid_payment_is_not_deleted():
    # billing_assignment.payment_id is checked per statement (billing migration 0022): a missing
    # payment is refused in the constraint's error class, and a payment with an assignment stays
    from billing.models import Assignment
    from billing.tests.factories import PaymentFactory

    policy = PolicyFactory()
    payment = PaymentFactory(amount=Decimal("300.00"))
    missing = payment.pk + 1000
    insert = ("INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at) "
              "SELECT unnest(%s::bigint[]), %s, 300.00, 'confirmed', 'test', now()")
    with pytest.raises(IntegrityError, match=f"payment_id -> billing_payment: {missing} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [[payment.pk, missing], policy.pk])
    assert not Assignment.objects.filter(policy=policy).exists()
    with connection.cursor() as cursor:
        cursor.execute(insert, [[payment.pk], policy.pk])
    with pytest.raises(IntegrityError, match=f"billing_assignment.payment_id: {payment.pk} is still referenced"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_payment WHERE id = %s", [payment.pk])
    assert Assignment.objects.get(policy=policy).payment_id == payment.pk


@pytest.mark.django_db(transaction=True)
def test_a_row_the_transaction_wrote_itself_is_not_locked_one_it_found_is():
    """The lock guards a referenced row against another transaction's delete: a row this
    transaction inserted (or updated) is invisible to the others in that version, so the check
    leaves it as it is (xmax 0), and still locks a row committed before (xmax: this transaction)."""
    older = PolicyFactory()
    with transaction.atomic(), connection.cursor() as cursor:
        newer = PolicyFactory()
        cursor.execute(INSERT, [[older.pk, newer.pk], [1, 1]])
        cursor.execute("SELECT id, xmax::text::bigint, pg_current_xact_id()::xid::text::bigint FROM policies_policy "
                       "WHERE id = ANY(%s) ORDER BY id", [[older.pk, newer.pk]])
        (older_id, older_xmax, me), (newer_id, newer_xmax, _me) = cursor.fetchall()
        assert (older_id, newer_id) == (older.pk, newer.pk)
        assert older_xmax == me
        assert newer_xmax == 0
    assert Installment.objects.filter(policy_id__in=[older.pk, newer.pk], sequence=1).count() == 2


@pytest.mark.django_db
def test_an_allocation_needs_its_installment_and_an_allocated_installment_is_not_deleted():
    # billing_allocation.installment_id is checked per statement (billing migration 0023)
    from billing.models import Allocation, Assignment
    from billing.tests.factories import PaymentFactory

    installment = InstallmentFactory(sequence=1, due_date=dt.date(2028, 2, 29), grace_end=dt.date(2028, 4, 29),
                                     amount_due=Decimal("300.00"))
    payment = PaymentFactory(amount=Decimal("300.00"))
    assignment = Assignment.objects.create(payment=payment, policy_id=installment.policy_id,
                                           amount=Decimal("300.00"), status="confirmed", rule="test")
    missing = Installment.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    insert = ("INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, "
              "reversal_reason) SELECT %s, unnest(%s::bigint[]), 150.00, DATE '2028-02-29', now(), ''")
    with pytest.raises(IntegrityError, match=f"installment_id -> billing_installment: {missing} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [assignment.pk, [installment.pk, missing]])
    assert not Allocation.objects.filter(assignment=assignment).exists()
    with connection.cursor() as cursor:
        cursor.execute(insert, [assignment.pk, [installment.pk]])
    with pytest.raises(IntegrityError, match=f"billing_allocation.installment_id: {installment.pk} is still referenced"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_installment WHERE id = %s", [installment.pk])
    assert Allocation.objects.get(assignment=assignment).installment_id == installment.pk


@pytest.mark.django_db(transaction=True)
def test_a_row_deleted_while_the_statement_waits_to_lock_it_is_refused_as_missing():
    """The check first counts the references it must lock, then locks them: a referenced row that
    another transaction deletes, and commits, while the statement waits for its lock is refused as
    missing, as a constraint's check refuses it."""
    import threading

    from billing.models import StatementImport
    from billing.tests.factories import PaymentFactory
    from core.tests.threads import lock_waiters

    made = StatementImport.objects.create(file_name="a.csv", file_sha256="0" * 64, format="csv", account_no="A")
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                            port=settings["PORT"] or 5432, password=settings["PASSWORD"] or None)
    try:
        other.execute("DELETE FROM billing_statementimport WHERE id = %s", [made.pk])  # not committed yet

        def commit_once_waited_for():
            from django.db import connections

            try:
                for _ in range(3000):
                    if lock_waiters() >= 1:
                        break
                    threading.Event().wait(0.01)
                other.commit()
            finally:
                connections.close_all()

        committer = threading.Thread(target=commit_once_waited_for)
        committer.start()
        with pytest.raises(IntegrityError, match=f"statement_import_id -> billing_statementimport: {made.pk} does not"):
            PaymentFactory(statement_import=made)
        committer.join(timeout=60)
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_references_its_own_rows_first_still_locks_the_others_and_refuses_a_missing_one():
    """The check counts the kind of row its first (smallest) id is: here a row this transaction
    updated (its own version), so it counts its own rows first; the count falls short (a row
    committed before, and one that does not exist), so the others' rows are locked and the
    missing one is refused, as the full check does."""
    from billing.models import Allocation, Assignment
    from billing.tests.factories import PaymentFactory

    mine, theirs = (InstallmentFactory(sequence=k, due_date=dt.date(2028, 2, 29), grace_end=dt.date(2028, 4, 29),
                                       amount_due=Decimal("300.00")) for k in (1, 2))
    assert mine.pk < theirs.pk
    payment = PaymentFactory(amount=Decimal("300.00"))
    assignment = Assignment.objects.create(payment=payment, policy_id=mine.policy_id, amount=Decimal("300.00"),
                                           status="confirmed", rule="test")
    missing = theirs.pk + 1000
    insert = ("INSERT INTO billing_allocation (assignment_id, installment_id, amount, value_date, created_at, "
              "reversal_reason) SELECT %s, unnest(%s::bigint[]), 100.00, DATE '2028-02-29', now(), ''")
    with pytest.raises(IntegrityError, match=f"installment_id -> billing_installment: {missing} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment SET updated_at = now() WHERE id = %s", [mine.pk])
        cursor.execute(insert, [assignment.pk, [mine.pk, theirs.pk, missing]])
    assert not Allocation.objects.filter(assignment=assignment).exists()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_installment SET updated_at = now() WHERE id = %s", [mine.pk])
        cursor.execute(insert, [assignment.pk, [mine.pk, theirs.pk]])
        cursor.execute("SELECT id, xmax::text::bigint = pg_current_xact_id()::xid::text::bigint FROM billing_installment "
                       "WHERE id = ANY(%s) ORDER BY id", [[mine.pk, theirs.pk]])
        # the row found is locked by this transaction; its own version is left as it is (xmax 0)
        assert cursor.fetchall() == [(mine.pk, False), (theirs.pk, True)]
    assert Allocation.objects.filter(assignment=assignment).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_statement_of_rows_all_its_own_locks_nothing_and_one_of_rows_all_others_locks_each():
    older = [PolicyFactory() for _ in range(3)]
    with transaction.atomic(), connection.cursor() as cursor:
        newer = [PolicyFactory() for _ in range(3)]
        cursor.execute(INSERT, [[p.pk for p in newer], [1, 1, 1]])
        cursor.execute(INSERT, [[p.pk for p in older], [1, 1, 1]])
        cursor.execute("SELECT id, xmax::text::bigint = pg_current_xact_id()::xid::text::bigint FROM policies_policy "
                       "WHERE id = ANY(%s) ORDER BY id", [[p.pk for p in older + newer]])
        assert cursor.fetchall() == [(p.pk, p in older) for p in older + newer]
    assert Installment.objects.filter(policy__in=older + newer, sequence=1).count() == 6


@pytest.mark.django_db
def test_an_assignment_needs_its_policy_and_a_policy_with_an_assignment_is_not_deleted():
    # billing_assignment.policy_id is checked per statement (billing migration 0026), no longer by
    # a constraint at commit
    from billing.models import Assignment
    from billing.tests.factories import PaymentFactory

    policy = PolicyFactory()
    payment = PaymentFactory(amount=Decimal("300.00"))
    missing = Policy.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    insert = ("INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at) "
              "SELECT %s, unnest(%s::bigint[]), 150.00, 'confirmed', 'test', now()")
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [payment.pk, [policy.pk, missing]])
    assert not Assignment.objects.filter(payment=payment).exists()
    with connection.cursor() as cursor:
        cursor.execute(insert, [payment.pk, [policy.pk]])
    with pytest.raises(IntegrityError, match=f"billing_assignment.policy_id: {policy.pk} is still referenced"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM policies_policy WHERE id = %s", [policy.pk])
    assert Assignment.objects.get(payment=payment).policy_id == policy.pk


@pytest.mark.django_db
def test_a_vouched_insert_is_not_checked_only_on_a_vouchable_table_it_names_and_only_until_unvouched():
    """references_vouch: the caller says each reference of its next statement is to a row the
    transaction wrote or holds locked (the statement's booking, billing.services.bulk_matching).
    Only the tables declared vouchable (assignments, allocations) honour it, only those named, and
    only until it is withdrawn (or the transaction, or the savepoint, that vouched ends in a
    rollback)."""
    from billing.models import Assignment
    from billing.tests.factories import PaymentFactory
    from core.references import references_vouch

    policy = PolicyFactory()
    payment = PaymentFactory(amount=Decimal("300.00"))
    missing_policy = policy.pk + 1000
    assign = ("INSERT INTO billing_assignment (payment_id, policy_id, amount, status, rule, created_at) "
              "VALUES (%s, %s, 300.00, 'confirmed', 'test', now())")
    # billing_installment is not vouchable: named, it is still checked
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing_policy} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        references_vouch(cursor, ["billing_installment", "billing_assignment"])
        cursor.execute(INSERT, [[missing_policy], [1]])
    # billing_assignment vouched for: its statement is not checked
    with transaction.atomic(), connection.cursor() as cursor:
        references_vouch(cursor, ["billing_assignment"])
        cursor.execute(assign, [payment.pk, missing_policy])
        cursor.execute("SELECT count(*) FROM billing_assignment WHERE policy_id = %s", [missing_policy])
        assert cursor.fetchone()[0] == 1
        transaction.set_rollback(True)
    # withdrawn: checked again, in the same transaction
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing_policy} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        references_vouch(cursor, ["billing_assignment"])
        references_vouch(cursor, [])
        cursor.execute(assign, [payment.pk, missing_policy])
    # and after the savepoint that vouched was rolled back
    with transaction.atomic(), connection.cursor() as cursor:
        references_vouch(cursor, ["billing_assignment"])
        transaction.set_rollback(True)
    with pytest.raises(IntegrityError, match=f"policy_id -> policies_policy: {missing_policy} does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(assign, [payment.pk, missing_policy])
    assert not Assignment.objects.filter(payment=payment).exists()
