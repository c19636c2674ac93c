"""The nightly pipeline: steps in order, each fanned out over Celery workers chunk by chunk.

A run is one row per business date. Each chunk's SQL and its done mark commit together, so a
worker that dies mid-chunk leaves the chunk undone and whoever comes next does it again; a done
chunk is never done twice. The orchestrator (the command, or beat's task) enqueues the chunks
and also works on them itself, so a run finishes even with no worker. Two orchestrators for the
same date share the work: chunks are claimed with SELECT ... FOR UPDATE SKIP LOCKED.
"""

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from billing.services.schedules import bulk_transaction_prepare, policy_id_chunks
from core.errors import ApplicationError
from renewals.models import ChunkRun, NightlyRun, StepRun
from renewals.services.steps import STEP_FUNCTIONS, STEPS

logger = logging.getLogger(__name__)
CHUNK_SIZE = 50_000
POLL_SECONDS = 0.2
# chunks the orchestrator does at once when it has no worker to enqueue to (each thread on its own
# connection; chunks are claimed with SKIP LOCKED, as workers claim them)
LOCAL_THREADS = 2


def nightly_run_claim(*, as_of: dt.date) -> NightlyRun:
    latest = NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).aggregate(latest=Max("as_of"))["latest"]
    if latest is not None and as_of < latest:
        raise ApplicationError(_("%(day)s is before the latest finished run (%(latest)s); dates run in order")
                               % {"day": as_of.isoformat(), "latest": latest.isoformat()})
    try:
        with transaction.atomic():
            run, _created = NightlyRun.objects.get_or_create(as_of=as_of)
    except IntegrityError:  # another scheduler inserted it at the same moment
        run = NightlyRun.objects.get(as_of=as_of)
    return run


def chunk_execute(*, chunk_id: int) -> bool:
    """Do one chunk if nobody has done or is doing it. Returns whether this call did it."""
    with transaction.atomic():
        # lock the chunk row only (of=self): other chunks of the same step stay claimable in parallel
        chunk = (ChunkRun.objects.select_for_update(skip_locked=True, of=("self",)).select_related("step__run")
                 .filter(pk=chunk_id, done=False).first())
        if chunk is None:
            return False
        bulk_transaction_prepare()
        step = chunk.step
        as_of = step.run.as_of
        job = f"nightly:{as_of.isoformat()}:{step.step}:{chunk.id_from}-{chunk.id_to}"
        with audit_context(job=job, rule=step.step):
            rows = STEP_FUNCTIONS[step.step](as_of, chunk.id_from, chunk.id_to)
            operation_record(action=f"nightly_{step.step}", job=job, object_type="policies",
                             object_ref=f"{chunk.id_from}-{chunk.id_to}", details={"rows": rows,
                                                                                  "as_of": as_of.isoformat()})
        # Fault injection, off unless the test settings read it from the environment: a fault test's
        # worker sleeps here, inside the open transaction after the step's SQL, to be killed mid-chunk.
        if settings.NIGHTLY_FAULT_DELAY_STEP == step.step:
            time.sleep(settings.NIGHTLY_FAULT_DELAY_SECONDS)
        chunk.done, chunk.rows, chunk.finished_at = True, rows, timezone.now()
        chunk.attempts += 1
        chunk.save(update_fields=["done", "rows", "finished_at", "attempts"])
        return True


def _chunks_for(step: StepRun, chunked: bool) -> None:
    ranges = policy_id_chunks(chunk_size=CHUNK_SIZE) if chunked else [(0, 2**62)]
    ranges = ranges or [(0, 0)]
    ChunkRun.objects.bulk_create([ChunkRun(step=step, id_from=lo, id_to=hi) for lo, hi in ranges],
                                 ignore_conflicts=True)


def _chunks_execute_in_threads(chunk_ids: list[int]) -> bool:
    """chunk_execute for each chunk, LOCAL_THREADS at once, each thread on its own connection."""

    def execute(chunk_id: int) -> bool:
        try:
            return chunk_execute(chunk_id=chunk_id)
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=LOCAL_THREADS) as pool:
        return any(list(pool.map(execute, chunk_ids)))


def _work_step(step: StepRun, *, enqueue) -> None:
    pending = list(step.chunk_runs.filter(done=False).values_list("pk", flat=True))
    if enqueue is not None:
        for chunk_id in pending:
            enqueue(chunk_id)
    while True:
        undone = list(step.chunk_runs.filter(done=False).values_list("pk", flat=True))
        if not undone:
            return
        # help: a chunk nobody holds is done here; one held by a worker is waited for; one whose
        # worker died is free again (its transaction rolled back) and is done here. With no
        # worker to enqueue to and outside a transaction, LOCAL_THREADS chunks are done at once.
        if enqueue is None and LOCAL_THREADS > 1 and len(undone) > 1 and not connection.in_atomic_block:
            done_some = _chunks_execute_in_threads(undone)
        else:
            done_some = any(chunk_execute(chunk_id=chunk_id) for chunk_id in undone)
        if not done_some:
            time.sleep(POLL_SECONDS)


def nightly_run(*, as_of: dt.date, enqueue=None) -> NightlyRun:
    """Run (or finish) the pipeline for a business date; returns when every step is done.
    A finished date is not run again: rerunning it changes nothing."""
    run = nightly_run_claim(as_of=as_of)
    if run.status == NightlyRun.Status.FINISHED:
        return run
    for position, (name, _function, chunked) in enumerate(STEPS, start=1):
        step, _created = StepRun.objects.get_or_create(run=run, step=name, defaults={"position": position})
        if step.status == StepRun.Status.FINISHED:
            continue
        StepRun.objects.filter(pk=step.pk, started_at__isnull=True).update(started_at=timezone.now(),
                                                                            status=StepRun.Status.RUNNING)
        _chunks_for(step, chunked)
        try:
            _work_step(step, enqueue=enqueue)
        except Exception as exc:
            StepRun.objects.filter(pk=step.pk).update(status=StepRun.Status.FAILED, errors=str(exc)[:2000])
            NightlyRun.objects.filter(pk=run.pk).update(status=NightlyRun.Status.FAILED)
            raise
        totals = step.chunk_runs.aggregate(rows=Sum("rows"))
        StepRun.objects.filter(pk=step.pk).exclude(status=StepRun.Status.FINISHED).update(
            status=StepRun.Status.FINISHED, finished_at=timezone.now(), rows=totals["rows"] or 0,
            chunks=step.chunk_runs.count(), errors="")
    NightlyRun.objects.filter(pk=run.pk).exclude(status=NightlyRun.Status.FINISHED).update(
        status=NightlyRun.Status.FINISHED, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def nightly_run_retry(*, run: NightlyRun) -> NightlyRun:
    """The operations page's rerun: a failed run is resumed where it stopped."""
    if run.status == NightlyRun.Status.FINISHED:
        raise ApplicationError(_("this run has finished; rerunning it would change nothing"))
    NightlyRun.objects.filter(pk=run.pk).update(status=NightlyRun.Status.RUNNING)
    StepRun.objects.filter(run=run, status=StepRun.Status.FAILED).update(status=StepRun.Status.RUNNING)
    return nightly_run(as_of=run.as_of)


def nightly_report(run: NightlyRun) -> dict:
    return {"as_of": run.as_of.isoformat(), "steps": [
        {"step": s.step, "rows": s.rows, "seconds": round(s.seconds or 0.0, 3)} for s in run.steps.order_by("position")]}
