"""The nightly pipeline: steps in order, each fanned out over Celery workers chunk by chunk.

A run is one row per business date. Each chunk's SQL and its done mark commit together, so a
worker that dies mid-chunk leaves the chunk undone and whoever comes next does it again; a done
chunk is never done twice. The orchestrator (the command, or beat's task) enqueues the chunks
and also works on them itself, so a run finishes even with no worker. Two orchestrators for the
same date share the work: chunks are claimed with SELECT ... FOR UPDATE SKIP LOCKED.

A worker that hangs or whose host vanishes keeps its chunk locked only until the server ends its
session (the idle-in-transaction and statement timeouts, TCP keepalives: config/settings/base.py);
the chunk is then free and done by the next one to look. A chunk whose step raises is recorded as
a failed attempt and tried again; after NIGHTLY_CHUNK_MAX_ATTEMPTS failures the run stops at its
step, failed, and the administrators are alerted (core.alerts). Resuming the run gives the chunk
fresh attempts. A step that changed many rows ANALYZEs the tables it wrote (steps.ANALYZE_AFTER).
"""

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from billing.services.schedules import bulk_transaction_prepare, policy_id_chunks
from core.alerts import alert_raise
from core.analyze import analyze_grown
from core.errors import ApplicationError
from core.horizon import HORIZON_SQL
from core.models import Alert
from renewals.models import ChunkRun, NightlyRun, StepRun
from renewals.services.steps import ANALYZE_AFTER, STEP_FUNCTIONS, STEPS

logger = logging.getLogger(__name__)
CHUNK_SIZE = 50_000
POLL_SECONDS = 0.2
# chunks the orchestrator does at once when it has no worker to enqueue to (each thread on its own
# connection; chunks are claimed with SKIP LOCKED, as workers claim them)
LOCAL_THREADS = 2
ALERT_KIND = "nightly.step_failed"


class ChunkFailedError(ApplicationError):
    """A chunk failed NIGHTLY_CHUNK_MAX_ATTEMPTS times: its step (and the run) stops here."""

    def __init__(self, chunk: ChunkRun):
        super().__init__(_("Policy ids %(lo)s–%(hi)s failed %(count)s times; last error: %(error)s")
                         % {"lo": chunk.id_from, "hi": chunk.id_to, "count": chunk.failures, "error": chunk.error})
        self.chunk = chunk


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
    """Do one chunk if nobody has done or is doing it and it has attempts left. Returns whether this
    call did it. A failure is recorded on the chunk once its transaction has rolled back, and raised."""
    try:
        return _chunk_do(chunk_id)
    except Exception as exc:
        _chunk_failure_record(chunk_id=chunk_id, exc=exc)
        raise


def _chunk_do(chunk_id: int) -> bool:
    with transaction.atomic():
        # lock the chunk row only (of=self): other chunks of the same step stay claimable in parallel
        chunk = (ChunkRun.objects.select_for_update(skip_locked=True, of=("self",)).select_related("step__run")
                 .filter(pk=chunk_id, done=False, failures__lt=settings.NIGHTLY_CHUNK_MAX_ATTEMPTS).first())
        if chunk is None:
            return False
        bulk_transaction_prepare()
        step = chunk.step
        as_of = step.run.as_of
        job = f"nightly:{as_of.isoformat()}:{step.step}:{chunk.id_from}-{chunk.id_to}"
        # the trail reads as the time it tells: every row of the night carries its business date
        with audit_context(job=job, rule=step.step, business_date=as_of.isoformat()):
            rows = STEP_FUNCTIONS[step.step](as_of, chunk.id_from, chunk.id_to)
            operation_record(action=f"nightly_{step.step}", job=job, object_type="policies",
                             object_ref=f"{chunk.id_from}-{chunk.id_to}", details={"rows": rows,
                                                                                  "as_of": as_of.isoformat()})
        _fault_injection(step.step, chunk)
        chunk.done, chunk.rows, chunk.finished_at = True, rows, timezone.now()
        chunk.attempts += 1
        chunk.save(update_fields=["done", "rows", "finished_at", "attempts"])
        return True


def _fault_injection(step: str, chunk: ChunkRun) -> None:
    """Off unless the test settings turn it on: inside the open transaction, after the step's SQL and
    before the done mark, a fault test's worker sleeps here (to be killed or stopped mid-chunk), or
    the step fails for one chunk (a poison chunk)."""
    if settings.NIGHTLY_FAULT_DELAY_STEP == step:
        time.sleep(settings.NIGHTLY_FAULT_DELAY_SECONDS)
    policy_id = settings.NIGHTLY_FAULT_FAIL_POLICY_ID
    if settings.NIGHTLY_FAULT_FAIL_STEP == step and (policy_id is None or chunk.id_from <= policy_id <= chunk.id_to):
        raise RuntimeError(f"injected fault in {step} for policy ids {chunk.id_from}-{chunk.id_to}")


def _chunk_failure_record(*, chunk_id: int, exc: Exception) -> None:
    """Count a failed attempt. Not on a done chunk: a worker whose session the server ended fails
    on a chunk that someone else has done since."""
    error = f"{type(exc).__name__}: {exc}".strip()[:2000]
    try:
        with transaction.atomic():
            counted = ChunkRun.objects.filter(pk=chunk_id, done=False).update(
                failures=F("failures") + 1, error=error, failed_at=timezone.now())
    except DatabaseError:  # the database is what failed: the original error is the one to raise
        logger.exception("nightly chunk %s: its failure could not be recorded", chunk_id)
        return
    if counted:
        logger.warning("nightly chunk %s failed: %s", chunk_id, error, exc_info=exc)


def _chunks_for(step: StepRun, chunked: bool) -> None:
    ranges = policy_id_chunks(chunk_size=CHUNK_SIZE) if chunked else [(0, 2**62)]
    ranges = ranges or [(0, 0)]
    ChunkRun.objects.bulk_create([ChunkRun(step=step, id_from=lo, id_to=hi) for lo, hi in ranges],
                                 ignore_conflicts=True)


def _chunk_try(chunk_id: int) -> bool:
    """chunk_execute for the orchestrator: a failure is recorded on the chunk and counted against its
    attempts by the loop in _work_step, so it does not end the step here."""
    try:
        return chunk_execute(chunk_id=chunk_id)
    except Exception:
        return False


class LocalWorkers:
    """The orchestrator's LOCAL_THREADS threads for the whole run, each keeping its own connection
    from chunk to chunk and step to step (a connection opened and closed per chunk cost a few
    milliseconds, 400 times a night). A connection is dropped after a chunk that was not done (its
    error may have left it unusable; the next chunk opens a new one); all are closed at the end."""

    def __init__(self, threads: int = LOCAL_THREADS):
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def execute(self, chunk_ids: list[int]) -> bool:
        """_chunk_try for each chunk, `threads` at once; whether any was done here."""

        def one(chunk_id: int) -> bool:
            done = _chunk_try(chunk_id)
            if not done:
                connections.close_all()
            return done

        return any(list(self.pool.map(one, chunk_ids)))

    def close(self) -> None:
        """Close each thread's connection (on that thread: a connection belongs to its thread)."""
        barrier = threading.Barrier(self.threads)

        def close_here(_n: int) -> None:
            try:
                barrier.wait(timeout=60)  # one call per thread: none takes two
            finally:
                connections.close_all()

        try:
            list(self.pool.map(close_here, range(self.threads)))
        finally:
            self.pool.shutdown(wait=True)


def _work_step(step: StepRun, *, enqueue, workers: LocalWorkers | None = None) -> None:
    pending = list(step.chunk_runs.filter(done=False).values_list("pk", flat=True))
    if enqueue is not None:
        for chunk_id in pending:
            enqueue(chunk_id)
    while True:
        undone = list(step.chunk_runs.filter(done=False).order_by("id_from"))
        if not undone:
            return
        spent = [chunk for chunk in undone if chunk.failures >= settings.NIGHTLY_CHUNK_MAX_ATTEMPTS]
        if spent:
            raise ChunkFailedError(spent[0])
        # help: a chunk nobody holds is done here; one held by a worker is waited for; one whose
        # worker died, or whose session the server ended, is free again (its transaction rolled
        # back) and is done here. With no worker to enqueue to and outside a transaction,
        # LOCAL_THREADS chunks are done at once.
        undone_ids = [chunk.pk for chunk in undone]
        if workers is not None and len(undone) > 1:
            done_some = workers.execute(undone_ids)
        else:
            done_some = any([_chunk_try(chunk_id) for chunk_id in undone_ids])
        if not done_some:
            time.sleep(POLL_SECONDS)


def _analyze_after(step: str, rows: int) -> dict:
    """ANALYZE the tables a step bulk-wrote (steps.ANALYZE_AFTER) when it changed enough rows
    (core.analyze), outside the chunks' transactions, so the next step's plans see the new row
    counts and value distributions: a normal night's 14,000 new installments leave the statistics
    of 13,700,000 as they were."""
    return analyze_grown(ANALYZE_AFTER.get(step, ()), rows, why=f"nightly {step}")


def _step_failed(run: NightlyRun, step: StepRun, exc: Exception) -> None:
    """Mark the step and the run failed, and alert the administrators (one open alert per date and step)."""
    message = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
    StepRun.objects.filter(pk=step.pk).update(status=StepRun.Status.FAILED, errors=message[:2000])
    NightlyRun.objects.filter(pk=run.pk).update(status=NightlyRun.Status.FAILED)
    details: dict[str, str | int] = {"as_of": run.as_of.isoformat(), "step": step.step, "error": message[:2000]}
    if isinstance(exc, ChunkFailedError):
        details.update(id_from=exc.chunk.id_from, id_to=exc.chunk.id_to, failures=exc.chunk.failures)
    try:
        alert_raise(kind=ALERT_KIND, key=f"{run.as_of.isoformat()}:{step.step}", severity=Alert.Severity.ERROR,
                    title=_("The nightly run of %(day)s stopped at step %(step)s")
                    % {"day": run.as_of.isoformat(), "step": step.step}, details=details)
    except DatabaseError:  # the database is what failed: the step's own error is the one to raise
        logger.exception("nightly %s %s: the alert could not be raised", run.as_of, step.step)


def nightly_run(*, as_of: dt.date, enqueue=None) -> NightlyRun:
    """Run (or finish) the pipeline for a business date; returns when every step is done.
    A finished date is not run again: rerunning it changes nothing."""
    run = nightly_run_claim(as_of=as_of)
    if run.status == NightlyRun.Status.FINISHED:
        return run
    # with no worker to enqueue to and outside a transaction, LOCAL_THREADS chunks at once
    workers = (LocalWorkers() if enqueue is None and LOCAL_THREADS > 1 and not connection.in_atomic_block
               else None)
    try:
        _steps_run(run, enqueue=enqueue, workers=workers)
    finally:
        if workers is not None:
            workers.close()
    NightlyRun.objects.filter(pk=run.pk).exclude(status=NightlyRun.Status.FINISHED).update(
        status=NightlyRun.Status.FINISHED, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _steps_run(run: NightlyRun, *, enqueue, workers: LocalWorkers | None) -> None:
    for position, (name, _function, chunked) in enumerate(STEPS, start=1):
        step, _created = StepRun.objects.get_or_create(run=run, step=name, defaults={"position": position})
        if step.status == StepRun.Status.FINISHED:
            continue
        if step.started_at is None:
            with connection.cursor() as cursor:
                cursor.execute(HORIZON_SQL, {})
                horizon, seen_xid = cursor.fetchone()
            StepRun.objects.filter(pk=step.pk, started_at__isnull=True).update(
                started_at=timezone.now(), horizon=horizon, seen_xid=seen_xid, status=StepRun.Status.RUNNING)
        _chunks_for(step, chunked)
        try:
            _work_step(step, enqueue=enqueue, workers=workers)
        except Exception as exc:
            _step_failed(run, step, exc)
            raise
        rows = step.chunk_runs.aggregate(rows=Sum("rows"))["rows"] or 0
        # before the step is marked finished: a crash in between analyses again on the rerun
        details = _analyze_after(name, rows)
        StepRun.objects.filter(pk=step.pk).exclude(status=StepRun.Status.FINISHED).update(
            status=StepRun.Status.FINISHED, finished_at=timezone.now(), rows=rows,
            chunks=step.chunk_runs.count(), errors="", details=details)


def nightly_catch_up(*, until: dt.date, enqueue=None) -> list[NightlyRun]:
    """Every business date from the day after the latest finished run through `until`, in order
    (beat at 01:00, and bin/dev when it starts days after the last night): a missed night is
    run for its own date, not skipped. With no finished run yet, only `until`. A run that fails
    stops the catch-up there (its error is on the operations page); the next call resumes it."""
    latest = NightlyRun.objects.filter(status=NightlyRun.Status.FINISHED).aggregate(latest=Max("as_of"))["latest"]
    first = until if latest is None else latest + dt.timedelta(days=1)
    runs = []
    day = first
    while day <= until:
        runs.append(nightly_run(as_of=day, enqueue=enqueue))
        day += dt.timedelta(days=1)
    return runs


def nightly_run_retry(*, run: NightlyRun) -> NightlyRun:
    """The operations page's rerun: a failed run is resumed where it stopped."""
    if run.status == NightlyRun.Status.FINISHED:
        raise ApplicationError(_("this run has finished; rerunning it would change nothing"))
    NightlyRun.objects.filter(pk=run.pk).update(status=NightlyRun.Status.RUNNING)
    StepRun.objects.filter(run=run, status=StepRun.Status.FAILED).update(status=StepRun.Status.RUNNING)
    # after the fix: the chunks that used up their attempts get fresh ones
    ChunkRun.objects.filter(step__run=run, done=False).update(failures=0, error="", failed_at=None)
    return nightly_run(as_of=run.as_of)


def nightly_report(run: NightlyRun) -> dict:
    return {"as_of": run.as_of.isoformat(), "steps": [
        {"step": s.step, "rows": s.rows, "seconds": round(s.seconds or 0.0, 3)} for s in run.steps.order_by("position")]}
