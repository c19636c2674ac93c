"""ANALYZE after bulk writes: a step that changed at least NIGHTLY_ANALYZE_MIN_ROWS rows analyses the
tables it wrote (steps.ANALYZE_AFTER) once all its chunks are done, outside their transactions, and
records it on the step. pg_stat_user_tables.last_analyze is set by a manual ANALYZE only (autovacuum
sets last_autoanalyze), so it tells whether the pipeline analysed a table."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from conftest import AS_OF
from renewals.models import StepRun
from renewals.services.pipeline import nightly_run

pytestmark = pytest.mark.django_db(transaction=True)
TABLES = ("billing_installment", "policies_policy", "policies_policystatuschange")


def _last_analyzed() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the statistics as they are now
        cursor.execute("SELECT relname, last_analyze FROM pg_stat_user_tables WHERE relname = ANY(%s)", [list(TABLES)])
        return dict(cursor.fetchall())


def test_a_step_that_wrote_at_least_the_threshold_analyses_its_tables(portfolio, settings):
    # extend_schedules writes 15 installments (conftest): GZ's 13 monthly ones due 2026-11-30 ..
    # 2027-11-30 and BJ's 2 annual ones due 2026-02-28 and 2027-02-28; lapse changes 1 row (BJ)
    settings.NIGHTLY_ANALYZE_MIN_ROWS = 15
    before, started = _last_analyzed(), timezone.now()

    nightly_run(as_of=AS_OF)

    after = _last_analyzed()
    extend, lapse = StepRun.objects.get(step="extend_schedules"), StepRun.objects.get(step="lapse")
    assert (extend.rows, extend.details["analyzed"]) == (15, ["billing_installment"])
    assert extend.details["analyze_seconds"] >= 0
    assert after["billing_installment"] is not None and after["billing_installment"] >= started
    # below the threshold: lapse's tables are left to autovacuum
    assert (lapse.rows, lapse.details) == (1, {})
    assert [after[t] for t in TABLES[1:]] == [before[t] for t in TABLES[1:]]
    # every other step (the apps register theirs too: their number varies) analysed nothing
    others = StepRun.objects.exclude(step="extend_schedules")
    assert list(others.values_list("details", flat=True)) == [{}] * others.count() and others.count() >= 11


def test_a_small_night_analyses_nothing(portfolio, settings):
    assert settings.NIGHTLY_ANALYZE_MIN_ROWS == 10_000  # the default; the night writes 15 rows at most
    before = _last_analyzed()

    nightly_run(as_of=AS_OF)

    assert _last_analyzed() == before
    assert list(StepRun.objects.values_list("details", flat=True)) == [{}] * StepRun.objects.count()
    assert StepRun.objects.count() >= 12


def test_a_table_analysed_with_many_more_rows_than_the_step_wrote_is_left_as_it_is(portfolio, settings):
    # the first night's 15 installments are analysed (billing_installment never was); the night of
    # 2026-12-25 writes 1 (GZ's 2027-12-31): above a threshold of 1, but not a tenth of the 15 rows
    # the table was analysed with
    settings.NIGHTLY_ANALYZE_MIN_ROWS = 1
    nightly_run(as_of=AS_OF)
    first = _last_analyzed()["billing_installment"]
    nightly_run(as_of=AS_OF.replace(month=12))
    extend = StepRun.objects.get(step="extend_schedules", run__as_of=AS_OF.replace(month=12))
    assert (extend.rows, extend.details) == (1, {})
    assert _last_analyzed()["billing_installment"] == first
    settings.NIGHTLY_ANALYZE_FRACTION = 0.05
    nightly_run(as_of=dt.date(2027, 1, 25))  # GZ's 2028-01-31: 1 row of 16, over 5 %
    extend = StepRun.objects.get(step="extend_schedules", run__as_of=dt.date(2027, 1, 25))
    assert (extend.rows, extend.details["analyzed"]) == (1, ["billing_installment"])
