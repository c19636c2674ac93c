"""Reads of the collection plans for the clerks' read-only page (renewals/views_plans.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet

from accounts.roles import perm
from renewals.models import CollectionPlan, PlanStep

# who may read the plans: those who work the cases they produce, and those who configure them
PLAN_READERS = ("work_cases", "configure_system")


def plans_readable_by(user) -> bool:
    return any(user.has_perm(perm(capability)) for capability in PLAN_READERS)


def collection_plans_active(*, user) -> QuerySet[CollectionPlan]:
    """The active plans (the default first, then by name) with their active steps in the order
    they run (anchor, offset) and their products. Plans are department-wide: no branch scope."""
    if not plans_readable_by(user):
        raise PermissionDenied("may not read the collection plans")
    steps = PlanStep.objects.filter(active=True).order_by("anchor", "offset_days", "id")
    return (CollectionPlan.objects.filter(active=True).order_by("-is_default", "name")
            .prefetch_related(Prefetch("steps", queryset=steps), "products"))
