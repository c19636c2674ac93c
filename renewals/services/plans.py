from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from core.errors import ApplicationError
from policies.models import Policy
from renewals.models import CollectionPlan, PolicyPlan


@transaction.atomic
def policy_plan_set(*, policy, plan: CollectionPlan | None, actor) -> PolicyPlan | None:
    """A clerk with the right overrides a policy's collection plan (None: back to the product's
    plan or the default). Recorded in the trail."""
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot change a policy's plan"), status=403)
    with audit_context(user=actor.pk, username=actor.get_username(), reason="collection plan override"):
        if plan is None:
            PolicyPlan.objects.filter(policy=policy).delete()
            return None
        if not plan.active:
            raise ApplicationError(_("this plan is not active"))
        override, _created = PolicyPlan.objects.update_or_create(policy=policy, defaults={"plan": plan,
                                                                                          "set_by": actor})
        return override


def policy_plan_effective(*, policy) -> CollectionPlan | None:
    """The plan that applies: the policy's own, else its product's, else the default."""
    override = PolicyPlan.objects.filter(policy=policy).select_related("plan").first()
    if override is not None:
        return override.plan
    return (CollectionPlan.objects.filter(active=True, products=policy.product_id).order_by("id").first()
            or CollectionPlan.objects.filter(active=True, is_default=True).first())


@transaction.atomic
def policy_overdue_reason_set(*, policy, reason: str, actor, on) -> None:
    """A clerk records why the policy is overdue (empty: clears it), on a business date. Plan
    steps conditioned on overdue reasons count it while the oldest unpaid installment is due on or
    before that date (a reason recorded for an earlier overdue spell does not carry over)."""
    if not actor.has_perm(perm("work_cases")):
        raise ApplicationError(_("your role cannot record an overdue reason"), status=403)
    if reason and reason not in Policy.OverdueReason.values:
        raise ApplicationError(_("unknown overdue reason"), errors={"overdue_reason": [_("unknown overdue reason")]})
    with audit_context(user=actor.pk, username=actor.get_username(), reason="overdue reason recorded"):
        Policy.objects.filter(pk=policy.pk).update(overdue_reason=reason, overdue_reason_on=on if reason else None,
                                                     updated_at=timezone.now())


@transaction.atomic
def policy_segment_set(*, policy, segment: str, actor) -> None:
    """A team lead sets the policy's segment (plan steps can be conditioned on it)."""
    if not actor.has_perm(perm("assign_cases")):
        raise ApplicationError(_("your role cannot change a policy's segment"), status=403)
    if segment not in Policy.Segment.values:
        raise ApplicationError(_("unknown segment"), errors={"segment": [_("unknown segment")]})
    with audit_context(user=actor.pk, username=actor.get_username(), reason="segment changed"):
        Policy.objects.filter(pk=policy.pk).update(segment=segment, updated_at=timezone.now())


def policy_collection_profile_set(*, policy, actor, on, overdue_reason: str | None = None,
                                  segment: str | None = None) -> None:
    """The policy page's form: what is given and differs is changed (None: left as it is)."""
    if overdue_reason is not None and overdue_reason != policy.overdue_reason:
        policy_overdue_reason_set(policy=policy, reason=overdue_reason, actor=actor, on=on)
    if segment is not None and segment != policy.segment:
        policy_segment_set(policy=policy, segment=segment, actor=actor)
