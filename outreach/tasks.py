from celery import shared_task
from django.utils import timezone

from outreach.services.dispatch import contacts_dispatch


@shared_task(acks_late=True)
def dispatch_contacts() -> dict:
    """Beat's every-minute entry: send what is due now (safe to run on several workers at once)."""
    return contacts_dispatch(now=timezone.now())
