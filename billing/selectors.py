from decimal import Decimal

from django.db.models import QuerySet

from billing.models import Allocation, Assignment, Charge, Installment, Payment
from billing.services.allocations import policy_credit
from policies.models import Policy


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
