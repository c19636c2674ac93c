"""The policy status machine's writes: check, change, history row, in one transaction.
The lifecycle (renewals) calls these; the rule that caused a change is always named."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_context
from core.errors import ApplicationError
from policies.lifecycle import transition_allowed
from policies.models import Policy, PolicyStatus, PolicyStatusChange


@transaction.atomic
def policy_status_change(
    *, policy: Policy, status: str, effective_date: dt.date, source: str, rule: str, reason: str = "", actor=None
) -> PolicyStatusChange:
    if status not in PolicyStatus.values:
        raise ApplicationError(f"unknown status {status!r}", errors={"status": [f"unknown status {status!r}"]})
    if effective_date < policy.issue_date:
        raise ApplicationError(_("a status cannot take effect before the issue date"),
                               errors={"effective_date": [_("before the issue date")]})
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if not transition_allowed(rule=rule, current=policy.status, target=status):
        raise ApplicationError(
            _("%(rule)s cannot move a policy from %(current)s to %(target)s")
            % {"rule": rule, "current": PolicyStatus(policy.status).label, "target": PolicyStatus(status).label},
            errors={"status": [_("not allowed from the policy's current status")]})
    context = {"rule": rule}
    if actor is not None and actor.is_authenticated:
        context.update(user=actor.pk, username=actor.get_username())
    with audit_context(**context):
        fields = {"status": status, "lapse_date": effective_date if status == PolicyStatus.LAPSED else None}
        if status != PolicyStatus.LAPSED and policy.status != PolicyStatus.LAPSED:
            fields.pop("lapse_date")
        changed = [k for k, v in fields.items() if getattr(policy, k) != v]
        for k in changed:
            setattr(policy, k, fields[k])
        if changed:
            policy.save(update_fields=[*changed, "updated_at"])
        return PolicyStatusChange.objects.create(
            policy=policy, status=status, effective_date=effective_date, source=source, rule=rule, reason=reason
        )


@transaction.atomic
def policy_status_change_void(*, change: PolicyStatusChange, actor, reason: str) -> PolicyStatusChange:
    """Void a status change (a lapse reversed by money valued inside grace): it stays in the
    history and the trail, marked with who voided it and why, and no longer answers any date.
    The policy's current status becomes the latest remaining one."""
    if not reason:
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    change = PolicyStatusChange.objects.select_for_update().get(pk=change.pk)
    if change.voided_at is not None:
        raise ApplicationError(_("this status change is already void"))
    context = {"reason": reason}
    if actor is not None and actor.is_authenticated:
        context.update(user=actor.pk, username=actor.get_username())
    with audit_context(**context):
        change.voided_at = timezone.now()
        change.voided_by = actor if actor is not None and actor.is_authenticated else None
        change.void_reason = reason
        change.save(update_fields=["voided_at", "voided_by", "void_reason"])
        policy = Policy.objects.select_for_update().get(pk=change.policy_id)
        latest = (PolicyStatusChange.objects.filter(policy=policy, voided_at__isnull=True)
                  .order_by("-effective_date", "-id").first())
        status = latest.status if latest else PolicyStatus.IN_FORCE
        lapse_date = latest.effective_date if latest and status == PolicyStatus.LAPSED else None
        if (policy.status, policy.lapse_date) != (status, lapse_date):
            policy.status, policy.lapse_date = status, lapse_date
            policy.save(update_fields=["status", "lapse_date", "updated_at"])
    return change
