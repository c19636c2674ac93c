"""What waits for a second person, within the reader's branches: servicing and reinstatement
applications for a team lead's approval, holds and moratoria asked for, and the reinstatements
referred to underwriting. The lists are paged by the views; these are their querysets, oldest
first (the first asked is the first decided)."""

from django.db.models import QuerySet

from policies.selectors import policy_list
from renewals.models import Application, ApprovalStatus, Hold, Moratorium
from renewals.selectors_suspensions import moratorium_list

AWAITING_APPROVAL = (Application.Status.SUBMITTED, Application.Status.ACCEPTED)


def approvals_queue(*, user) -> QuerySet[Application]:
    return (Application.objects.filter(status__in=AWAITING_APPROVAL, policy__in=policy_list(user=user))
            .select_related("policy__holder", "created_by", "decided_by").order_by("created_at", "pk"))


def holds_awaiting(*, user) -> QuerySet[Hold]:
    return (Hold.objects.filter(status=ApprovalStatus.REQUESTED, policy__in=policy_list(user=user))
            .select_related("policy", "requested_by").order_by("created_at", "pk"))


def moratoria_awaiting(*, user) -> QuerySet[Moratorium]:
    return moratorium_list(user=user).filter(status=ApprovalStatus.REQUESTED).order_by("start", "pk")


def underwriting_referred(*, user) -> QuerySet[Application]:
    """Reinstatements whose health declaration has a yes answer, referred to underwriting."""
    return (Application.objects.filter(status=Application.Status.REFERRED, policy__in=policy_list(user=user))
            .select_related("policy__holder", "created_by").order_by("created_at", "pk"))
