from celery import shared_task

from core.dates import business_today
from renewals.services.pipeline import chunk_execute, nightly_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def nightly_chunk(chunk_id: int) -> bool:
    return chunk_execute(chunk_id=chunk_id)


def _enqueue(chunk_id: int) -> None:
    # a chunk nobody took within hours was done by the orchestrator: the message may go
    nightly_chunk.apply_async((chunk_id,), expires=6 * 60 * 60)


@shared_task
def nightly_pipeline(as_of: str | None = None) -> dict:
    """Beat's nightly entry: the pipeline for a given date, or every date missed since the last
    finished night through the current business date (Asia/Shanghai), in order."""
    from core.dates import parse_date
    from renewals.services.pipeline import nightly_catch_up, nightly_report

    if as_of:
        return nightly_report(nightly_run(as_of=parse_date(as_of), enqueue=_enqueue))
    runs = nightly_catch_up(until=business_today(), enqueue=_enqueue)
    return {"runs": [nightly_report(run) for run in runs]}
