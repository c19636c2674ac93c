"""A transaction's temporary tables analysed with a small sample (core.analyze.temp_tables_analyze):
the planner learns their size and distinct counts, at a tenth of the default sample's cost; the
caller's statistics target is as it was afterwards."""

import pytest
from django.db import connection, transaction

from core.analyze import TEMP_STATISTICS_TARGET, temp_tables_analyze


@pytest.mark.django_db
def test_a_temporary_table_is_analysed_with_the_small_sample_and_the_target_before_comes_back():
    with transaction.atomic(), connection.cursor() as cursor:
        # a caller's own target (any value but the small sample's) is what it is again afterwards
        cursor.execute("SELECT set_config('default_statistics_target', '250', true)")
        cursor.execute("CREATE TEMP TABLE analyzed_lines ON COMMIT DROP AS "
                       "SELECT g AS line_no, g % 7 AS weekday FROM generate_series(1, 20000) g")
        cursor.execute("CREATE TEMP TABLE analyzed_accounts ON COMMIT DROP AS "
                       "SELECT 'A' || g AS account FROM generate_series(1, 50) g")
        temp_tables_analyze(cursor, "analyzed_lines", "analyzed_accounts")
        cursor.execute("SHOW default_statistics_target")
        assert cursor.fetchone()[0] == "250"
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname IN ('analyzed_lines', "
                       "'analyzed_accounts') ORDER BY relname")
        assert cursor.fetchall() == [("analyzed_accounts", 50.0), ("analyzed_lines", 20000.0)]
        # the sample's statistics: line_no unique (n_distinct -1), weekday's 7 values, and a
        # histogram of line_no of TEMP_STATISTICS_TARGET buckets (11 bounds; the default: 101)
        cursor.execute("SELECT attname, n_distinct, cardinality(histogram_bounds::text::int[]) FROM pg_stats "
                       "WHERE tablename = 'analyzed_lines' ORDER BY attname")
        assert cursor.fetchall() == [("line_no", -1.0, TEMP_STATISTICS_TARGET + 1), ("weekday", 7.0, None)]
