"""Which past days the next night recomputes (reporting.services.snapshot.written_since): the rows
the night's own earlier steps wrote just before the snapshot are not read again; money booked
after it is, however close to it. Each night commits here, as in production: inside one test
transaction every row would carry the same transaction id and time."""

import datetime as dt
from decimal import Decimal

import pytest

from conftest import POLICY_HEADER
from policies.models import Policy
from policies.services.imports import policies_import
from renewals.services.pipeline import nightly_run
from reporting.models import DailyFact, SnapshotRun
from reporting.services.snapshot import CLOCK_MARGIN
from reporting.tests.portfolio import BRANCHES, POLICIES, PRODUCTS, pay

pytestmark = pytest.mark.django_db(transaction=True)

DEC_1 = dt.date(2026, 12, 1)


def _days(as_of: dt.date) -> list[dt.date]:
    assert SnapshotRun.objects.filter(as_of=as_of).count() == 1  # five policies: one chunk
    return SnapshotRun.objects.get(as_of=as_of).day_list


def _received(day: dt.date) -> Decimal:
    return sum((f.premium_received for f in DailyFact.objects.filter(day=day)), Decimal("0.00"))


def test_the_next_night_reads_again_only_what_the_snapshot_could_not_see():
    """Five policies imported, each with its first installment due 12-01; the import also writes
    their status history (in force since 2020-12-01 for C, D, E, since 2025-12-01 for A, B). Every
    night here follows the last within seconds, inside CLOCK_MARGIN: before written_since each
    night read again all that the previous night and the import had written, and recomputed
    2020-12-01 and 2025-12-01 every time."""
    csv = ("\n".join([POLICY_HEADER, *POLICIES.values()]) + "\n").encode()
    policies_import(files=[("branches.csv", BRANCHES.encode()), ("products.csv", PRODUCTS.encode()),
                           ("policies.csv", csv)], as_of=dt.date(2026, 11, 25))
    # no floor (test_facts_floor.py): the import's history days are computed, and the test watches
    # whether later nights compute them again
    Policy.objects.update(first_imported_on=None)
    nightly_run(as_of=dt.date(2026, 11, 25))
    # the first snapshot: every day with data
    assert _days(dt.date(2026, 11, 25)) == [dt.date(2020, 12, 1), dt.date(2025, 12, 1), dt.date(2026, 11, 25)]
    nightly_run(as_of=DEC_1)
    run = SnapshotRun.objects.get(as_of=DEC_1)
    assert run.seen_xid is not None
    assert dt.datetime.now(dt.UTC) - run.horizon < CLOCK_MARGIN
    # the days since the last night, nothing older: the import's history was seen on 11-25
    assert _days(DEC_1) == [dt.date(2026, 11, d) for d in range(26, 31)] + [DEC_1]
    # the next night marks the installments due 12-01 overdue itself: 12-01 again, nothing older
    nightly_run(as_of=dt.date(2026, 12, 2))
    assert _days(dt.date(2026, 12, 2)) == [DEC_1, dt.date(2026, 12, 2)]
    assert _received(DEC_1) == Decimal("0.00")
    # B pays 50.00 of its 300.00 due 12-01, inside its grace, seconds after that snapshot: a newer
    # transaction inside the margin, so 12-01 is recomputed with the money
    pay("8860000000000102", "50.00", dt.date(2026, 12, 2), dt.date(2026, 12, 2))
    assert dt.datetime.now(dt.UTC) - SnapshotRun.objects.get(as_of=dt.date(2026, 12, 2)).horizon < CLOCK_MARGIN
    nightly_run(as_of=dt.date(2026, 12, 3))
    assert _days(dt.date(2026, 12, 3)) == [DEC_1, dt.date(2026, 12, 3)]
    assert _received(DEC_1) == Decimal("50.00")


def test_the_horizon_keeps_the_oldest_transaction_running_in_this_database():
    """HORIZON_SQL's transaction id: the oldest transaction with an id still running in this
    database (64 bits, from its 32-bit backend_xid), at most the snapshot's xmax. Other sessions of
    the test database (another test's threads) may hold an older one: at most."""
    from django.db import connection, connections

    from reporting.services.snapshot import HORIZON_SQL

    def seen_and_next() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(HORIZON_SQL, {})
            seen = cursor.fetchone()[1]
            cursor.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
            return seen, cursor.fetchone()[0]

    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            running = cursor.fetchone()[0]
        with connection.cursor() as cursor:  # a newer transaction ends: xmax passes the open one
            cursor.execute("SELECT pg_current_xact_id()")
        seen, next_xid = seen_and_next()
        # without the open transaction the id would be xmax, above it
        assert 0 < seen <= running < next_xid
        other.rollback()
    finally:
        other.close()
    seen, next_xid = seen_and_next()
    assert 0 < seen <= next_xid


def test_a_policy_written_since_recomputes_its_persistency_only_when_its_terms_moved():
    """C, D and E (issued 2020-12-01, paid to 2026-12-01) measure policy months 13 .. 61 from the
    feed (derived): month 13 of cohort 2020-12 is C's 300.00 + D's 400.00 + E's 500.00 = 1,200.00
    due. A write that moves no term (an overdue reason on D) leaves the cohort's rows as computed;
    before PersistencyTerms every write of a policy recomputed all of its cohort's policy months. E's
    premium raised to 600.00 recomputes them: 1,300.00."""
    from django.utils import timezone

    from reporting.models import PersistencyFact

    csv = ("\n".join([POLICY_HEADER, *POLICIES.values()]) + "\n").encode()
    policies_import(files=[("branches.csv", BRANCHES.encode()), ("products.csv", PRODUCTS.encode()),
                           ("policies.csv", csv)], as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=dt.date(2026, 11, 25))
    nightly_run(as_of=DEC_1)
    cohort = PersistencyFact.objects.filter(cohort=dt.date(2020, 12, 1))

    def month_13_due() -> Decimal:
        return sum((f.premium_due for f in cohort.filter(month_n=13)), Decimal("0.00"))

    assert month_13_due() == Decimal("1200.00")
    computed = set(cohort.values_list("month_n", "computed_at"))
    assert {n for n, _at in computed} == {13, 25, 37, 49, 61}
    Policy.objects.filter(policy_no="8860000000000104").update(overdue_reason="forgot", updated_at=timezone.now())
    nightly_run(as_of=dt.date(2026, 12, 2))
    assert set(cohort.values_list("month_n", "computed_at")) == computed
    Policy.objects.filter(policy_no="8860000000000105").update(modal_premium=Decimal("600.00"),
                                                               updated_at=timezone.now())
    nightly_run(as_of=dt.date(2026, 12, 3))
    assert month_13_due() == Decimal("1300.00")
    assert not set(cohort.values_list("month_n", "computed_at")) & computed
