"""Money lines and their assignment to policies."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from billing.models import Assignment, Payment
from core.copy import id_array
from core.errors import ApplicationError
from policies.models import Policy

ZERO = Decimal("0.00")


def policies_lock(policy_ids: Iterable[int]) -> None:
    """Lock the policies FOR UPDATE in id order, as every writer of assignments does before it
    writes one (Assignment.policy: the statement's reference check then finds this lock; in id
    order, two writers of the same policies never wait for each other the other way round)."""
    ids = sorted(set(policy_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM policies_policy WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                           [id_array(ids)])


def payment_unassigned(*, payment: Payment) -> Decimal:
    """What of a payment is not (or not yet) assigned to any policy: its suspense amount."""
    assigned = (payment.assignments.exclude(status__in=[Assignment.Status.REJECTED, Assignment.Status.REVERSED])
                .aggregate(total=Sum("amount"))["total"]) or ZERO
    return payment.amount - assigned


@transaction.atomic
def payment_assign(
    *, payment: Payment, policy: Policy, amount: Decimal, rule: str, actor=None,
    status: str = Assignment.Status.CONFIRMED,
) -> Assignment:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.direction != Payment.Direction.CREDIT or payment.reversal:
        raise ApplicationError(_("only money received can be assigned to a policy"))
    if amount <= 0:
        raise ApplicationError(_("the amount must be positive"), errors={"amount": [_("must be positive")]})
    free = payment_unassigned(payment=payment)
    if amount > free:
        raise ApplicationError(_("only %(free)s of this payment is unassigned") % {"free": free},
                               errors={"amount": [_("at most %(free)s") % {"free": free}]})
    policies_lock([policy.pk])
    assignment = Assignment.objects.create(
        payment=payment, policy=policy, amount=amount, status=status, rule=rule,
        matched_by=actor if actor is not None and actor.is_authenticated else None,
    )
    payment_status_refresh(payment=payment)
    return assignment


def payment_status_refresh(*, payment: Payment) -> None:
    statuses = set(payment.assignments.values_list("status", flat=True))
    if payment_unassigned(payment=payment) == 0 and statuses <= {Assignment.Status.CONFIRMED,
                                                                 Assignment.Status.REJECTED}:
        status = Payment.Status.MATCHED
    elif statuses & {Assignment.Status.PROPOSED, Assignment.Status.PENDING_APPROVAL}:
        status = Payment.Status.PROPOSED
    elif Assignment.Status.CONFIRMED in statuses:
        status = Payment.Status.MATCHED  # partly matched: the rest stays in suspense (unassigned)
    else:
        status = Payment.Status.SUSPENSE
    if payment.status != status:
        payment.status = status
        payment.save(update_fields=["status"])


@transaction.atomic
def payment_create(
    *, source: str, account_no: str, identity: str, value_date: dt.date, amount: Decimal, direction: str = "credit",
    currency: str = "CNY", payer_name: str = "", payer_account: str = "", reference: str = "", remittance: str = "",
    line_no: int = 0, statement_import=None, booking_date: dt.date | None = None, reversal: bool = False,
) -> tuple[Payment, bool]:
    """Record one money line once: (account_no, identity) is unique. Returns (payment, created)."""
    payment, created = Payment.objects.get_or_create(
        account_no=account_no, identity=identity,
        defaults=dict(source=source, value_date=value_date, amount=amount, direction=direction, currency=currency,
                      payer_name=payer_name[:128], payer_account=payer_account[:64], reference=reference[:128],
                      remittance=remittance, line_no=line_no, statement_import=statement_import,
                      booking_date=booking_date, reversal=reversal,
                      status=Payment.Status.SUSPENSE if direction == "credit" and not reversal
                      else Payment.Status.IGNORED),
    )
    return payment, created
