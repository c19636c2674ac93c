"""Claims as the claims system notifies them (the API; the same claim number again updates it)
or a claims handler enters them."""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from core.errors import ApplicationError
from policies.models import Policy
from policies.selectors import policy_scope_check
from risk.models import Claim


@transaction.atomic
def claim_record(*, policy: Policy, claim_no: str, loss_date: dt.date, reported_date: dt.date, kind: str,
                 status: str, source: str, actor=None) -> tuple[Claim, bool]:
    """Returns (claim, created). A claim number already known for another policy is refused."""
    policy_scope_check(user=actor, policy=policy)
    if loss_date > reported_date:
        raise ApplicationError(_("the loss date is after the reported date"),
                               errors={"loss_date": [_("after the reported date")]})
    if kind not in Claim.Kind.values or status not in Claim.Status.values:
        raise ApplicationError(_("unknown claim kind or status"))
    existing = Claim.objects.select_for_update().filter(claim_no=claim_no).first()
    context = {"user": actor.pk, "username": actor.get_username()} if actor is not None else {}
    with audit_context(**context):
        if existing is None:
            claim = Claim.objects.create(policy=policy, claim_no=claim_no, loss_date=loss_date,
                                         reported_date=reported_date, kind=kind, status=status, source=source,
                                         created_by=actor if actor is not None and actor.is_authenticated else None)
            operation_record(action="claim_record", actor=actor, object_type="claim", object_ref=claim_no,
                             details={"policy_no": policy.policy_no, "source": source})
            return claim, True
        if existing.policy_id != policy.pk:
            raise ApplicationError(_("this claim number belongs to another policy"),
                                   errors={"claim_no": [_("another policy's")]})
        values = {"loss_date": loss_date, "reported_date": reported_date, "kind": kind, "status": status}
        changed = [name for name, value in values.items() if getattr(existing, name) != value]
        for name in changed:
            setattr(existing, name, values[name])
        if changed:
            existing.save(update_fields=[*changed, "updated_at"])
        return existing, False
