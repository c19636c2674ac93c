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
    """Beat's nightly entry: the pipeline for the current business date (Asia/Shanghai)."""
    from core.dates import parse_date
    from renewals.services.pipeline import nightly_report

    run = nightly_run(as_of=parse_date(as_of) if as_of else business_today(), enqueue=_enqueue)
    return nightly_report(run)
