from accounts.roles import perm
from core.dates import business_today
from core.errors import ApplicationError
from policies.models import Policy
from renewals.forms_applications import HoldForm, ReinstatementForm, ServicingForm
from renewals.models import Application, CollectionPlan, PolicyPlan
from renewals.services.plans import policy_plan_effective
from renewals.services.reinstatement import reinstatement_quote


def applications_panel(request, policy):
    applications = list(Application.objects.filter(policy=policy).select_related("created_by", "decided_by",
                                                                                 "approved_by").order_by("-id"))
    quote = None
    if policy.status == "lapsed":
        try:
            quote = reinstatement_quote(policy=policy, on=business_today())
        except ApplicationError:
            quote = None
    holds = list(policy.holds.select_related("requested_by", "approved_by").order_by("-start"))
    can_work = request.user.has_perm(perm("work_cases"))
    if not applications and quote is None and not holds and not can_work:
        return None
    can_apply = (request.user.has_perm(perm("work_cases")) and quote is not None
                 and not any(a.status in ("submitted", "referred", "accepted", "approved") for a in applications))
    plan = policy_plan_effective(policy=policy)
    plans = list(CollectionPlan.objects.filter(active=True).order_by("name")) if can_work else []
    return {"plan": plan, "plans": plans, "can_work": can_work,
            "can_set_segment": request.user.has_perm(perm("assign_cases")),
            "overdue_reasons": Policy.OverdueReason.choices, "segments": Policy.Segment.choices,
            "plan_overridden": PolicyPlan.objects.filter(policy=policy).exists(),
            "applications": applications, "quote": quote, "form": ReinstatementForm() if can_apply else None,
            "policy": policy, "holds": holds,
            "hold_form": HoldForm() if can_work and policy.status in ("in_force", "deferred") else None,
            "servicing_form": ServicingForm() if can_work and policy.status == "in_force" else None}
