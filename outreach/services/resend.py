"""An administrator re-sends a failed batch (issue 16): only its contacts that were not
delivered (failed: the gateway refused them, or they were given up after the retries) are planned
again now, with a fresh idempotency key (the old key would make the provider answer with the
first, failed, request); those delivered, sent or bounced stay. On the trail."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import operation_record
from core.errors import ApplicationError
from outreach.models import PlannedContact

Status = PlannedContact.Status


@transaction.atomic
def batch_resend(*, batch_key: str, actor, now: dt.datetime, reason: str = "") -> int:
    """`batch_key`: the batch's idempotency key (an SMS batch's OutId, or one contact's key).
    Returns how many contacts were planned again."""
    if not actor.has_perm(perm("configure_system")):
        raise ApplicationError(_("only an administrator re-sends a batch"), status=403)
    if not batch_key:
        raise ApplicationError(_("which batch?"), errors={"batch_key": [_("required")]})
    ids = list(PlannedContact.objects.select_for_update().filter(idempotency_key=batch_key, status=Status.FAILED)
               .values_list("pk", flat=True))
    if not ids:
        raise ApplicationError(_("nothing of this batch is left to re-send"))
    PlannedContact.objects.filter(pk__in=ids).update(
        status=Status.PLANNED, planned_at=now, idempotency_key="", attempts=0, error="", reason="",
        provider_ref="", updated_at=now)
    operation_record(action="outreach_batch_resend", actor=actor, object_type="outreach_batch", object_ref=batch_key,
                     reason=reason or "re-send of a failed batch", details={"contacts": ids})
    return len(ids)
