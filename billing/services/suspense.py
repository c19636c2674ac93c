"""Finance's work on the suspense list: manual matches (with a second person's approval above a
threshold: maker-checker), confirming or rejecting proposals, refunds and keeping money."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Assignment, Payment
from billing.services.allocations import policy_allocate
from billing.services.payments import payment_assign, payment_status_refresh, payment_unassigned
from core.errors import ApplicationError
from core.events import PAYMENT_REFUNDED, event_publish
from policies.models import Policy


def approval_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD", "5000.00")))


@transaction.atomic
def payment_match_manual(*, payment: Payment, policy: Policy, amount: Decimal, actor, as_of: dt.date) -> Assignment:
    """A person assigns (part of) a suspense line to a policy. Above the threshold it waits for a
    second finance user's approval; otherwise it is booked and allocated at once."""
    if payment.status not in (Payment.Status.SUSPENSE, Payment.Status.PROPOSED, Payment.Status.KEPT,
                              Payment.Status.MATCHED):
        raise ApplicationError(_("this payment is not open for matching"))
    needs_approval = amount > approval_threshold()
    status = Assignment.Status.PENDING_APPROVAL if needs_approval else Assignment.Status.CONFIRMED
    assignment = payment_assign(payment=payment, policy=policy, amount=amount, rule="manual", actor=actor,
                                status=status)
    if not needs_approval:
        policy_allocate(policy_id=policy.pk, as_of=as_of)
    return assignment


@transaction.atomic
def assignment_approve(*, assignment: Assignment, actor, as_of: dt.date) -> Assignment:
    """Confirm a pending manual match or a rule's proposal. The person who made a manual match
    never approves it."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status not in (Assignment.Status.PENDING_APPROVAL, Assignment.Status.PROPOSED):
        raise ApplicationError(_("there is nothing to approve on this match"))
    if assignment.status == Assignment.Status.PENDING_APPROVAL and assignment.matched_by_id == actor.pk:
        raise ApplicationError(_("the person who made a match cannot approve it (maker-checker)"))
    if assignment.status == Assignment.Status.PROPOSED and assignment.amount > approval_threshold():
        # a proposal above the threshold: the confirming person is the maker; a second one approves
        assignment.status = Assignment.Status.PENDING_APPROVAL
        assignment.matched_by = actor
        assignment.save(update_fields=["status", "matched_by"])
        payment_status_refresh(payment=assignment.payment)
        return assignment
    assignment.status = Assignment.Status.CONFIRMED
    assignment.approved_by = actor
    assignment.save(update_fields=["status", "approved_by"])
    policy_allocate(policy_id=assignment.policy_id, as_of=as_of)
    payment_status_refresh(payment=assignment.payment)
    return assignment


@transaction.atomic
def assignment_reject(*, assignment: Assignment, actor, reason: str) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status not in (Assignment.Status.PENDING_APPROVAL, Assignment.Status.PROPOSED):
        raise ApplicationError(_("only a proposed or pending match can be rejected"))
    assignment.status = Assignment.Status.REJECTED
    assignment.approved_by = actor
    assignment.save(update_fields=["status", "approved_by"])
    payment = assignment.payment
    payment.status_reason = reason[:256]
    payment.save(update_fields=["status_reason"])
    payment_status_refresh(payment=payment)
    return assignment


@transaction.atomic
def payment_refund(*, payment: Payment, actor, reason: str) -> Payment:
    """Money that is not ours to keep (no policy, or over-payment with nothing left due)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if not reason:
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    if payment_unassigned(payment=payment) != payment.amount:
        raise ApplicationError(_("part of this payment is assigned to a policy; reverse that first"))
    payment.status = Payment.Status.REFUNDED
    payment.status_reason = reason[:256]
    payment.save(update_fields=["status", "status_reason"])
    event_publish(PAYMENT_REFUNDED, as_of=timezone.localdate(), payment_ids=[payment.pk], source="refund")
    return payment


@transaction.atomic
def payment_keep(*, payment: Payment, actor, reason: str) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in (Payment.Status.SUSPENSE, Payment.Status.PROPOSED):
        raise ApplicationError(_("only a line in suspense can be kept"))
    payment.status = Payment.Status.KEPT
    payment.status_reason = reason[:256]
    payment.save(update_fields=["status", "status_reason"])
    return payment
