from django.db import transaction
from django.utils.translation import gettext as _

from accounts.roles import perm
from audit.services import audit_context
from core.errors import ApplicationError
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
