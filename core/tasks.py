import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def heartbeat() -> str:
    """Beat's liveness signal; the operations page of a later issue shows the last one."""
    logger.info("heartbeat")
    return "ok"
