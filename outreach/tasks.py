from celery import shared_task
from django.utils import timezone

from outreach.services.dispatch import contacts_dispatch, contacts_sending_resolve


@shared_task(acks_late=True)
def dispatch_contacts() -> dict:
    """Beat's every-minute entry: resolve what a crashed worker left in `sending` (index
    planned_contact_sending: nothing to read most minutes), then send what is due now (safe to run
    on several workers at once)."""
    now = timezone.now()
    return {**contacts_sending_resolve(now=now), **contacts_dispatch(now=now)}
