"""The contact log: what people did (calls, visits), next to what the outbox sent."""

import datetime as dt

from django.db import transaction

from audit.services import audit_context
from outreach.models import ContactLog
from outreach.selectors import contact_address_masked
from policies.models import Policy


def contact_log_record(*, policy: Policy, channel: str, outcome: str, actor, occurred_at: dt.datetime,
                       note: str = "") -> ContactLog:
    """A clerk's call (or visit) with its outcome; it counts in the customer's weekly cap."""
    if occurred_at.tzinfo is None:
        raise TypeError("occurred_at must be aware")
    holder = policy.holder
    with transaction.atomic(), audit_context(user=getattr(actor, "pk", None), reason="contact logged"):
        return ContactLog.objects.create(customer=holder, policy=policy, channel=channel, outcome=outcome, note=note,
                                         address=contact_address_masked(channel, holder), actor=actor,
                                         occurred_at=occurred_at)
