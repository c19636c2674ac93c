"""KPI facts start on the day a policy was first imported (Policy.first_imported_on): a migration's
arrears and its feed-dated lapses lie in the core system's history, not in ours.

Imported 2026-11-25 (products and branches of reporting/tests/portfolio.py, monthly, grace 60):
  M  migrated  WL20  200.00  issued 2020-06-15, paid to 2026-06-15: installments due on the 15th
     from 2026-06-15 are unpaid. The first night lapses it, dated by the rule: grace of 06-15 ends
     08-14, so the lapse is effective 2026-08-15, before the import.
  N  current   WL20  300.00  issued 2025-12-01, paid to 2026-12-01.
  P  current   WL20  100.00  made by the factory, issued 2025-12-01, paid to 2026-10-01: no floor;
     it lapses on 2026-12-01 (grace of 10-01 ends 11-30).
Nights 2026-11-25 (the first), 2026-11-26 (M's arrears paid for 06-15 by a transfer valued
2026-08-01, in its grace: the lapse is reversed) and 2026-12-01.
"""

import datetime as dt
from decimal import Decimal

import pytest

from billing.services.allocations import policy_allocate
from billing.tests.factories import AssignmentFactory
from conftest import POLICY_HEADER
from policies.models import Policy, PolicyStatusChange
from policies.services.imports import policies_import
from policies.tests.factories import PolicyFactory
from renewals.services.pipeline import nightly_run
from reporting.drilldown import drill_rows
from reporting.models import DailyFact, Restatement
from reporting.tests.portfolio import BRANCHES, HOLDER, PRODUCTS

IMPORTED = dt.date(2026, 11, 25)


def _row(no: str, issue: str, premium: str, paid_to: str) -> str:
    return (f"{no},WL20,GD-GZ,AG101,代理人AG101,active,{HOLDER},{issue},monthly,20,{premium},100000.00,"
            f"bank_transfer,,,,{paid_to},in_force,")


def _day(day: dt.date) -> dict:
    facts = DailyFact.objects.filter(day=day)
    return {"premium_due": sum((f.premium_due for f in facts), Decimal("0.00")),
            "policies_due": sum(f.policies_due for f in facts), "policies_lapsed": sum(f.policies_lapsed for f in facts)}


@pytest.mark.django_db
def test_facts_start_on_the_day_each_policy_was_first_imported():
    csv = "\n".join([POLICY_HEADER, _row("8860000000000201", "2020-06-15", "200.00", "2026-06-15"),
                     _row("8860000000000202", "2025-12-01", "300.00", "2026-12-01")]) + "\n"
    report = policies_import(files=[("branches.csv", BRANCHES.encode()), ("products.csv", PRODUCTS.encode()),
                                    ("policies.csv", csv.encode())], as_of=IMPORTED)
    assert [f["rejected"] for f in report["files"]] == [0, 0, 0], report
    migrated = Policy.objects.get(policy_no="8860000000000201")
    current = Policy.objects.get(policy_no="8860000000000202")
    assert (migrated.first_imported_on, current.first_imported_on) == (IMPORTED, IMPORTED)
    factory_made = PolicyFactory(product=current.product, branch=current.branch, issue_date=dt.date(2025, 12, 1),
                                 frequency="monthly", premium_term_years=20, modal_premium=Decimal("100.00"),
                                 paid_to_date=dt.date(2026, 10, 1))
    assert factory_made.first_imported_on is None

    nightly_run(as_of=IMPORTED)
    migrated.refresh_from_db()
    assert (migrated.status, migrated.lapse_date) == ("lapsed", dt.date(2026, 8, 15))

    # before the floor only the factory-made policy counts: its installments of 10-01 and 11-01
    # (100.00 each, unpaid); the migrated one's 06-15 .. 11-15 (six of 200.00) and its lapse of
    # 08-15 are the core system's history
    migrated_days = [dt.date(2026, m, 15) for m in range(6, 12)]
    assert not DailyFact.objects.filter(day__in=migrated_days).exists()
    assert _day(dt.date(2026, 8, 15))["policies_lapsed"] == 0
    assert _day(dt.date(2026, 10, 1)) == {"premium_due": Decimal("100.00"), "policies_due": 1, "policies_lapsed": 0}
    assert _day(dt.date(2026, 11, 1)) == {"premium_due": Decimal("100.00"), "policies_due": 1, "policies_lapsed": 0}

    # M's arrears of 06-15 paid by money valued in its grace: the lapse is void, the policy in force
    # again; nothing before the floor is restated
    AssignmentFactory(payment__value_date=dt.date(2026, 8, 1), payment__remittance=migrated.policy_no,
                      policy=migrated, amount=Decimal("200.00"))
    policy_allocate(policy_id=migrated.pk, as_of=dt.date(2026, 11, 26))
    assert PolicyStatusChange.objects.filter(policy=migrated, status="lapsed", voided_at__isnull=False).exists()
    nightly_run(as_of=dt.date(2026, 11, 26))
    nightly_run(as_of=dt.date(2026, 12, 1))
    assert not DailyFact.objects.filter(day__in=migrated_days).exists()
    # (M's second lapse, for 07-15 unpaid past its grace of 09-13, is dated 09-14: also before)
    assert not Restatement.objects.filter(day__in=[*migrated_days, dt.date(2026, 8, 15),
                                                   dt.date(2026, 9, 14)]).exists()
    assert not DailyFact.objects.filter(day=dt.date(2026, 9, 14), policies_lapsed__gt=0).exists()
    # 12-01: N's 300.00 and P's 100.00 due (M's next is 12-15); P lapses, its 10-01 unpaid past its
    # grace of 11-30
    assert _day(dt.date(2026, 12, 1)) == {"premium_due": Decimal("400.00"), "policies_due": 2, "policies_lapsed": 1}

    # the policies behind the collection rate of 2026-06-01 .. 12-01 are those the figure counted:
    # P's 10-01, 11-01, 12-01 and N's 12-01, not M's six
    count, rows = drill_rows(metric="collection_rate", date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 12, 1),
                             user=None, filters={})
    assert sorted((r["policy_no"], r["due_date"]) for r in rows) == sorted([
        (factory_made.policy_no, dt.date(2026, 10, 1)), (factory_made.policy_no, dt.date(2026, 11, 1)),
        (factory_made.policy_no, dt.date(2026, 12, 1)), (current.policy_no, dt.date(2026, 12, 1))])
    assert count == 4


@pytest.mark.django_db
@pytest.mark.parametrize("since", [False, True], ids=["first_night", "normal_night"])
def test_the_snapshot_reads_the_chunk_s_slices_once_beside_its_policies(since):
    """On a first night reporting_policyslice is empty and may be analysed as such (a template's
    VACUUM ANALYZE). The slices' insert must not look a policy's rows up in it per policy: such a
    look-up is a whole scan of the table, visiting every row inserted so far (bench/RESULTS.md
    part 17: more than five minutes for a chunk of 50,000). It reads the chunk's rows once.
    On a normal night only the policies written since are read, estimated at a row or so: the
    chunk's slice rows must not then sit on the inner side of a nested loop (or in an unhashed
    subplan), read again for each policy actually written (part 18: 8 s a chunk of 50,000 with
    3,247 written). The earlier SQL fails both: a correlated EXISTS (before part 17), a join with a
    materialized CTE (part 17)."""
    import json

    from django.db import connection

    from reporting.services.snapshot import _params, slices_sql

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reporting_policyslice")
        cursor.execute("EXPLAIN (FORMAT JSON) " + slices_sql(since=since)[1],
                       _params(as_of=IMPORTED, lo=1, hi=50_000, since=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                               last_hi=50_000))
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def nodes(node: dict, path: tuple = ()):
        yield node, path
        for child in node.get("Plans", []):
            yield from nodes(child, (*path, (child.get("Parent Relationship"), child.get("Subplan Name", ""))))

    every = list(nodes(plan[0]["Plan"]))
    scans = [path for node, path in every
             if node.get("Relation Name") == "reporting_policyslice" and node["Node Type"] != "ModifyTable"]
    # once, beside the policies, and never under a subplan, an init plan or a join's inner side,
    # where it could be read again for each policy
    assert len(scans) == 1, scans
    assert not [relation for relation, _name in scans[0] if relation in ("SubPlan", "InitPlan", "Inner")], scans
    assert not [node["Node Type"] for node, _path in every if node["Node Type"] in (
        "Nested Loop", "Hash Join", "Merge Join", "CTE Scan")]


@pytest.mark.django_db
def test_after_the_first_snapshot_new_and_changed_policies_get_their_slices_and_an_unchanged_night_reads_none():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from policies.models import Policy
    from policies.tests.factories import PolicyFactory
    from reporting.models import PolicySlice
    from reporting.services.snapshot import kpi_snapshot

    def slices():
        return sorted(PolicySlice.objects.values_list("policy_id", "valid_from", "valid_to", "sales_channel"))

    def stamps_back() -> None:  # written long before the last snapshot's horizon
        hour_ago = timezone.now() - dt.timedelta(hours=1)
        Policy.objects.update(created_at=hour_ago, updated_at=hour_ago)

    def inserts(day) -> int:
        with CaptureQueriesContext(connection) as queries:
            kpi_snapshot(day, 0, 2**62)
        return sum("INSERT INTO reporting_policyslice" in q["sql"] for q in queries.captured_queries)

    dawn = dt.date(1, 1, 1)
    first = PolicyFactory(sales_channel="agency")
    kpi_snapshot(dt.date(2026, 11, 25), 0, first.pk)  # the night's chunk ended at the then last id
    assert slices() == [(first.pk, dawn, None, "agency")]
    # made after that night cut its chunks and stamped before its horizon: new to the chunk all the same
    second = PolicyFactory(sales_channel="online")
    stamps_back()
    assert inserts(dt.date(2026, 11, 26)) == 1
    assert slices() == [(first.pk, dawn, None, "agency"), (second.pk, dawn, None, "online")]
    third = PolicyFactory(sales_channel="group")  # imported during the day
    Policy.objects.filter(pk=first.pk).update(sales_channel="bancassurance", updated_at=timezone.now())
    assert inserts(dt.date(2026, 11, 27)) == 1
    expected = [(first.pk, dawn, dt.date(2026, 11, 27), "agency"),
                (first.pk, dt.date(2026, 11, 27), None, "bancassurance"),
                (second.pk, dawn, None, "online"), (third.pk, dawn, None, "group")]
    assert slices() == expected
    stamps_back()
    assert inserts(dt.date(2026, 11, 28)) == 0  # nothing new, nothing changed: the slice rows not read
    assert slices() == expected


@pytest.mark.django_db
def test_the_chunk_s_floor_is_kept_on_its_run_and_lowered_by_new_policies_only():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reporting.models import SnapshotRun
    from reporting.services.snapshot import kpi_snapshot

    def night(day: dt.date) -> tuple[dt.date, bool]:
        """The floor the night kept, and whether it read every policy of the chunk for it."""
        with CaptureQueriesContext(connection) as queries:
            kpi_snapshot(day, 0, 2**62)
        # CHUNK_FLOOR_SQL reads them all; NEW_FLOOR_SQL those created since or above the last range
        scanned = any("min(COALESCE(p.first_imported_on" in q["sql"] and "created_at" not in q["sql"]
                      for q in queries.captured_queries)
        return SnapshotRun.objects.get(as_of=day).floor, scanned

    PolicyFactory(first_imported_on=dt.date(2026, 11, 20))
    assert night(dt.date(2026, 11, 25)) == (dt.date(2026, 11, 20), True)  # the first snapshot reads them
    # a policy imported since with an older date lowers it; the night reads the new policies only
    PolicyFactory(first_imported_on=dt.date(2026, 11, 10))
    assert night(dt.date(2026, 11, 26)) == (dt.date(2026, 11, 10), False)
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    Policy.objects.update(created_at=hour_ago)
    assert night(dt.date(2026, 11, 27)) == (dt.date(2026, 11, 10), False)
    # a run recorded before the floor was kept: the chunk's policies are read again
    SnapshotRun.objects.filter(as_of=dt.date(2026, 11, 27)).update(floor=None)
    assert night(dt.date(2026, 11, 28)) == (dt.date(2026, 11, 10), True)
