"""Allocation (核销): money assigned to a policy applied to its installments.

DESIGN.md section 3: the oldest open installment first; money in value-date order, then import
order; allocations are never replayed; partial money stays allocated as partial; what is beyond
what is due stays on the policy as credit (applied when the next installment appears, keeping its
value date) or goes back to suspense for refund when the policy has nothing left due; every
allocation can be reversed, which reopens the installment.

Over-payment (issue 9): money pays what falls due before its value date + 12 months (the
installments due then, and those the schedule will materialise by then, as credit); what is
beyond goes back to suspense for a refund, with the reason overpayment_beyond_12_months, or
overpayment_nothing_due when the policy has nothing left due at all. "12 months" is the year
from the value date, its last day excluded: a monthly policy pays at most 12 installments ahead.

Concurrency: the policy row is locked (SELECT ... FOR UPDATE) while its money moves, and the
installment's CHECK (amount_paid <= amount_due) refuses any over-allocation that slipped past.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.models import Allocation, Assignment, Charge, Installment, Payment
from billing.services.schedules import schedule_last_sequence, schedule_step_months
from core.dates import add_months
from core.errors import ApplicationError
from core.events import ALLOCATION_REVERSED, MONEY_ALLOCATED, event_publish
from policies.lifecycle import PAYING
from policies.models import Policy

ZERO = Decimal("0.00")
# money pays at most what falls due before its value date + this many months
OVERPAYMENT_COVER_MONTHS = 12


def paid_tolerance() -> Decimal:
    return Decimal(str(getattr(settings, "BILLING_PAID_TOLERANCE", "0.00")))


def _open_status(installment: Installment, as_of: dt.date) -> str:
    if installment.amount_paid > 0:
        return Installment.Status.PARTIALLY_PAID
    if installment.due_date > as_of:
        return Installment.Status.SCHEDULED
    if installment.due_date == as_of:
        return Installment.Status.DUE
    return Installment.Status.OVERDUE


def assignments_with_credit(*, policy_id: int):
    """Confirmed assignments of the policy with money not yet allocated, oldest money first."""
    allocated = Coalesce(Sum("allocations__amount", filter=Q(allocations__reversed_at__isnull=True)),
                         Value(ZERO), output_field=DecimalField())
    return (
        Assignment.objects.filter(policy_id=policy_id, status=Assignment.Status.CONFIRMED)
        .select_related("payment")
        .annotate(allocated=allocated)
        .annotate(remaining=F("amount") - F("allocated"))
        .filter(remaining__gt=0)
        .order_by("payment__value_date", "payment_id", "id")
    )


def policy_credit(*, policy_id: int) -> Decimal:
    return sum((a.remaining for a in assignments_with_credit(policy_id=policy_id)), ZERO)


def _targets(policy_id: int) -> list:
    """What the policy owes, in the order money pays it: installments oldest first; a charge (the
    interest of a reinstatement) after the installments due on or before its date."""
    installments = Installment.objects.filter(policy_id=policy_id, status__in=Installment.OPEN_STATUSES)
    charges = Charge.objects.filter(policy_id=policy_id, cancelled=False, amount_paid__lt=F("amount"))
    targets: list[tuple[tuple[dt.date, int, int], Installment | Charge]] = [
        ((i.due_date, 0, i.sequence), i) for i in installments]
    targets += [((c.due_date, 1, c.pk), c) for c in charges]
    return [target for _key, target in sorted(targets, key=lambda pair: pair[0])]


def _apply(target, *, assignment: Assignment, take: Decimal, tolerance: Decimal) -> tuple[Allocation, bool]:
    """Book `take` on an installment or a charge; returns (allocation, whether it is now paid)."""
    value_date = assignment.payment.value_date
    if isinstance(target, Charge):
        allocation = Allocation.objects.create(assignment=assignment, charge=target, amount=take, value_date=value_date)
        target.amount_paid += take
        target.save(update_fields=["amount_paid"])
        return allocation, target.amount_paid >= target.amount
    # the installment first, as the bulk paths do: at the top level of a transaction the
    # allocation's reference check then finds a version that transaction wrote and locks nothing
    # (core.references; in a savepoint, as here under payment_match, it locks as before)
    target.amount_paid += take
    paid = target.amount_due - target.amount_paid <= tolerance
    if paid:
        target.status = Installment.Status.PAID
        target.paid_value_date = value_date
    else:
        target.status = Installment.Status.PARTIALLY_PAID
    target.save(update_fields=["amount_paid", "status", "paid_value_date", "updated_at"])
    allocation = Allocation.objects.create(assignment=assignment, installment=target, amount=take,
                                           value_date=value_date)
    return allocation, paid


def _owed(target) -> Decimal:
    if isinstance(target, Charge):
        return target.amount - target.amount_paid
    return target.amount_due - target.amount_paid


def overpayment_horizon(value_date: dt.date) -> dt.date:
    """The first due date that money valued on `value_date` no longer pays."""
    return add_months(value_date, OVERPAYMENT_COVER_MONTHS)


def _due(target) -> dt.date:
    return target.due_date


@transaction.atomic
def policy_allocate(*, policy_id: int, as_of: dt.date) -> list[Allocation]:
    """Apply the policy's credit to what it owes. Idempotent: with no credit or nothing owed it
    does nothing."""
    policy = Policy.objects.select_for_update().get(pk=policy_id)
    tolerance = paid_tolerance()
    # a policy whose effect has ended (terminated, surrendered...) owes nothing: its money goes to
    # suspense for a refund, not to the installments it left open
    targets = _targets(policy_id) if policy.status in PAYING else []
    made: list[Allocation] = []
    held = ZERO  # credit kept by older money for installments the schedule has not materialised yet
    for assignment in assignments_with_credit(policy_id=policy_id):
        remaining = assignment.remaining
        horizon = overpayment_horizon(assignment.payment.value_date)
        while remaining > 0 and targets and _due(targets[0]) < horizon:
            take = min(_owed(targets[0]), remaining)
            allocation, paid = _apply(targets[0], assignment=assignment, take=take, tolerance=tolerance)
            made.append(allocation)
            remaining -= take
            if paid:
                targets.pop(0)
        if remaining <= 0:
            continue
        if not targets and _nothing_left_due(policy):
            _return_to_suspense(assignment, remaining, code=Payment.ReasonCode.OVERPAYMENT_NOTHING_DUE,
                                params={})
            continue
        # what falls due before the horizon but is not materialised yet stays on the policy as credit
        room = ZERO if targets else max(_unmaterialised_due_before(policy, horizon) - held, ZERO)
        keep = min(remaining, room)
        held += keep
        if remaining > keep:
            _return_to_suspense(assignment, remaining - keep, code=Payment.ReasonCode.OVERPAYMENT_BEYOND_12_MONTHS,
                                params={"until": (horizon - dt.timedelta(days=1)).isoformat()})
    if made:
        # in this transaction: a lapse that this money makes void is reversed with it (renewals)
        event_publish(MONEY_ALLOCATED, as_of=as_of, policy_ids=[policy_id],
                      installment_ids=[a.installment_id for a in made if a.installment_id is not None],
                      payment_ids={a.assignment.payment_id for a in made}, source="allocation")
    return made


def _nothing_left_due(policy: Policy) -> bool:
    """No open installment now and none to come: the premium term has run out or the policy no
    longer pays premiums."""
    if policy.status not in PAYING:
        return True
    return Installment.objects.filter(policy=policy, sequence=schedule_last_sequence(policy),
                                      status__in=[Installment.Status.PAID, Installment.Status.WAIVED]).exists()


def _schedule_due_date(policy: Policy, sequence: int) -> dt.date:
    """Installment `sequence`'s due date, as billing.services.schedules computes it: from the
    issue date each time, under the policy's anchor."""
    months = policy.schedule_anchor_months + (sequence - policy.schedule_anchor_sequence) * schedule_step_months(
        policy.frequency)
    return add_months(policy.issue_date, months)


def _unmaterialised_due_before(policy: Policy, horizon: dt.date) -> Decimal:
    """The premiums of the installments the schedule will add that fall due before `horizon`
    (the schedule is kept 13 months ahead of the business date, so usually none)."""
    last = Installment.objects.filter(policy=policy).order_by("-sequence").values_list("sequence", flat=True).first()
    sequence = max(last + 1 if last is not None else 1, policy.schedule_anchor_sequence)
    if last is None:  # no schedule yet: it will start at the paid-to date
        while _schedule_due_date(policy, sequence) < policy.paid_to_date:
            sequence += 1
    total, final = ZERO, schedule_last_sequence(policy)
    while sequence <= final and _schedule_due_date(policy, sequence) < horizon:
        total += policy.modal_premium
        sequence += 1
    return total


def _return_to_suspense(assignment: Assignment, excess: Decimal, *, code: str, params: dict) -> None:
    """Over-payment: the excess leaves the policy and waits in suspense for a refund (DESIGN.md
    section 3, Allocation), with its reason. An assignment returned whole is reversed (an
    assignment's amount is never zero)."""
    if excess >= assignment.amount:
        assignment.status = Assignment.Status.REVERSED
        assignment.save(update_fields=["status"])
    else:
        assignment.amount -= excess
        assignment.save(update_fields=["amount"])
    payment = assignment.payment
    payment.status = Payment.Status.SUSPENSE
    payment.reason_code = code
    payment.reason_params = {"excess": f"{excess:.2f}", "policy_no": assignment.policy.policy_no, **params}
    payment.save(update_fields=["status", "reason_code", "reason_params"])


@transaction.atomic
def allocation_reverse(*, allocation: Allocation, reason: str, as_of: dt.date) -> Allocation:
    """Reverse one allocation (a returned debit, a bank reversal): the installment reopens."""
    allocation = _allocation_reverse(allocation=allocation, reason=reason, as_of=as_of)
    _publish_reversed([allocation], as_of=as_of)
    return allocation


def _publish_reversed(allocations: list[Allocation], *, as_of: dt.date) -> None:
    event_publish(ALLOCATION_REVERSED, as_of=as_of, policy_ids={a.assignment.policy_id for a in allocations},
                  installment_ids=[a.installment_id for a in allocations if a.installment_id is not None],
                  payment_ids={a.assignment.payment_id for a in allocations}, source="reversal")


def _allocation_reverse(*, allocation: Allocation, reason: str, as_of: dt.date) -> Allocation:
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.reversed_at is not None:
        raise ApplicationError(_("this allocation is already reversed"))
    Policy.objects.select_for_update().get(pk=allocation.assignment.policy_id)
    allocation.reversed_at = timezone.now()
    allocation.reversal_reason = reason
    allocation.save(update_fields=["reversed_at", "reversal_reason"])
    if allocation.charge_id is not None:
        charge = Charge.objects.select_for_update().get(pk=allocation.charge_id)
        charge.amount_paid -= allocation.amount
        charge.save(update_fields=["amount_paid"])
        return allocation
    if allocation.installment_id is None:  # never: a check constraint wants an installment or a charge
        raise ValueError(f"allocation {allocation.pk} pays nothing")
    installment = Installment.objects.select_for_update().get(pk=allocation.installment_id)
    installment.amount_paid -= allocation.amount
    installment.paid_value_date = None
    installment.status = _open_status(installment, as_of)
    installment.save(update_fields=["amount_paid", "status", "paid_value_date", "updated_at"])
    return allocation


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, as_of: dt.date) -> int:
    """Reverse everything a payment paid: its allocations, then its assignments."""
    reversed_ = [_allocation_reverse(allocation=allocation, reason=reason, as_of=as_of)
                 for allocation in Allocation.objects.filter(assignment__payment=payment, reversed_at__isnull=True)]
    Assignment.objects.filter(payment=payment).exclude(status=Assignment.Status.REVERSED).update(
        status=Assignment.Status.REVERSED)
    if reversed_:
        _publish_reversed(reversed_, as_of=as_of)
    return len(reversed_)
