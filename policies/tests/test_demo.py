import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection, transaction

from policies.models import Agent, Customer, Policy, PolicyStatusChange
from policies.services import imports
from policies.services.demo import BRANCHES, PRODUCTS, demo_policy_rows, demo_portfolio_seed
from policies.services.rows import BRANCH_COLUMNS, POLICY_COLUMNS, PRODUCT_COLUMNS, policy_row_clean
from policies.validation import resident_id_clean, resident_id_gender

AS_OF = dt.date(2026, 11, 25)


def _text(value) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def test_the_same_count_seed_and_date_give_the_same_rows():
    first = list(demo_policy_rows(count=400, seed=3, as_of=AS_OF))
    assert first == list(demo_policy_rows(count=400, seed=3, as_of=AS_OF))
    assert first != list(demo_policy_rows(count=400, seed=4, as_of=AS_OF))
    # up to 5,249 policies the demo has 20 agents: a smaller portfolio is the start of a larger one
    assert first[:100] == list(demo_policy_rows(count=100, seed=3, as_of=AS_OF))
    assert [row["policy_no"] for row in first[:2]] == ["8860000000000001", "8860000000000002"]


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2024, 2, 29), dt.date(2025, 1, 31)])
def test_demo_id_numbers_pass_the_resident_id_rules(as_of):
    for row in demo_policy_rows(count=2000, seed=1, as_of=as_of):
        assert resident_id_clean(row["holder_id_no"]) == row["holder_id_no"]
        assert resident_id_clean(row["insured_id_no"], column="insured_id_no") == row["insured_id_no"]
        assert row["holder_id_no"][6:14] == row["holder_birth_date"].strftime("%Y%m%d")
        assert row["insured_id_no"][6:14] == row["insured_birth_date"].strftime("%Y%m%d")
        assert resident_id_gender(row["holder_id_no"]) == row["holder_gender"]


def test_demo_rows_are_clean_feed_rows():
    """Written as a feed row and read back by the feed's rules, a demo row is itself."""
    product_codes = {p[0] for p in PRODUCTS}
    branch_codes = {b[0] for b in BRANCHES}
    for row in demo_policy_rows(count=2000, seed=2, as_of=AS_OF):
        clean = policy_row_clean({c: _text(row[c]) for c in POLICY_COLUMNS}, as_of=AS_OF,
                                 product_codes=product_codes, branch_codes=branch_codes)
        assert clean.warnings == []
        assert clean.values == {k: v for k, v in row.items() if k != "line"}
        assert row["paid_to_date"] >= row["issue_date"]
        assert (row["status"] == "lapsed") == (row["lapse_date"] is not None)


def _snapshot() -> dict:
    """The portfolio by natural keys (ids differ between loads), and the tables' indexes and
    constraints as the catalog has them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_get_indexdef(indexrelid) FROM pg_index
            WHERE indrelid IN ('policies_policy'::regclass, 'policies_customer'::regclass,
                               'policies_policystatuschange'::regclass)
            UNION ALL
            SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
            FROM pg_constraint
            WHERE conrelid IN ('policies_policy'::regclass, 'policies_customer'::regclass,
                               'policies_policystatuschange'::regclass)
            """
        )
        schema = sorted(r[0] for r in cursor.fetchall())
    return {
        "schema": schema,
        "customers": sorted(Customer.objects.values_list(
            "id_type", "id_no", "name", "birth_date", "gender", "phone", "email", "address", "preferred_channel",
            "language", "opt_outs", "contact_validity")),
        "agents": sorted(Agent.objects.values_list("code", "name", "status", "branch__code")),
        "policies": sorted(Policy.objects.values_list(
            "policy_no", "product__code", "branch__code", "agent__code", "holder__id_no", "insured__id_no",
            "issue_date", "frequency", "premium_term_years", "modal_premium", "sum_assured", "payment_method",
            "bank_name", "bank_account", "bank_account_name", "paid_to_date", "feed_paid_to_date", "status",
            "lapse_date", "feed_status", "feed_status_since", "sales_channel")),
        "history": sorted(PolicyStatusChange.objects.values_list(
            "policy__policy_no", "status", "effective_date", "source", "rule", "reason", "voided_at")),
    }


class _Undo(Exception):
    pass


def _load_and_undo(load) -> tuple:
    """Run `load` in a savepoint, take the snapshot and the result, and roll it all back."""
    outcome = {}
    try:
        with transaction.atomic():
            outcome["result"] = load()
            outcome["snapshot"] = _snapshot()
            raise _Undo
    except _Undo:
        pass
    return outcome["result"], outcome["snapshot"]


@pytest.mark.django_db
def test_seed_bulk_path_loads_what_the_row_by_row_path_loads(monkeypatch):
    before = _snapshot()
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 10**9)
    row_by_row = _load_and_undo(lambda: demo_portfolio_seed(count=600, seed=5, as_of=AS_OF))
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 1)
    bulk = _load_and_undo(lambda: demo_portfolio_seed(count=600, seed=5, as_of=AS_OF))
    assert bulk == row_by_row
    assert bulk[0] == {"created": 600, "updated": 0}
    assert bulk[1]["schema"] == before["schema"]  # every index and constraint back, validated
    assert len(bulk[1]["policies"]) == 600 and len(bulk[1]["history"]) > 600


def _feed_files(rows: list[dict]) -> list[tuple[str, bytes]]:
    def write(header, records):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(records)
        return out.getvalue().encode()

    return [
        ("branches.csv", write(BRANCH_COLUMNS, [[c, n, p or "", pr, ci] for c, n, p, pr, ci, _r in BRANCHES])),
        ("products.csv", write(PRODUCT_COLUMNS, [[c, n, k, g, 2, "0.045"] for c, n, k, g, _t, _r in PRODUCTS])),
        ("policies.csv", write(POLICY_COLUMNS, [[_text(row.get(c)) for c in POLICY_COLUMNS] for row in rows])),
    ]


@pytest.mark.django_db
def test_import_bulk_path_reports_and_loads_what_the_row_by_row_path_does(monkeypatch):
    rows = list(demo_policy_rows(count=500, seed=6, as_of=AS_OF))
    # a holder on several lines (the last line's contact fields win), an insured who is a holder
    # elsewhere, a repeated policy number (the later line wins), and rows the rules refuse
    rows[10]["holder_id_no"], rows[10]["holder_name"] = rows[20]["holder_id_no"], "改名甲"
    rows[10]["holder_birth_date"], rows[10]["holder_gender"] = rows[20]["holder_birth_date"], rows[20]["holder_gender"]
    rows[30]["holder_id_no"], rows[30]["holder_phone"] = rows[20]["holder_id_no"], "13900000000"
    rows[30]["holder_birth_date"], rows[30]["holder_gender"] = rows[20]["holder_birth_date"], rows[20]["holder_gender"]
    rows[40]["insured_id_no"], rows[40]["insured_name"] = rows[50]["holder_id_no"], rows[50]["holder_name"]
    rows[40]["insured_birth_date"] = rows[50]["holder_birth_date"]
    rows.append(dict(rows[60], modal_premium="123.45"))
    rows.append(dict(rows[70], policy_no="8860000009999999", holder_id_no="110105198001010025"))
    rows.append(dict(rows[80], policy_no="8860000009999998", product_code="NOPE"))
    files = _feed_files(rows)

    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 10**9)
    row_by_row = _load_and_undo(lambda: imports.policies_import(files=files, as_of=AS_OF))
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 1)
    bulk = _load_and_undo(lambda: imports.policies_import(files=files, as_of=AS_OF))

    assert bulk == row_by_row
    report = bulk[0]["files"][2]
    assert (report["rows"], report["created"], report["rejected"]) == (503, 500, 3)
    assert [e["column"] for e in report["errors"]] == ["policy_no", "holder_id_no", "product_code"]
    customers = {c[1]: c for c in bulk[1]["customers"]}
    repeated = customers[rows[20]["holder_id_no"]]  # holder on lines 12, 22 and 32: the last one wins
    assert (repeated[2], repeated[5]) == (rows[30]["holder_name"], "13900000000")
    policies = {p[0]: p for p in bulk[1]["policies"]}
    assert policies[rows[40]["policy_no"]][5] == rows[50]["holder_id_no"]
    assert policies[rows[60]["policy_no"]][9] == Decimal("123.45")


def _analyses(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_bulk_import_analyses_the_agents_it_wrote(monkeypatch):
    # never analysed, a migration's 4,000 agents were planned as 5 rows by the first night's
    # orphans step (bench/RESULTS.md part 27); a row-by-row feed leaves the statistics to autovacuum
    files = _feed_files(list(demo_policy_rows(count=60, seed=7, as_of=AS_OF)))
    before = _analyses("policies_agent")
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 10**9)
    _load_and_undo(lambda: imports.policies_import(files=files, as_of=AS_OF))
    assert _analyses("policies_agent") == before
    monkeypatch.setattr(imports, "BULK_MIN_ROWS", 1)
    _load_and_undo(lambda: imports.policies_import(files=files, as_of=AS_OF))
    assert _analyses("policies_agent") == before + 1
