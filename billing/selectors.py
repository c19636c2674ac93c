from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from billing.models import Allocation, Assignment, Charge, Installment, Payment, StatementImport
from billing.services.allocations import policy_credit
from policies.models import Policy
from policies.selectors import policy_in_scope, policy_list, scope_denied, user_is_head_office


def installment_list(*, policy: Policy) -> QuerySet[Installment]:
    return Installment.objects.filter(policy=policy).order_by("sequence")


def policy_money_summary(*, policy: Policy) -> dict:
    installments = list(installment_list(policy=policy))
    open_ = [i for i in installments if i.status in Installment.OPEN_STATUSES]
    return {
        "installments": installments,
        "outstanding": sum((i.amount_due - i.amount_paid for i in open_ if i.status != "scheduled"), Decimal("0.00")),
        "credit": policy_credit(policy_id=policy.pk),
        "assignments": (Assignment.objects.filter(policy=policy).select_related("payment", "matched_by", "approved_by")
                        .order_by("-payment__value_date", "-id")[:50]),
        "charges": list(Charge.objects.filter(policy=policy, cancelled=False).order_by("due_date", "id")),
        "allocations": (Allocation.objects.filter(assignment__policy=policy)
                        .select_related("installment", "charge", "assignment__payment").order_by("-created_at")[:50]),
    }


def suspense_list(*, statuses=(Payment.Status.SUSPENSE, Payment.Status.PROPOSED)) -> QuerySet[Payment]:
    return (Payment.objects.filter(status__in=statuses, direction=Payment.Direction.CREDIT)
            .order_by("value_date", "id"))


def payment_scope_check(*, user, payment: Payment) -> None:
    """Money reached by id: a line whose money went to policies all outside the user's branches
    answers 404 (like one that does not exist). Money not yet assigned to any policy (suspense)
    is every finance user's to match, into their own branches only (the manual match checks)."""
    if user is None or not getattr(user, "is_authenticated", False) or user_is_head_office(user=user):
        return
    policies = Policy.objects.filter(
        assignments__payment=payment,
        assignments__status__in=[Assignment.Status.CONFIRMED, Assignment.Status.PROPOSED,
                                 Assignment.Status.PENDING_APPROVAL]).distinct()
    if policies.exists() and not any(policy_in_scope(user=user, policy=p) for p in policies):
        scope_denied(user=user, obj=payment, what=f"payment {payment.pk}")


def payment_get(*, user, pk: int) -> Payment:
    payment = Payment.objects.select_related("statement_import").filter(pk=pk, direction=Payment.Direction.CREDIT).first()
    if payment is None:
        raise Http404("payment not found")
    payment_scope_check(user=user, payment=payment)
    return payment


def statement_import_scope_check(*, user, record: StatementImport) -> None:
    """A statement is a file of the whole company's money: its imports are the head office's.
    A branch user reaches one by id as if it did not exist."""
    if user is not None and getattr(user, "is_authenticated", False) and not user_is_head_office(user=user):
        scope_denied(user=user, obj=record, what=f"statement import {record.pk}")


def statement_import_list(*, user) -> QuerySet[StatementImport]:
    imports = StatementImport.objects.select_related("actor").order_by("-created_at")
    return imports if user_is_head_office(user=user) else imports.none()


def payment_list(*, user, queryset: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    """Money lines a user may see: all for the head office; for a branch user, lines not assigned to
    any policy and lines assigned to a policy of their branches."""
    payments = queryset if queryset is not None else Payment.objects.all()
    if user_is_head_office(user=user):
        return payments
    active = [Assignment.Status.CONFIRMED, Assignment.Status.PROPOSED, Assignment.Status.PENDING_APPROVAL]
    scoped = Assignment.objects.filter(status__in=active, policy__in=policy_list(user=user)).values("payment_id")
    assigned = Assignment.objects.filter(status__in=active).values("payment_id")
    return payments.filter(Q(pk__in=scoped) | ~Q(pk__in=assigned))


def finance_day_summary(*, user, today) -> dict:
    """Finance's day: today's imports, what waits in suspense (lines and amount), matches waiting
    for this user's approval (made by someone else)."""
    waiting = payment_list(user=user).filter(status__in=[Payment.Status.SUSPENSE, Payment.Status.PROPOSED],
                                             direction=Payment.Direction.CREDIT)
    totals = waiting.aggregate(lines=Count("id"), amount=Sum("amount"))
    return {
        "today": today,
        "imports": statement_import_list(user=user).filter(created_at__date=today)[:10],
        "suspense_lines": totals["lines"] or 0,
        "suspense_amount": totals["amount"] or Decimal("0.00"),
        "approvals": Assignment.objects.filter(status=Assignment.Status.PENDING_APPROVAL,
                                               payment__in=payment_list(user=user)).exclude(matched_by=user).count(),
    }
