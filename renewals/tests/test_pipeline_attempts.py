"""A poison chunk: a chunk whose step fails every time is tried NIGHTLY_CHUNK_MAX_ATTEMPTS times, then
the run stops at its step, failed, naming the chunk, and the administrators are alerted (one open
alert per date and step, however often it fails). Resuming the run after the fix gives the chunk
fresh attempts and finishes the run.

The fault is the pipeline's test hook (NIGHTLY_FAULT_FAIL_STEP / _POLICY_ID): it raises inside the
chunk's transaction, after the step's SQL, so the failed attempts' work is rolled back too. Runs on
the real database outside a test transaction, so the orchestrator does the chunks in its threads
(each on its own connection), as it does with no worker.
"""

import datetime as dt

import pytest
from django.db import connection
from django.utils import translation

from conftest import AS_OF, BJ_POLICY, policies_csv
from core.alerts import alert_acknowledge, alert_raise
from core.errors import ApplicationError
from core.models import Alert
from policies.models import Policy, PolicyStatusChange
from policies.services.imports import policies_import
from renewals.models import ChunkRun, NightlyRun, StepRun
from renewals.services.pipeline import CHUNK_SIZE, chunk_execute, nightly_run, nightly_run_retry

pytestmark = pytest.mark.django_db(transaction=True)

GZ, BJ, BJ2 = "8860000000000001", "8860000000000002", "8860000000000003"
LAPSED_ON = dt.date(2026, 3, 31)  # conftest: 1200.00 due 2026-02-28, 30 days' grace


@pytest.fixture
def two_chunks(portfolio):
    """A third policy, like BJ's, whose id falls in the second chunk of CHUNK_SIZE ids."""
    first = Policy.objects.order_by("id").first().pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('policies_policy', 'id'), %s)", [first + CHUNK_SIZE - 1])
    report = policies_import(files=[("policies.csv", policies_csv(BJ_POLICY.replace(BJ, BJ2, 1)))], as_of=AS_OF)
    assert [f["rejected"] for f in report["files"]] == [0], report
    poison = Policy.objects.get(policy_no=BJ2)
    assert poison.pk == first + CHUNK_SIZE
    return first, poison.pk


def _statuses() -> dict:
    return dict(Policy.objects.values_list("policy_no", "status"))


def test_a_poison_chunk_stops_the_run_after_three_attempts_and_a_resume_after_the_fix_finishes_it(
        two_chunks, settings, make_user, client):
    first, poison = two_chunks
    settings.NIGHTLY_FAULT_FAIL_STEP, settings.NIGHTLY_FAULT_FAIL_POLICY_ID = "lapse", poison
    assert settings.NIGHTLY_CHUNK_MAX_ATTEMPTS == 3

    # given a lapse step whose second chunk fails every time
    with translation.override("en"), pytest.raises(ApplicationError) as raised:
        nightly_run(as_of=AS_OF)

    # then the run stopped at that step, failed, naming the chunk and its error
    error = (f"Policy ids {poison}–{poison} failed 3 times; last error: "
             f"RuntimeError: injected fault in lapse for policy ids {poison}-{poison}")
    assert raised.value.message == error
    run = NightlyRun.objects.get()
    assert run.status == NightlyRun.Status.FAILED
    steps = list(StepRun.objects.order_by("position").values_list("step", "status", "errors"))
    assert steps[-1] == ("lapse", "failed", error)
    assert {status for _step, status, _errors in steps[:-1]} == {"finished"}  # the later steps never started
    assert [s for s, _status, _errors in steps[:-1]] == ["extend_schedules", "installment_statuses", "reinstatements",
                                                          "servicing", "grace_extensions", "lapse_reversal"]
    chunks = list(ChunkRun.objects.filter(step__step="lapse").order_by("id_from")
                  .values_list("id_from", "id_to", "done", "attempts", "failures", "error"))
    assert chunks == [
        (first, first + CHUNK_SIZE - 1, True, 1, 0, ""),
        (poison, poison, False, 0, 3, f"RuntimeError: injected fault in lapse for policy ids {poison}-{poison}"),
    ]
    # the first chunk's lapse is committed, the failed attempts' lapse of the third policy is not
    assert _statuses() == {GZ: "in_force", BJ: "lapsed", BJ2: "in_force"}
    assert not PolicyStatusChange.objects.filter(policy__policy_no=BJ2, status="lapsed").exists()

    # and the administrators are alerted, once
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.severity, alert.occurrences, alert.acknowledged_at, alert.title) == (
        "nightly.step_failed", "2026-11-25:lapse", "error", 1, None,
        "The nightly run of 2026-11-25 stopped at step lapse")
    assert alert.details == {"as_of": "2026-11-25", "step": "lapse", "error": error, "id_from": poison,
                             "id_to": poison, "failures": 3}

    # a chunk out of attempts is not tried again: a redelivered task leaves it alone
    poison_chunk = ChunkRun.objects.get(step__step="lapse", id_from=poison)
    assert chunk_execute(chunk_id=poison_chunk.pk) is False
    assert ChunkRun.objects.get(pk=poison_chunk.pk).failures == 3

    # the operations page shows the chunk and its error; the open alerts to administrators only
    client.force_login(make_user("ops-admin", ["admin"]))
    page = client.get("/renewals/operations/").content.decode()
    assert 'id="alerts"' in page and 'data-key="2026-11-25:lapse"' in page
    assert f'data-id-from="{poison}"' in page and "injected fault in lapse" in page
    client.force_login(make_user("ops-lead", ["team_lead"]))
    page = client.get("/renewals/operations/").content.decode()
    assert 'id="alerts"' not in page and f'data-id-from="{poison}"' in page

    # resumed before the fix: three fresh attempts, the same open alert counted again
    with translation.override("en"), pytest.raises(ApplicationError):
        nightly_run_retry(run=run)
    assert ChunkRun.objects.get(pk=poison_chunk.pk).failures == 3
    assert list(Alert.objects.values_list("key", "occurrences")) == [("2026-11-25:lapse", 2)]

    # when the fault is fixed, resuming finishes the run: the chunk is done once, the rest goes on
    settings.NIGHTLY_FAULT_FAIL_STEP = None
    run = nightly_run_retry(run=NightlyRun.objects.get())
    assert run.status == NightlyRun.Status.FINISHED
    assert _statuses() == {GZ: "in_force", BJ: "lapsed", BJ2: "lapsed"}
    assert list(PolicyStatusChange.objects.filter(status="lapsed").order_by("policy__policy_no")
                .values_list("policy__policy_no", "effective_date")) == [(BJ, LAPSED_ON), (BJ2, LAPSED_ON)]
    assert list(ChunkRun.objects.filter(step__step="lapse").order_by("id_from")
                .values_list("done", "attempts", "failures", "error")) == [(True, 1, 0, ""), (True, 1, 0, "")]
    lapse = StepRun.objects.get(step="lapse")
    assert (lapse.status, lapse.rows, lapse.chunks, lapse.errors) == ("finished", 2, 2, "")
    # every step finished (the renewals' 12 and those other apps register)
    assert StepRun.objects.filter(status="finished").count() == StepRun.objects.count() >= 12

    # the alert stays until an administrator acknowledges it; the next failure opens a new one
    admin = make_user("ops-admin-2", ["admin"])
    alert_acknowledge(alert=Alert.objects.get(), user=admin)
    with pytest.raises(ApplicationError):
        alert_acknowledge(alert=Alert.objects.get(), user=admin)
    alert_raise(kind="nightly.step_failed", key="2026-11-25:lapse", title="again")
    assert sorted(Alert.objects.values_list("occurrences", "acknowledged_by__username")) == [
        (1, None), (2, "ops-admin-2")]
