"""The policy table and its status history carry no index that another of theirs already covers.

Every update of a policy writes a new entry in each of its indexes (status is indexed, so no update
of a policy is HOT): on the first night after a migration's import that is 685,504 lapses and the
orphans' reassignments, on a normal night the statement's payments. An index whose columns lead
another index of the same table serves no query the other does not.
"""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

TABLES = ("policies_policy", "policies_policystatuschange")

INDEX_COLUMNS_SQL = """
SELECT c.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,
       array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
WHERE c.relname = ANY(%s) AND pg_get_indexdef(x.indexrelid) NOT LIKE '%%pattern_ops%%'
  AND x.indexprs IS NULL  -- an index of an expression (policy_issue_day) has no columns to compare
"""


def test_no_index_of_the_policy_tables_leads_another():
    with connection.cursor() as cursor:
        cursor.execute(INDEX_COLUMNS_SQL, [list(TABLES)])
        indexes = cursor.fetchall()
    assert {table for table, *_rest in indexes} == set(TABLES)
    redundant = [
        (name, other)
        for table, name, unique, partial, columns in indexes
        for other_table, other, _unique, other_partial, other_columns in indexes
        if table == other_table and name != other and not unique and not partial and not other_partial
        and other_columns[:len(columns)] == columns
    ]
    assert redundant == []
    # the look-ups those indexes served are served by these
    names = {name for _table, name, *_rest in indexes}
    assert {"policy_branch_status", "policy_holder", "policy_insured", "status_change_on_date"} <= names
