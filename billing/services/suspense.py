"""Finance's work on the suspense list: manual matches (with a second person's approval above a
threshold: maker-checker), confirming or rejecting proposals, refunds and keeping money, and a
one-off re-match of the open lines under the current rules (a preview, then a confirmation)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from audit.services import audit_context, operation_record
from billing.models import Assignment, MatchingRule, Payment
from billing.selectors import payment_scope_check
from billing.services.allocations import policy_allocate
from billing.services.matching import MatchOutcome, payment_match, payment_match_decide
from billing.services.payments import payment_assign, payment_status_refresh, payment_unassigned
from core.dates import business_today
from core.errors import ApplicationError
from core.events import PAYMENT_REFUNDED, event_publish
from policies.models import Policy
from policies.selectors import policy_scope_check, user_is_head_office


def approval_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "BILLING_MANUAL_MATCH_APPROVAL_THRESHOLD", "5000.00")))


@transaction.atomic
def payment_match_manual(*, payment: Payment, policy: Policy, amount: Decimal, actor, as_of: dt.date) -> Assignment:
    """A person assigns (part of) a suspense line to a policy. Above the threshold it waits for a
    second finance user's approval; otherwise it is booked and allocated at once."""
    if payment.status not in (Payment.Status.SUSPENSE, Payment.Status.PROPOSED, Payment.Status.KEPT,
                              Payment.Status.MATCHED):
        raise ApplicationError(_("this payment is not open for matching"))
    policy_scope_check(user=actor, policy=policy)
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
    policy_scope_check(user=actor, policy=assignment.policy)
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
    # the status first: allocation may send an over-payment's excess back to suspense
    payment_status_refresh(payment=assignment.payment)
    policy_allocate(policy_id=assignment.policy_id, as_of=as_of)
    return assignment


@transaction.atomic
def assignment_reject(*, assignment: Assignment, actor, reason: str = "") -> Assignment:
    """A person rejects a proposal or a pending manual match: the money is back in suspense with
    the reason manual_reject (and the policy), and what the person typed, if anything."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    policy_scope_check(user=actor, policy=assignment.policy)
    if assignment.status not in (Assignment.Status.PENDING_APPROVAL, Assignment.Status.PROPOSED):
        raise ApplicationError(_("only a proposed or pending match can be rejected"))
    assignment.status = Assignment.Status.REJECTED
    assignment.approved_by = actor
    assignment.save(update_fields=["status", "approved_by"])
    payment = assignment.payment
    payment.reason_code = Payment.ReasonCode.MANUAL_REJECT
    payment.reason_params = {"policy_no": assignment.policy.policy_no}
    payment.status_reason = reason[:256]
    payment.save(update_fields=["reason_code", "reason_params", "status_reason"])
    payment_status_refresh(payment=payment)
    return assignment


@transaction.atomic
def payment_refund(*, payment: Payment, actor, reason: str, as_of: dt.date | None = None,
                   destination_account: str = "") -> Payment:
    """Money that is not ours to keep: a line that matches no policy, or what an over-payment
    sent back to suspense (the unassigned rest of a payment whose other part is allocated).
    It goes back to the account that paid unless finance names another (destination_account),
    which is recorded: risk flags a refund to an account other than the payer's."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    payment_scope_check(user=actor, payment=payment)
    if not reason:
        raise ApplicationError(_("a reason is required"), errors={"reason": [_("required")]})
    waiting = payment.assignments.filter(status__in=[Assignment.Status.PROPOSED,
                                                      Assignment.Status.PENDING_APPROVAL]).exists()
    if waiting or payment_unassigned(payment=payment) <= 0:
        raise ApplicationError(_("part of this payment is assigned to a policy; reverse that first"))
    payment.status = Payment.Status.REFUNDED
    payment.status_reason = reason[:256]
    payment.refund_account = (destination_account.strip() or payment.payer_account)[:64]
    # the business date of the refund: the caller's (the simulation runs past dates), else today's
    payment.refunded_on = as_of or business_today()
    payment.save(update_fields=["status", "status_reason", "refund_account", "refunded_on"])
    event_publish(PAYMENT_REFUNDED, as_of=payment.refunded_on, payment_ids=[payment.pk], source="refund")
    return payment


@transaction.atomic
def payment_keep(*, payment: Payment, actor, reason: str) -> Payment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    payment_scope_check(user=actor, payment=payment)
    if payment.status not in (Payment.Status.SUSPENSE, Payment.Status.PROPOSED):
        raise ApplicationError(_("only a line in suspense can be kept"))
    payment.status = Payment.Status.KEPT
    payment.status_reason = reason[:256]
    payment.save(update_fields=["status", "status_reason"])
    return payment


# -- the one-off re-match of suspense lines under the current rules ----------------------------

# the oldest open lines a preview looks at (each costs a few queries per rule)
REMATCH_SCAN_LIMIT = 1000


@dataclass
class RematchCandidate:
    payment: Payment
    outcome: MatchOutcome


def rematch_access_check(*, actor) -> None:
    """The re-match books suspense money of the whole company by the rules: the head office's."""
    if actor is not None and getattr(actor, "is_authenticated", False) and not user_is_head_office(user=actor):
        raise ApplicationError(_("the re-match of the whole suspense list is handled by the head office"), status=403)


def suspense_rematch_open_lines() -> QuerySet[Payment]:
    """Suspense lines no person or rule holds money of: received, nothing assigned."""
    live = [Assignment.Status.CONFIRMED, Assignment.Status.PROPOSED, Assignment.Status.PENDING_APPROVAL]
    return (Payment.objects.filter(status=Payment.Status.SUSPENSE, direction=Payment.Direction.CREDIT,
                                   reversal=False)
            .exclude(assignments__status__in=live).order_by("value_date", "id"))


def suspense_rematch_preview(*, limit: int = REMATCH_SCAN_LIMIT) -> tuple[list[RematchCandidate], int]:
    """Which open suspense lines the active rules would now book or propose (the oldest `limit`
    lines are looked at), and how many open lines there are. Reads only: a preview never writes."""
    rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    lines = suspense_rematch_open_lines()
    found = []
    for payment in lines[:limit]:
        outcome = payment_match_decide(payment=payment, rules=rules)
        if outcome.status in ("matched", "proposed"):
            found.append(RematchCandidate(payment=payment, outcome=outcome))
    return found, lines.count()


def suspense_rematch(*, payment_ids: list[int], actor, as_of: dt.date) -> dict:
    """Match again, through the real matcher, the lines finance confirmed from the preview: each
    in its own transaction (a failure on one leaves the others), with the trail's context. A line
    no longer open (matched or refunded meanwhile) is skipped; the rules decide again."""
    rematch_access_check(actor=actor)
    job = f"suspense_rematch:{as_of.isoformat()}"
    counts = {"matched": 0, "proposed": 0, "suspense": 0, "skipped": 0}
    rules = list(MatchingRule.objects.filter(active=True).order_by("position", "id"))
    with audit_context(user=actor.pk, username=actor.get_username(), job=job):
        for payment_id in sorted(set(payment_ids)):
            with transaction.atomic():
                payment = (suspense_rematch_open_lines().select_for_update(of=("self",))
                           .filter(pk=payment_id).first())
                if payment is None:
                    counts["skipped"] += 1
                    continue
                outcome = payment_match(payment=payment, as_of=as_of, rules=rules)
                counts[outcome.status if outcome.status in counts else "suspense"] += 1
    operation_record(action="suspense_rematch", actor=actor, job=job, object_type="payments",
                     object_ref=f"{len(payment_ids)} lines", details=counts)
    return counts
