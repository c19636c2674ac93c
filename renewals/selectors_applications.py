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


def moratoria_awaiting(*, user, limit: int) -> list[Moratorium]:
    """The oldest `limit` moratoria asked for that the user may decide: every branch one matches
    is in their branches (renewals.services.holds.moratorium_decidable_by); those that name no
    branch and match others are the head office's."""
    from renewals.services.holds import moratorium_decidable_by

    asked = moratorium_list(user=user).filter(status=ApprovalStatus.REQUESTED).order_by("start", "pk")
    return [m for m in asked[:limit * 4] if moratorium_decidable_by(actor=user, moratorium=m)][:limit]


def underwriting_referred(*, user) -> QuerySet[Application]:
    """Reinstatements whose health declaration has a yes answer, referred to underwriting."""
    return (Application.objects.filter(status=Application.Status.REFERRED, policy__in=policy_list(user=user))
            .select_related("policy__holder", "created_by").order_by("created_at", "pk"))
